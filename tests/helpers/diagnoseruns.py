"""Configs built to show each of the course's diagnoses (``nnctl diagnose``): high bias, high
variance, and (on data files whose test set is shifted) a dev/test mismatch."""

# a linear model (no hidden layer) on the three-class spiral
TOO_SMALL = """\
dataset: {synthetic: spiral, m: 600, test_fraction: 0.2, seed: 1}
layer_dims: [auto, 3]
activations: [softmax]
learning_rate: 0.5
iterations: 300
validation_fraction: 0.2
"""

# a large network, few noisy examples, long training and no regularization
TOO_BIG = """\
dataset: {synthetic: moons, m: 80, test_fraction: 0.25, seed: 1, noise: 0.35}
layer_dims: [auto, 128, 128, 1]
activations: {hidden: relu, output: sigmoid}
init: he
optimizer: adam
learning_rate: 0.01
epochs: 1000
validation_fraction: 0.3
"""

SHIFTED = """\
dataset: {train: train.npz, val: val.npz, test: test.npz}
layer_dims: [auto, 8, 1]
activations: {hidden: relu, output: sigmoid}
init: he
learning_rate: 0.5
iterations: 500
"""
