"""Training an estimator's config on arrays with the library's own functions: ``start``
binds the config to the in-memory data (``nnctl.training.bind``: validation hold-out with the
config's seed, normalization from training statistics) and trains with
``nnctl.commands.train.fit``, exactly what ``nnctl train`` does with the same arrays in a
``data.npz``; ``go_on`` continues a ``TrainState`` (warm start, ``partial_fit``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from nnctl.commands.train import fit
from nnctl.config import Config
from nnctl.data import Dataset, apply_steps
from nnctl.system import ConfigError, DataError
from nnctl.system import threads as blas
from nnctl.training import TrainResult, TrainState, batch_count, batch_size, bind


@dataclass
class Trained:
    """What a fit leaves: the bound config (``layer_dims[0]`` and ``normalize`` resolved), the
    normalization steps (statistics of the first fit's training split), the result (its params
    are the ones that predict: the best epoch's under early stopping) and the state to go on
    from."""

    cfg: Config
    steps: list[dict]
    result: TrainResult
    state: TrainState | None  # None: a loaded run whose state is more than its parameters
    n_train: int  # examples trained on (the validation split held out)
    divide_by: float = 1.0  # raw values are divided by this first (a run of 8-bit images: 255)

    def __getstate__(self) -> dict:
        # the config's cached ``arch`` holds the loss table's functions, which do not pickle;
        # a copy of the config builds its own when first used
        return {**self.__dict__, "cfg": dataclasses.replace(self.cfg)}


def _bound(cfg: Config, ds: Dataset) -> tuple[Config, Dataset]:
    try:
        bound = bind(cfg, loaded=ds)
    except (ConfigError, DataError) as exc:
        raise ValueError(str(exc)) from exc
    return bound.cfg, bound.dataset


def _state_of(cfg: Config, result: TrainResult, m: int) -> TrainState | None:
    """The state to go on from. The full-batch fast path keeps none but its parameters, which
    are all a plain full-batch run needs (``TrainState.needs_checkpoint``); a Ctrl-C inside a
    step of any other run leaves none to go on from exactly (None)."""
    if result.state is not None:
        return result.state
    state = TrainState.from_params(cfg, result.params, result.costs, result.val_rows)
    return None if state.needs_checkpoint(cfg, batch_count(cfg, m)) else state


def _train(cfg: Config, ds: Dataset, state: TrainState | None = None) -> TrainResult:
    """``nnctl.commands.train.fit`` with the BLAS threads ``nnctl train`` would choose for the
    run (``nnctl.system.threads``: one for small products, which many threads only slow)."""
    m = int(ds.X_train.shape[1])
    choice = blas.for_run(cfg.layer_dims, batch_size(cfg, m), None)
    with blas.blas_threads(choice.blas):
        return fit(
            cfg,
            ds.X_train,
            ds.Y_train,
            X_val=ds.X_val,
            Y_val=ds.Y_val,
            state=state,
            weights=ds.W_train,
            weights_val=ds.W_val,
        )


def start(cfg: Config, ds: Dataset) -> Trained:
    """A first fit: ``cfg`` (unbound) on ``ds``, X_train: (n_x, m), as ``nnctl train`` does."""
    cfg, ds = _bound(cfg, ds)
    result = _train(cfg, ds)
    m = int(ds.X_train.shape[1])
    return Trained(cfg, list(ds.steps), result, _state_of(cfg, result, m), m)


def go_on(
    before: Trained, cfg: Config, ds: Dataset, *, epochs: int | None, iterations: int | None
) -> Trained:
    """Continues ``before``'s state on ``ds`` for ``epochs`` more passes (or ``iterations`` more
    steps) with the settings of ``cfg`` (unbound), whose network and optimizer must be
    ``before``'s. The data is normalized with ``before``'s statistics (the parameters were
    trained on that scale), then held out and trained as a first fit is."""
    old = before.cfg
    changed = [
        key
        for key in ("activations", "loss", "optimizer", "dtype")
        if getattr(cfg, key) != getattr(old, key)
    ]
    if cfg.layer_dims[1:] != old.layer_dims[1:]:
        changed.insert(0, "layer_dims")
    if changed:
        raise ValueError(
            f"{cfg.source}: warm start continues the fitted network, but "
            f"{', '.join(changed)} changed; fit with warm_start=False to start again"
        )
    ds = dataclasses.replace(
        ds, X_train=apply_steps(ds.X_train, before.steps)
    )  # already on the fitted scale: bound without normalizing again
    bound_cfg, ds = _bound(dataclasses.replace(cfg, normalize="none"), ds)
    bound_cfg = dataclasses.replace(bound_cfg, normalize=old.normalize)
    state = before.state
    if state is None:
        raise ValueError(
            f"{cfg.source}: there is no state to go on from exactly (a run loaded without a "
            "checkpoint of its optimizer and random state, or a fit interrupted inside a step); "
            "fit with warm_start=False to start again"
        )
    m = int(ds.X_train.shape[1])
    if state.batch != 0 and state.perm is not None and state.perm.size != m:
        raise ValueError(
            f"{cfg.source}: the last fit stopped inside an epoch of {state.perm.size} examples; "
            f"it cannot go on with {m}"
        )
    more = iterations if iterations is not None else epochs * batch_count(bound_cfg, m)
    # the length as a step count: earlier fits' epochs may have had other sizes
    run_cfg = dataclasses.replace(bound_cfg, iterations=state.iteration + more, epochs=None)
    result = _train(run_cfg, ds, state)
    return Trained(bound_cfg, before.steps, result, _state_of(bound_cfg, result, m), m)
