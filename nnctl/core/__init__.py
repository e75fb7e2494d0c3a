"""The mathematics of an L-layer network, as the course writes it: activations, losses and
output heads, the network's forward and backward passes with its initializers (``network``),
optimizers and their compiled updates, metrics, and the model summary. Knows nothing of files,
configs or runs."""
