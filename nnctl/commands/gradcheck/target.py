"""A config (fresh parameters from its init and seed) or a trained run, checked on its first
training examples clear of the kinks (``kinks.choose_examples``), in float64.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from nnctl.commands.gradcheck.keywords import (
    KEYWORDS,
    cost_keywords,
    note_random_off,
    note_unknown_keywords,
)
from nnctl.commands.gradcheck.kinks import SCAN_CHUNK, choose_examples
from nnctl.commands.gradcheck.numeric import (
    DEFAULT_EPS,
    DEFAULT_EXAMPLES,
    DEFAULT_MAX_COORDS,
    DEFAULT_SEED,
    DEFAULT_TOL,
    Case,
    check_case,
    check_settings,
)
from nnctl.commands.gradcheck.report import Report
from nnctl.core import network as model

STREAMED_SCAN = 8 * SCAN_CHUNK  # of a streamed file, the examples read to scan


def _ranges(indices: list[int], limit: int = 8) -> str:
    """[0, 1, 2, 5, 7, 8] -> '0-2, 5, 7-8'; more than ``limit`` runs end with ', ...'."""
    runs: list[list[int]] = []
    for i in indices:
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    text = [f"{a}" if a == b else f"{a}-{b}" for a, b in runs[:limit]]
    return ", ".join(text) + (", ..." if len(runs) > limit else "")


def _config_kwargs(cfg: Any, report: Report) -> dict[str, Any]:
    """Keyword arguments for cost_and_gradients from config keys of the same name."""
    known = cost_keywords()
    kwargs, off = {}, []
    for name, kw in KEYWORDS.items():
        key = kw.config_key or name
        value = getattr(cfg, key, None)
        if name not in known or value is None:
            continue
        if kw.random:
            off.append(f"{key} ({value})")
        else:
            kwargs[name] = value
    note_random_off(report, off)
    note_unknown_keywords(report)
    return kwargs


def check_target(
    spec: str,
    examples: int = DEFAULT_EXAMPLES,
    eps: float = DEFAULT_EPS,
    tol: float = DEFAULT_TOL,
    max_coords: int = DEFAULT_MAX_COORDS,
    seed: int = DEFAULT_SEED,
    runs_dir: Path | None = None,
) -> Report:
    """A config file (fresh parameters from its init and seed) or a run (its trained
    parameters), on the first ``examples`` training examples of its dataset, in float64.

    A path to an existing file, or one ending in .yaml/.yml, is a config; anything else is
    resolved as a run (id, unique prefix, ``latest`` or a run directory).
    Raises ConfigError, DataError or RunError.
    """
    from nnctl.config import load_config
    from nnctl.runs import find_run, load_params, load_run_config, norm_layers
    from nnctl.training import bind

    check_settings(eps, tol, examples, max_coords)
    p = Path(spec)
    if p.is_file() or p.suffix in (".yaml", ".yml"):
        cfg, run_dir, what = load_config(p), None, f"config {spec}"
    else:
        run_dir = find_run(spec, runs_dir)
        cfg, what = load_run_config(run_dir), f"run {run_dir.name}"
    # Loaded directly in float64, so a float32 config's data is checked at full precision.
    dtype = cfg.dtype
    bound = bind(dataclasses.replace(cfg, dtype="float64"))
    cfg, ds = bound.cfg, bound.dataset
    if run_dir is None:
        params = model.initialize_parameters(
            cfg.layer_dims, cfg.init, cfg.seed, np.float64, cfg.arch.batch_norm
        )
    else:
        params = load_params(run_dir, cfg.layer_dims, np.float64, norm_layers(cfg))
    report = Report(what, eps, tol, seed)
    if dtype != "float64":
        report.notices.append(
            f"{dtype} config: parameters and data converted to float64 for the check"
        )
    arch = cfg.arch
    report.unchecked_advice = (
        f"try a smaller --eps (e.g. {eps / 10:g}): no training example keeps its hidden "
        "pre-activations further from the kinks than a step of this size can move them"
    )
    X_train = ds.X_train
    if hasattr(X_train, "head"):
        # a streamed file (nnctl.data.stream): only its first examples are read, which is all the
        # check scans for clear ones
        X_train = X_train.head(min(X_train.shape[1], STREAMED_SCAN))
        report.notices.append(
            f"streamed data: the first {X_train.shape[1]} of {ds.X_train.shape[1]} training "
            "examples read to choose the checked ones"
        )
    point = choose_examples(params, X_train, arch, eps, examples, seed)
    idx, params, report.bias_jitter = point.examples, point.params, point.bias_jitter
    report.examples, m, n_train = idx.tolist(), len(idx), X_train.shape[1]
    if not point.clear:
        report.notices.append(
            f"no training example is clear of the ReLU kinks at eps {eps:g}, even with jittered "
            f"biases: the first {m} are checked as they are"
        )
    elif report.bias_jitter is not None:
        report.notices.append(
            "no training example is clear of the ReLU kinks at these parameters: the hidden "
            f"biases were moved by at most {report.bias_jitter:.1e} (a jitter drawn from --seed "
            f"{seed}) and the gradient is checked at that nearby point"
        )
    # examples passed over: before the last one used, or all of them when too few were clear
    last = int(idx[-1]) if m == min(examples, n_train) else n_train - 1
    passed_over = sorted(set(range(last + 1)) - set(report.examples))
    if point.clear and passed_over:
        report.notices.append(
            f"training example{'s' if len(passed_over) != 1 else ''} {_ranges(passed_over)} "
            f"passed over (a hidden pre-activation within a step of eps {eps:g} of a ReLU kink); "
            f"checking example{'s' if m != 1 else ''} {_ranges(report.examples)}"
        )
    X = np.ascontiguousarray(X_train[:, idx])
    Y = arch.loss.targets(ds.Y_train[:, idx], cfg.layer_dims[-1], np.float64)
    name = f"{cfg.name}: {' -> '.join(cfg.activations)}/{cfg.loss}, {m} examples"
    kwargs = _config_kwargs(cfg, report)
    if ds.W_train is not None and "weights" in cost_keywords():
        # class_weight's per-example weights: the weighted mean is what training differentiates
        kwargs["weights"] = np.asarray(ds.W_train, dtype=np.float64)[idx]
        report.notices.append("the checked examples' class weights are in the cost")
    case = Case(
        name,
        (" -> ".join(cfg.activations[:-1]), f"{cfg.activations[-1]}/{cfg.loss}"),
        params,
        X,
        Y,
        arch,
        kwargs,
    )
    check_case(case, eps, tol, max_coords, np.random.default_rng(seed), report)
    return report
