"""The recipe's next steps for one run, as ``--set`` overrides of its own config: each
``Step`` says what to try and the overrides that try it, computed from the run's layer sizes,
length and regularization so they can be pasted as they are."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

from nnctl.runs import RunSummary, flow

# The course's first values to try: dropout keeps 80% of the hidden units, L2 starts at 0.1
# (its assignment uses 0.7 for a 3-layer network) and grows tenfold from a value already set.
FIRST_KEEP_PROB = 0.8
FIRST_L2 = 0.1
FIRST_PATIENCE = 10


@dataclass(frozen=True)
class Step:
    """One next step: what to try (``text``) and the ``--set KEY=VALUE`` overrides that try it
    (none when it takes more than a config change, e.g. collecting data)."""

    text: str
    overrides: list[str] = field(default_factory=list)

    def command(self, config_file: str) -> str | None:
        """The shell command that trains ``config_file`` with these overrides (None: none)."""
        if not self.overrides:
            return None
        sets = " ".join(f"--set {shlex.quote(o)}" for o in self.overrides)
        return f"nnctl train {shlex.quote(config_file)} {sets}"

    def to_dict(self, config_file: str) -> dict[str, Any]:
        return {
            "text": self.text,
            "overrides": list(self.overrides),
            "command": self.command(config_file),
        }


def _set(key: str, value: Any) -> str:
    return f"{key}={flow(value)}"


def _num(x: float) -> float | int:
    """A number as short as it prints: 0.1 rather than 0.10000000000000002."""
    return float(f"{x:.6g}")


def _length(cfg: Any, factor: int) -> str:
    """The override that trains ``factor`` times as long, in the unit the config counts in."""
    return (
        _set("epochs", cfg.epochs * factor)
        if cfg.epochs
        else _set("iterations", cfg.iterations * factor)
    )


def bias_steps(cfg: Any, summary: RunSummary) -> list[Step]:
    """High avoidable bias: a bigger network, longer training, a better optimizer, less
    regularization. ``cfg``: the run's resolved Config."""
    dims, acts = list(cfg.layer_dims), list(cfg.activations)
    hidden = dims[1:-1]
    steps = []
    if hidden:
        steps.append(
            Step(
                "a wider network (twice the units in each hidden layer)",
                [_set("layer_dims", [dims[0], *(2 * n for n in hidden), dims[-1]])],
            )
        )
        steps.append(
            Step(
                "a deeper network (one more hidden layer)",
                [
                    _set("layer_dims", [*dims[:-1], hidden[-1], dims[-1]]),
                    _set("activations", [*acts[:-1], acts[-2], acts[-1]]),
                    # dropout is one keep probability per hidden layer: one more for the new one
                    *([_set("dropout", [*cfg.dropout, cfg.dropout[-1]])] if cfg.dropout else []),
                    # and batch_norm's layers one flag per hidden layer: the new one as the last
                    *(
                        [_set("batch_norm.layers", [*norm, norm[-1]])]
                        if (norm := (cfg.batch_norm or {}).get("layers"))
                        else []
                    ),
                ],
            )
        )
    else:
        steps.append(
            Step(
                "a hidden layer (the run is a linear model)",
                [
                    _set("layer_dims", [dims[0], 16, dims[-1]]),
                    _set("activations", ["relu", acts[-1]]),
                ],
            )
        )
    if summary.stopped_early and cfg.early_stopping:
        steps.append(
            Step(
                "more patience: training stopped early on the validation loss",
                [_set("early_stopping.patience", 2 * cfg.early_stopping["patience"])],
            )
        )
    else:
        steps.append(Step("train longer (twice as long)", [_length(cfg, 2)]))
    if cfg.optimizer == "gd":
        steps.append(
            Step(
                "a better optimizer: Adam (its usual learning rate is 0.001)",
                [_set("optimizer", "adam"), _set("learning_rate", 0.001)],
            )
        )
    if cfg.l2 > 0:
        steps.append(Step("less L2 regularization", [_set("l2", _num(cfg.l2 / 10))]))
    if cfg.dropout:
        steps.append(Step("no dropout", [_set("dropout", None)]))
    return steps


def variance_steps(cfg: Any, has_validation: bool) -> list[Step]:
    """High variance: more data, regularization (L2, dropout), early stopping."""
    dims = list(cfg.layer_dims)
    synthetic = cfg.dataset.get("synthetic")
    steps = [
        Step("more training data (twice the examples)", [_set("dataset.m", 2 * cfg.dataset["m"])])
        if synthetic
        else Step("more training data: add examples to the training set (no override can)")
    ]
    l2 = _num(cfg.l2 * 10) if cfg.l2 > 0 else FIRST_L2
    steps.append(Step("L2 regularization (try a few values, tenfold apart)", [_set("l2", l2)]))
    if len(dims) > 2:
        keep = FIRST_KEEP_PROB if not cfg.dropout else _num(max(0.5, min(cfg.dropout) - 0.1))
        steps.append(
            Step(f"dropout (keep {keep:g} of each hidden layer's units)", [_set("dropout", keep)])
        )
    if cfg.early_stopping is None:
        overrides = [] if has_validation else [_set("validation_fraction", 0.2)]
        steps.append(
            Step(
                "early stopping on the validation loss",
                [*overrides, _set("early_stopping", {"patience": FIRST_PATIENCE})],
            )
        )
    return steps


def mismatch_steps(cfg: Any) -> list[Step]:
    """Dev and test errors apart: the two sets differ, or the dev set was overfit."""
    steps = [
        Step(
            "look at the data: are the dev and test examples drawn from the same distribution? "
            "compare the errors on each (nnctl evaluate RUN --split val, then --split test)"
        )
    ]
    if cfg.validation_fraction > 0:
        bigger = _num(min(0.4, cfg.validation_fraction * 1.5))
        if bigger > cfg.validation_fraction:
            steps.append(
                Step(
                    "a bigger dev set, in case it was overfit by choosing against it",
                    [_set("validation_fraction", bigger)],
                )
            )
    return steps
