"""Training: a config bound to its data (``binding``), the training state, the loops (direct
and the factored full-batch path), batches, early stopping and scoring."""
