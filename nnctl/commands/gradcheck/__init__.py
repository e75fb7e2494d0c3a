"""Gradient checking: the backward pass against central differences of the cost, in float64.

``numeric``: one network's check (every parameter array, coordinates and a direction, steps
that cross a ReLU kink not compared) and its settings; ``report``: the records it produces and
the relative errors; ``keywords``: the keyword arguments of ``cost_and_gradients`` the check
exercises; ``kinks``: choosing examples clear of the kinks (or jittering the biases) for a
config or a run; ``suite``: the built-in suite, built from the tables; ``target``: a config or a
run on its first training examples.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submodules=["keywords", "kinks", "numeric", "report", "suite", "target"],
    submod_attrs={
        "keywords": ["KEYWORDS", "Keyword", "cost_keywords", "l2_penalty"],
        "kinks": [
            "KINK_JITTER",
            "KINK_MARGIN",
            "Point",
            "SCAN_CHUNK",
            "choose_examples",
            "clear_examples",
            "jitter_biases",
        ],
        "numeric": [
            "Case",
            "DEFAULT_EPS",
            "DEFAULT_EXAMPLES",
            "DEFAULT_MAX_COORDS",
            "DEFAULT_SEED",
            "DEFAULT_TOL",
            "check_case",
            "check_settings",
        ],
        "report": [
            "ArrayCheck",
            "ROUNDING_ULPS",
            "Report",
            "noise_floor",
            "overall_error",
            "relative_error",
        ],
        "suite": [
            "SUITE_DEPTHS",
            "SUITE_HIDDEN_UNITS",
            "SUITE_M",
            "SUITE_N_X",
            "SUITE_SCALES",
            "check_suite",
        ],
        "target": ["STREAMED_SCAN", "check_target"],
    },
)
