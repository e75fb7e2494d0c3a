"""``evaluate``: a trained run scored on a labelled dataset (its own test, train or validation
split, or any HDF5 file ``train`` accepts), and its misclassified images written out for
inspection.

Classifiers (sigmoid or softmax head) get accuracy, precision / recall / F1 (overall and per
class), log loss and the confusion matrix; regression runs get MSE, MAE and R² (overall and per
output). Scores come from ``scoring.score``, the function ``train`` records the run's summary
with, on data bound the same way (``binding.bind``: the same load and seeded validation
hold-out), so they equal the run's summary to the last digit.

- ``data``: the examples to score (``load_eval_data`` -> ``EvalData``), from the run's own
  split or another file read as the run's data was.
- ``scores``: ``evaluate_run`` -> ``Evaluation`` or ``RegressionEvaluation``.
- ``images``: the raw images of evaluated examples, and ``--errors`` (``write_errors``).
- ``threshold``: ``--tune-threshold`` (``tune_threshold``), a binary classifier's threshold
  chosen on its validation split for a goal (``parse_goal``).
"""

import lazy_loader as lazy

# Public names, imported from their module on first use.
__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submod_attrs={
        "data": ["READER_KEYS", "EvalData", "eval_spec", "load_eval_data", "own_dataset"],
        "images": ["check_errors_dir", "raw_examples", "raw_images", "write_errors"],
        "scores": ["Evaluation", "RegressionEvaluation", "evaluate_run"],
        "threshold": ["Goal", "parse_goal", "tune_threshold"],
    },
)
