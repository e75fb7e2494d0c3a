"""``diagnose``: the course's recipe for a model that disappoints, read off a run's errors.

Training error is compared with a baseline (a human-level estimate, or a simple model's error),
dev error with training error, and test error with dev error: avoidable bias, variance and
dev/test mismatch, each with the recipe's verdict and next steps as ``--set`` overrides to
paste. Errors are 1 - accuracy for classifiers and the MSE for regression runs, as the run's
summary recorded them (``nnctl evaluate`` gives the same numbers).

- ``errors``: the run's errors per split (``split_errors``) and the baseline
  (``resolve_baseline``: ``--baseline``, else the ``diagnose.baseline`` config key, else 0).
- ``steps``: the recipe's next steps for the run's config (``bias_steps``, ``variance_steps``,
  ``mismatch_steps``), each a ``Step`` with its overrides.
- ``diagnosis``: the gaps and verdicts (``diagnose_run`` -> ``Diagnosis``).
- ``curve``: learning curves (``plan_curve`` checks and cuts the nested shares,
  ``learning_curve`` trains one linked run per share by a ``ShareTrainer``: here one after
  another, or on Dask by ``nnctl.sweep.shares``; ``read_curve`` reads the curve).
"""

import lazy_loader as lazy

# Public names, imported from their module on first use.
__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submod_attrs={
        "curve": [
            "LINK_KEY",
            "SIZES",
            "CurvePlan",
            "LearningCurve",
            "Point",
            "Reading",
            "Share",
            "ShareRun",
            "ShareTrainer",
            "keep_columns",
            "learning_curve",
            "linked_curve",
            "nested_subsets",
            "one_after_another",
            "parse_sizes",
            "plan_curve",
            "read_curve",
            "shares_of",
        ],
        "diagnosis": ["TOLERANCE", "Diagnosis", "Gap", "diagnose_run"],
        "errors": ["SplitErrors", "resolve_baseline", "split_errors"],
        "steps": ["Step", "bias_steps", "mismatch_steps", "variance_steps"],
    },
)
