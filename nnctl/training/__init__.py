"""Training: a config bound to its data (``binding``), the training state, the loops (direct
and the factored full-batch path), batches, early stopping and scoring."""

import lazy_loader as lazy

# Public names, imported from their module on first use: importing the package costs
# nothing, so `nnctl --help` does not pay for the layers it does not touch.
__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submodules=["fullbatch", "loop"],
    submod_attrs={
        "batches": ["BatchGatherer"],
        "binding": ["Bound", "bind", "optimizer_slots"],
        "early_stopping": ["EarlyStopping"],
        "fullbatch": ["FactoredGD", "factored_flops", "fast_path_applies", "fit_fullbatch"],
        "loop": [
            "OnEpoch",
            "OnIteration",
            "TrainResult",
            "batch_count",
            "batch_size",
            "fit_direct",
            "learning_rate_at",
            "total_iterations",
        ],
        "scoring": ["SCORE_CHUNK", "Scores", "forward_chunked", "product_width", "score"],
        "state": ["TrainState"],
    },
)
