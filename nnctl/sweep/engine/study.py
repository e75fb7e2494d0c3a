"""The Optuna study: the sweep's space as Optuna's distributions, values to and from Optuna's,
the study rebuilt from the trials already told (``study.json``), and that file's contents."""

from __future__ import annotations

import json
from typing import Any

from nnctl.sweep.spec import Param, SweepSpec
from nnctl.sweep.trial import value_of


def distributions(optuna: Any, space: tuple[Param, ...]) -> dict[str, Any]:
    """Optuna's distribution of each swept key (a non-scalar choice: over its indices)."""
    d = optuna.distributions
    out = {}
    for p in space:
        if p.kind == "choice":
            out[p.key] = d.CategoricalDistribution(
                list(p.args) if p.scalar_choices else list(range(len(p.args)))
            )
        elif p.kind == "int_uniform":
            out[p.key] = d.IntDistribution(*p.args)
        else:
            out[p.key] = d.FloatDistribution(*p.args, log=p.kind == "log_uniform")
    return out


def decode(space: tuple[Param, ...], params: dict[str, Any]) -> dict[str, Any]:
    """Optuna's values -> config values (a non-scalar choice is stored as its index)."""
    out = {}
    for p in space:
        v = value_of(params[p.key])
        out[p.key] = p.args[v] if p.kind == "choice" and not p.scalar_choices else v
    return out


def encode(space: tuple[Param, ...], values: dict[str, Any]) -> dict[str, Any]:
    """Config values -> Optuna's (``decode``'s inverse)."""
    return {
        p.key: (values[p.key] if p.scalar_choices else p.args.index(values[p.key]))
        if p.kind == "choice"
        else values[p.key]
        for p in space
    }


def new_study(
    optuna: Any, spec: SweepSpec, dists: dict[str, Any], told: list[dict[str, Any]]
) -> Any:
    """The Optuna study, in memory, with the trials already told (``study.json``) added back:
    the sampler sees the same history after a resume. (Optuna's journal file storage would
    fsync several times per trial on the client's critical path; the study is instead written
    by the background writer after each trial.)"""
    from optuna.trial import TrialState, create_trial

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # A resumed study's sampler starts a new random stream (seed + trials told): with the
    # sweep's own seed it would draw its first trials' values again.
    seed = spec.seed + len(told)
    if spec.sampler == "tpe":
        sampler = optuna.samplers.TPESampler(seed=seed)
    else:  # grid trials are enqueued with their values; the sampler then draws nothing
        sampler = optuna.samplers.RandomSampler(seed=seed)
    study = optuna.create_study(sampler=sampler, direction=spec.direction)
    for t in told:
        state = TrialState[t["state"]]
        study.add_trial(
            create_trial(
                params=t["params"],
                distributions=dists,
                state=state,
                value=t["value"] if state == TrialState.COMPLETE else None,
            )
        )
    return study


def enqueue_grid(study: Any, spec: SweepSpec, told: list[dict[str, Any]]) -> None:
    """Enqueues every combination of a grid sweep not yet told, in the grid's order."""
    done = {json.dumps(t["params"], sort_keys=True) for t in told}
    for values in spec.grid():
        encoded = encode(spec.space, values)
        if json.dumps(encoded, sort_keys=True) not in done:
            study.enqueue_trial(encoded)


def study_json(spec: SweepSpec, told: list[dict[str, Any]]) -> dict[str, Any]:
    """``study.json``: what rebuilds the study (``told``: the trials told, in order)."""
    return {
        "sampler": spec.sampler,
        "seed": spec.seed,
        "direction": spec.direction,
        "metric": spec.metric,
        "space": {p.key: {p.kind: list(p.args)} for p in spec.space},
        "trials": told,
    }
