"""Training state: everything needed to continue a run bit for bit, and its checkpoint file.

A checkpoint (``checkpoint.npz`` in the run directory, ``files.CHECKPOINT_FILE``) holds the parameters, the optimizer's
state, both random generators' states, the position (iteration, epoch, batch within the epoch,
and that epoch's shuffled order; for a training set streamed from disk, ``stream``: the epoch's
block order, window and position in it, see ``nnctl.stream``), the cost history, the validation history and the early
stopping state including the best parameters. It is one file written atomically, so a run
killed while writing keeps its previous checkpoint whole.

The random generators come from ``nnctl.seeds`` (one seeded stream per purpose).
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nnctl.config import Config
from nnctl.errors import RunError
from nnctl.model import Params, initialize_parameters
from nnctl.optimizers import OPTIMIZERS
from nnctl.early_stopping import EarlyStopping
from nnctl.runs.files import CHECKPOINT_FILE, atomic_write

from nnctl.seeds import STREAM_DROPOUT, STREAM_SHUFFLE, rng_for

FORMAT = 1


@dataclass
class TrainState:
    params: Params
    optimizer: Any
    shuffle_rng: np.random.Generator
    dropout_rng: np.random.Generator
    iteration: int = 0  # gradient steps done
    epoch: int = 0  # complete passes done
    batch: int = 0  # batches done in the current epoch
    perm: np.ndarray | None = None  # the current epoch's example order (mini-batches only)
    costs: list[float] = field(default_factory=list)  # costs[i]: cost of step i before its update
    val_rows: list[tuple[int, float, float]] = field(default_factory=list)  # (step, loss, accuracy or nan)
    stopper: EarlyStopping | None = None
    # a streamed training set's position (nnctl.stream): epoch, example, window, in_window, block_order
    stream: dict[str, Any] | None = None

    @classmethod
    def start(cls, cfg: Config) -> "TrainState":
        params = initialize_parameters(cfg.layer_dims, cfg.init, cfg.seed, cfg.float_type)
        stopper = None
        if cfg.early_stopping is not None:
            stopper = EarlyStopping(cfg.early_stopping["patience"], cfg.early_stopping["min_delta"])
        return cls(
            params=params,
            optimizer=OPTIMIZERS[cfg.optimizer](params, cfg),
            shuffle_rng=rng_for(cfg.seed, STREAM_SHUFFLE),
            dropout_rng=rng_for(cfg.seed, STREAM_DROPOUT),
            stopper=stopper,
        )

    # ----------------------------------------------------------------- checkpoint file

    def to_bytes(self) -> bytes:
        arrays: dict[str, np.ndarray] = {}
        for k, v in self.params.to_dict().items():
            arrays[f"param_{k}"] = v
        for k, v in self.optimizer.state().items():
            arrays[f"opt_{k}"] = v
        arrays["costs"] = np.array(self.costs, dtype=np.float64)
        arrays["val_rows"] = np.array(self.val_rows, dtype=np.float64).reshape(-1, 3)
        if self.perm is not None:
            arrays["perm"] = self.perm
        meta: dict[str, Any] = {
            "format": FORMAT,
            "iteration": self.iteration,
            "epoch": self.epoch,
            "batch": self.batch,
            "shuffle_rng": self.shuffle_rng.bit_generator.state,
            "dropout_rng": self.dropout_rng.bit_generator.state,
            "stopper": None,
            "stream": self.stream,
        }
        if self.stopper is not None:
            st = self.stopper
            meta["stopper"] = {"best_loss": None if math.isinf(st.best_loss) else st.best_loss,
                               "best_epoch": st.best_epoch, "wait": st.wait}
            if st.best_params is not None:
                for k, v in st.best_params.to_dict().items():
                    arrays[f"best_{k}"] = v
        arrays["meta"] = np.array(json.dumps(meta))
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        return buf.getvalue()

    def save(self, run_dir: Path) -> None:
        atomic_write(run_dir / CHECKPOINT_FILE, self.to_bytes())

    @classmethod
    def load(cls, run_dir: Path, cfg: Config) -> "TrainState":
        """The state saved in ``run_dir``'s checkpoint, for ``cfg`` (the run's own config).
        Raises RunError when there is none or it does not fit the config."""
        path = run_dir / CHECKPOINT_FILE
        if not path.is_file():
            raise RunError(
                f"{run_dir}: no {CHECKPOINT_FILE} to resume from; runs can be resumed when their "
                "config sets checkpoint_every"
            )
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
            meta = json.loads(str(arrays["meta"]))
            s = cls.start(cfg)
            fresh = s.params.to_dict()
            loaded = {k[len("param_"):]: arrays[k] for k in arrays if k.startswith("param_")}
            if set(loaded) != set(fresh) or any(loaded[k].shape != fresh[k].shape for k in fresh):
                raise RunError(f"{path}: its parameters do not match the run's layer_dims {cfg.layer_dims}")
            s.params = Params.from_dict({k: np.array(v, dtype=fresh[k].dtype) for k, v in loaded.items()})
            s.optimizer = OPTIMIZERS[cfg.optimizer](s.params, cfg)
            s.optimizer.load_state({k[len("opt_"):]: arrays[k] for k in arrays if k.startswith("opt_")})
            s.shuffle_rng.bit_generator.state = meta["shuffle_rng"]
            s.dropout_rng.bit_generator.state = meta["dropout_rng"]
            s.iteration, s.epoch, s.batch = meta["iteration"], meta["epoch"], meta["batch"]
            s.perm = arrays.get("perm")
            s.stream = meta.get("stream")
            s.costs = arrays["costs"].tolist()
            s.val_rows = [(int(r[0]), float(r[1]), float(r[2])) for r in arrays["val_rows"]]
            if s.stopper is not None and meta["stopper"] is not None:
                st = meta["stopper"]
                s.stopper.best_loss = math.inf if st["best_loss"] is None else st["best_loss"]
                s.stopper.best_epoch, s.stopper.wait = st["best_epoch"], st["wait"]
                best = {k[len("best_"):]: arrays[k] for k in arrays if k.startswith("best_")}
                s.stopper.best_params = Params.from_dict(best) if best else None
        except RunError:
            raise
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RunError(f"{path}: damaged or unreadable checkpoint: {exc}") from None
        return s
