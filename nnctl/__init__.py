"""nnctl: train fully connected L-layer neural networks in plain numpy, driven by YAML configs."""

__version__ = "0.1.0"
