"""The mathematics of an L-layer network, as the course writes it: activations, losses and
output heads, the network with its initializers and its forward and backward passes, each
written once (``network``), optimizers and their compiled updates, learning-rate schedules,
metrics, and the model summary. Knows nothing of files, configs or runs."""

import lazy_loader as lazy

# Public names, imported from their module on first use: importing the package costs
# nothing, so `nnctl --help` does not pay for the layers it does not touch.
__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submodules=["activations", "fused", "losses", "network"],
    submod_attrs={
        "activations": [
            "ACTIVATIONS",
            "Activation",
            "LEAKY_SLOPE",
            "hidden_activation_names",
            "softmax",
            "softmax_backward",
        ],
        "batchnorm": ["BatchNorm", "NormCache", "update_running"],
        "heads": ["DEFAULT_THRESHOLD", "Head", "check_threshold", "interpret"],
        "losses": [
            "CheckTargets",
            "LOSSES",
            "Loss",
            "OUTPUT_LOSS",
            "binary_cross_entropy",
            "categorical_cross_entropy",
            "example_weights",
            "head_for",
            "mean_squared_error",
            "one_hot",
            "one_unit_per_target",
        ],
        "metrics": [
            "accuracy",
            "argmax_labels",
            "confusion_matrix",
            "per_class_scores",
            "precision_recall_f1",
            "regression_from_sums",
            "regression_scores",
            "scores_from_confusion",
        ],
        "network": [
            "Architecture",
            "INITIALIZERS",
            "Params",
            "backward",
            "cost_and_gradients",
            "dropout_masks",
            "forward",
            "initialize_parameters",
            "parameter_shapes",
            "InputHook",
            "LayerHook",
            "backward_layers",
            "forward_layers",
            "linear_backward",
            "linear_forward",
            "predict_proba",
        ],
        "optimizers": [
            "Adam",
            "GradientDescent",
            "Hyperparameter",
            "Momentum",
            "OPTIMIZERS",
            "RMSprop",
        ],
        "schedules": ["LR_SCHEDULES", "Schedule", "Setting", "learning_rate"],
        "summary": ["summarize", "summary_lines"],
    },
)
