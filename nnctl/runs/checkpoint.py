"""The checkpoint file: a training state (``nnctl.training.state``) saved and loaded.

A checkpoint (``checkpoint.npz`` in the run directory, ``files.CHECKPOINT_FILE``) holds the
parameters, the optimizer's state, both random generators' states, the position (iteration,
epoch, batch within the epoch, and that epoch's shuffled order; for a training set streamed from
disk, ``stream``: the epoch's block order, window and position in it, see
``nnctl.data.stream``), the cost history, the validation history and the early stopping state
including the best parameters. It is one file written atomically, so a run
killed while writing keeps its previous checkpoint whole.

The random generators come from ``nnctl.system.seeds`` (one seeded stream per purpose).
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from nnctl.config import Config
from nnctl.core import OPTIMIZERS, Params
from nnctl.runs.files import CHECKPOINT_FILE, atomic_write
from nnctl.system import RunError
from nnctl.training import TrainState

FORMAT = 1


def checkpoint_bytes(state: TrainState) -> bytes:
    buf = io.BytesIO()
    write_checkpoint(state, buf)
    return buf.getvalue()


def write_checkpoint(state: TrainState, f: Any) -> None:
    """The checkpoint of a training state as an .npz, written to the open binary file ``f``."""
    arrays: dict[str, np.ndarray] = {}
    for k, v in state.params.to_dict().items():
        arrays[f"param_{k}"] = v
    for k, v in state.optimizer.state().items():
        arrays[f"opt_{k}"] = v
    arrays["costs"] = np.array(state.costs, dtype=np.float64)
    arrays["val_rows"] = np.array(state.val_rows, dtype=np.float64).reshape(-1, 3)
    if state.perm is not None:
        arrays["perm"] = state.perm
    meta: dict[str, Any] = {
        "format": FORMAT,
        "iteration": state.iteration,
        "epoch": state.epoch,
        "batch": state.batch,
        "shuffle_rng": state.shuffle_rng.bit_generator.state,
        "dropout_rng": state.dropout_rng.bit_generator.state,
        "stopper": None,
        "stream": state.stream,
    }
    if state.stopper is not None:
        st = state.stopper
        meta["stopper"] = {
            "best_loss": None if math.isinf(st.best_loss) else st.best_loss,
            "best_epoch": st.best_epoch,
            "wait": st.wait,
        }
        if st.best_params is not None:
            for k, v in st.best_params.to_dict().items():
                arrays[f"best_{k}"] = v
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(f, **arrays)


def save_checkpoint(state: TrainState, run_dir: Path) -> None:
    atomic_write(
        run_dir / CHECKPOINT_FILE, lambda f: write_checkpoint(state, f)
    )  # streamed to the file


def load_checkpoint(run_dir: Path, cfg: Config, m: int | None = None) -> TrainState:
    """The state saved in ``run_dir``'s checkpoint, for ``cfg`` (the run's own config;
    ``m``: its number of training examples, when known). Every member's shape is read from
    its header and checked before its data is inflated, and every metadata value's type
    before it is used. Raises RunError when there is none or it does not fit the config."""
    import zipfile

    from nnctl.system import NotRegularFile, check_declared, npz_headers

    path = run_dir / CHECKPOINT_FILE
    if not path.exists():
        raise RunError(
            f"{run_dir}: no {CHECKPOINT_FILE} to resume from (the run was killed before its first "
            "checkpoint; set checkpoint_every to keep one while training)"
        )
    s = TrainState.start(cfg)
    fresh = s.params.to_dict()
    try:
        headers = npz_headers(path)
        # Nothing in a checkpoint is bigger than the largest parameter array or the history.
        steps = max(int(meta_iterations(cfg, m)), 1)
        limit = max(
            max(a.nbytes for a in fresh.values()), 8 * 3 * (steps + 1), 8 * (m or 0), 1 << 20
        )
        for name, (shape, dtype) in headers.items():
            if name.startswith(("param_", "best_")):
                key = name.split("_", 1)[1]
                if key not in fresh or tuple(shape) != fresh[key].shape:
                    raise RunError(
                        f"{path}: its parameters do not match the run's layer_dims {cfg.layer_dims}"
                    )
            check_declared(shape, dtype, limit, f"{path}: {name}")
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(str(arrays["meta"]))
        loaded = {k[len("param_") :]: arrays[k] for k in arrays if k.startswith("param_")}
        if set(loaded) != set(fresh) or any(loaded[k].shape != fresh[k].shape for k in fresh):
            raise RunError(
                f"{path}: its parameters do not match the run's layer_dims {cfg.layer_dims}"
            )
        _check_meta(meta, path)
        s.params = Params.from_dict(
            {k: np.array(v, dtype=fresh[k].dtype) for k, v in loaded.items()}
        )
        s.optimizer = OPTIMIZERS[cfg.optimizer](s.params, cfg)
        s.optimizer.load_state(
            {k[len("opt_") :]: arrays[k] for k in arrays if k.startswith("opt_")}
        )
        s.shuffle_rng.bit_generator.state = meta["shuffle_rng"]
        s.dropout_rng.bit_generator.state = meta["dropout_rng"]
        s.iteration, s.epoch, s.batch = meta["iteration"], meta["epoch"], meta["batch"]
        s.perm = arrays.get("perm")
        if s.perm is not None and (
            s.perm.ndim != 1
            or s.perm.dtype.kind not in "iu"
            or (
                m is not None
                and (len(s.perm) != m or not np.array_equal(np.sort(s.perm), np.arange(m)))
            )
        ):
            raise RunError(f"{path}: damaged: perm is not an order of the {m} training examples")
        costs, val_rows = arrays["costs"], arrays["val_rows"]
        if costs.ndim != 1 or costs.dtype.kind != "f" or len(costs) != s.iteration:
            raise RunError(f"{path}: damaged: costs do not hold one cost per step done")
        if val_rows.ndim != 2 or val_rows.shape[1] != 3 or val_rows.dtype.kind != "f":
            raise RunError(f"{path}: damaged: val_rows is not a (k, 3) array")
        s.costs = costs.tolist()
        s.val_rows = [(int(r[0]), float(r[1]), float(r[2])) for r in val_rows]
        s.stream = meta.get("stream")
        if s.stopper is not None and meta["stopper"] is not None:
            st = meta["stopper"]
            s.stopper.best_loss = math.inf if st["best_loss"] is None else st["best_loss"]
            s.stopper.best_epoch, s.stopper.wait = st["best_epoch"], st["wait"]
            best = {k[len("best_") :]: arrays[k] for k in arrays if k.startswith("best_")}
            s.stopper.best_params = Params.from_dict(best) if best else None
    except RunError:
        raise
    except NotRegularFile as exc:
        raise RunError(f"{path}: {exc.strerror}") from None
    except (
        OSError,
        ValueError,
        KeyError,
        TypeError,
        IndexError,
        EOFError,
        zipfile.BadZipFile,
    ) as exc:
        raise RunError(f"{path}: damaged or unreadable checkpoint: {str(exc)[:200]}") from None
    return s


def meta_iterations(cfg: Config, m: int | None) -> int:
    """An upper bound of the steps a run of ``cfg`` makes (for the size checks of its
    checkpoint)."""
    if cfg.iterations is not None:
        return cfg.iterations
    return cfg.epochs * (m or 1)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _check_meta(meta: Any, path: Path) -> None:
    """The checkpoint's metadata has the types training relies on; else one RunError."""

    def bad(what: str) -> RunError:
        return RunError(f"{path}: damaged: {what}")

    if not isinstance(meta, dict):
        raise bad("metadata is not an object")
    for key in ("iteration", "epoch", "batch"):
        if not _is_int(meta.get(key)):
            raise bad(f"{key} is {meta.get(key)!r:.40}, expected a whole number")
    for key in ("shuffle_rng", "dropout_rng"):
        if not isinstance(meta.get(key), dict):
            raise bad(f"{key} is not a generator state")
    st = meta.get("stopper")
    if st is not None:
        if not isinstance(st, dict):
            raise bad("stopper is not an object")
        if not (
            st.get("best_loss") is None
            or (isinstance(st["best_loss"], (int, float)) and not isinstance(st["best_loss"], bool))
        ):
            raise bad("stopper.best_loss is not a number")
        if not (st.get("best_epoch") is None or _is_int(st["best_epoch"])) or not _is_int(
            st.get("wait")
        ):
            raise bad("stopper.best_epoch or stopper.wait is not a whole number")
