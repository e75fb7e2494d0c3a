"""Finding a run and loading it for use: ``find_run``, ``load_run`` -> ``LoadedRun``.

``LoadedRun`` is what predict, evaluate and gradcheck work from: the run's config (its relative
data paths resolved as when it trained), its typed summary, how its inputs were prepared, its
task and its checked parameters.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nnctl.runs.files import (
    CONFIG_FILE,
    PARAMS_FILE,
    SUMMARY_FILE,
    default_runs_dir,
    is_run_dir,
    iter_run_dirs,
)
from nnctl.runs.summary import RunSummary, flatten, read_summary
from nnctl.system import RunError, quote_list

if TYPE_CHECKING:  # numpy loads inside the readers: listing runs never needs it
    import numpy as np


def pick_by_name(dirs: list[Path], spec: str) -> tuple[Path | None, list[Path]]:
    """``spec`` among ``dirs`` (oldest first) as a user names a run or a sweep: ``latest`` (the
    last), an exact name, or a unique prefix of one (like git). Returns (the directory, []) when
    it names one, else (None, the directories its prefix matches: none, or several), so each
    caller words its own error."""
    if spec == "latest":
        return (dirs[-1], []) if dirs else (None, [])
    exact = [d for d in dirs if d.name == spec]
    if exact:
        return exact[0], []
    matches = [d for d in dirs if d.name.startswith(spec)]
    return (matches[0], []) if len(matches) == 1 else (None, matches)


def find_run(spec: str, runs_dir: Path | None = None) -> Path:
    """Resolves RUN as a user types it: a path to a run directory, ``latest``, a full run id or
    a unique prefix of one (like git). Raises RunError listing candidates or places searched.

    A spec containing a path separator or ``..`` is taken as a path, never looked up under the
    runs directory, so ``../x`` cannot escape it by accident.
    """
    runs_dir = runs_dir if runs_dir is not None else default_runs_dir()
    looks_like_path = os.sep in spec or "/" in spec or ".." in spec
    if looks_like_path or is_run_dir(Path(spec)):
        p = Path(spec)
        try:
            is_dir = p.is_dir()
        except OSError as exc:  # a name too long to look up, ...
            raise RunError(f"{spec}: no such run directory ({exc.strerror})") from None
        if not is_dir:
            raise RunError(f"{spec}: no such run directory")
        if not is_run_dir(p):
            raise RunError(f"{spec}: not a run directory (no {SUMMARY_FILE})")
        return p
    candidates = iter_run_dirs(runs_dir)
    found, matches = pick_by_name(candidates, spec)
    if found is not None:
        return found
    if spec == "latest":
        raise RunError(f"no runs in {runs_dir}")
    if not matches:
        raise RunError(f"{spec}: no run with this id or prefix in {runs_dir}")
    shown = ", ".join(p.name for p in matches[:10]) + (" ..." if len(matches) > 10 else "")
    raise RunError(f"{spec}: ambiguous run prefix, {len(matches)} runs match: {shown}")


@dataclass(frozen=True)
class Preprocessing:
    """How a run's inputs were prepared (the summary's ``preprocessing``)."""

    kind: str  # "image" or "features"
    input_shape: tuple[int, ...]  # one example: (height, width, channels) or (n_features,)
    divide_by: float
    color_mode: str | None
    classes: list[str]
    normalize: str = "none"  # standard | minmax | none (runs before it: none)
    # applied after divide_by to X: (n_x, m), see nnctl.data.normalize; statistics of the
    # training split
    steps: tuple[dict[str, Any], ...] = ()


def parse_preprocessing(summary: RunSummary, n_x: int, where: Path) -> Preprocessing:
    """Reads and checks the summary's ``preprocessing`` against the config's input size n_x."""
    pre = summary.preprocessing
    try:
        out = Preprocessing(
            kind=pre["kind"],
            input_shape=tuple(int(s) for s in pre["input_shape"]),
            divide_by=float(pre["divide_by"]),
            color_mode=pre.get("color_mode"),
            classes=[str(c) for c in pre["classes"]],
            normalize=str(pre.get("normalize") or "none"),
            steps=tuple(_step(s, n_x) for s in pre.get("steps") or []),
        )
    except (TypeError, KeyError, ValueError):
        raise RunError(f"{where}: 'preprocessing' is missing or damaged") from None
    if out.kind not in ("image", "features"):
        raise RunError(f"{where}: preprocessing.kind is {out.kind!r}, expected image or features")
    if math.prod(out.input_shape) != n_x:
        raise RunError(
            f"{where}: preprocessing.input_shape {list(out.input_shape)} does not match "
            f"{CONFIG_FILE}'s input size {n_x}"
        )
    if summary.task == "classification" and not out.classes:
        raise RunError(
            f"{where}: preprocessing.classes is empty; a classifier needs its class names"
        )
    if out.kind == "image" and out.color_mode is None:
        raise RunError(f"{where}: preprocessing.color_mode is missing for an image run")
    return out


def _step(step: Any, n_x: int) -> dict[str, Any]:
    """One normalization step, checked: subtract ``value`` or divide ``by``, n_x finite numbers."""
    op = step["op"]
    key = {"subtract": "value", "divide": "by"}[op]
    values = [float(v) for v in step[key]]
    if (
        len(values) != n_x
        or not all(math.isfinite(v) for v in values)
        or (op == "divide" and 0.0 in values)
    ):
        raise ValueError(op)
    return {"op": op, key: values}


@dataclass
class LoadedRun:
    """A checked, complete run: its resolved config, summary and parameters."""

    run_dir: Path
    config: Any  # nnctl.config.settings.Config
    summary: RunSummary
    params: Any  # nnctl.core.network.Params: W_l (n_l, n_{l-1}), b_l (n_l, 1)

    @property
    def run_id(self) -> str:
        return str(self.summary.run_id or self.run_dir.name)

    @property
    def task(self) -> str:
        """'classification' or 'regression'."""
        return self.summary.task

    @cached_property
    def preprocessing(self) -> Preprocessing:
        """Checked on first use, so a run with a damaged ``preprocessing`` can still be loaded
        by a command that does not need it. Raises RunError."""
        return parse_preprocessing(
            self.summary, self.config.layer_dims[0], self.run_dir / SUMMARY_FILE
        )


def expected_shapes(
    layer_dims: list[int], batch_norm: list[bool] | None = None
) -> dict[str, tuple[int, int]]:
    """W_l: (n_l, n_{l-1}) and b_l: (n_l, 1) for l = 1..L; a batch-normalized layer's gamma_l,
    beta_l, running_mean_l and running_var_l: (n_l, 1) in b_l's place (``batch_norm``: one
    flag per hidden layer, ``batch_norm.layers`` of the run's config)."""
    from nnctl.core import parameter_shapes

    return parameter_shapes(layer_dims, batch_norm)


def norm_layers(cfg: Any) -> list[bool] | None:
    """The batch-normalized hidden layers of a config (None: none)."""
    return None if cfg.batch_norm is None else list(cfg.batch_norm["layers"])


# Without layer_dims to compare with, no parameter array of a run is expected to be bigger.
MAX_PARAM_BYTES = 1 << 30


def read_params(
    path: Path, layer_dims: list[int] | None = None, batch_norm: list[bool] | None = None
) -> dict[str, np.ndarray]:
    """Every array of a params.npz, read up front with ``allow_pickle=False``: an object array is
    refused naming its key (never unpickled), a damaged archive is one RunError. Each member's
    shape is read from its header first, and checked against ``layer_dims`` (or a size cap)
    before it is inflated: a small file cannot stand for gigabytes. Only a regular file is
    opened (a FIFO in its place would block forever)."""
    import zipfile

    import numpy as np

    from nnctl.system import DeclaredTooLarge, NotRegularFile, check_declared, npz_headers

    want = expected_shapes(layer_dims, batch_norm) if layer_dims is not None else {}
    try:
        headers = npz_headers(path)
    except FileNotFoundError:
        raise RunError(f"{path}: missing (the run saved no parameters)") from None
    except NotRegularFile as exc:
        raise RunError(f"{path}: {exc.strerror}") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise RunError(f"{path}: damaged or not an .npz file: {str(exc)[:200]}") from None
    for key, (shape, dtype) in headers.items():
        if np.dtype(dtype).hasobject:
            raise RunError(
                f"{path}: {key} is an object array; refusing to unpickle it "
                "(parameters must be plain numeric arrays)"
            )
        if key in want and shape != want[key]:
            raise RunError(
                f"{path}: {key} has shape {shape}, but {CONFIG_FILE}'s layer_dims say {want[key]}"
            )
        try:
            check_declared(
                shape,
                dtype,
                MAX_PARAM_BYTES if key not in want else 8 * math.prod(want[key]) + 64,
                f"{path}: {key}",
            )
        except DeclaredTooLarge as exc:
            raise RunError(str(exc)) from None
    try:
        npz = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise RunError(f"{path}: damaged or not an .npz file: {exc}") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise RunError(
            f"{path}: expected an .npz archive of W1, b1, ... arrays, found a single array"
        )
    arrays: dict[str, np.ndarray] = {}
    with npz:
        for key in npz.files:
            try:
                arrays[key] = npz[key]
            except ValueError as exc:
                if "allow_pickle" in str(exc):
                    raise RunError(
                        f"{path}: {key} is an object array; refusing to unpickle it "
                        "(parameters must be plain numeric arrays)"
                    ) from None
                raise RunError(f"{path}: {key}: damaged array: {exc}") from None
            except (OSError, EOFError, zipfile.BadZipFile) as exc:
                raise RunError(f"{path}: {key}: damaged array: {exc}") from None
    return arrays


def check_params(
    arrays: dict[str, np.ndarray],
    layer_dims: list[int],
    where: Path,
    batch_norm: list[bool] | None = None,
) -> Any:
    """Checks W1, b1, ..., WL, bL against ``layer_dims`` (W_l: (n_l, n_{l-1}), b_l: (n_l, 1);
    gamma_l, beta_l, running_mean_l, running_var_l in b_l's place for a layer ``batch_norm``
    flags): all present, no others, floating point and finite. Returns ``model.Params``."""
    import numpy as np

    from nnctl.core import Params

    L = len(layer_dims) - 1
    expected = expected_shapes(layer_dims, batch_norm)
    missing = [k for k in expected if k not in arrays]
    if missing:
        raise RunError(
            f"{where}: missing {quote_list(missing)} ({CONFIG_FILE} describes {L} layers)"
        )
    extra = sorted(k for k in arrays if k not in expected)
    if extra:
        raise RunError(
            f"{where}: unexpected arrays {quote_list(extra)} ({CONFIG_FILE} describes {L} layers)"
        )
    for key, shape in expected.items():
        a = arrays[key]
        if a.dtype.kind != "f":
            raise RunError(f"{where}: {key} has dtype {a.dtype}, expected floating point")
        if a.shape != shape:
            raise RunError(
                f"{where}: {key} has shape {a.shape}, but {CONFIG_FILE}'s layer_dims say {shape}"
            )
        if not np.all(np.isfinite(a)):
            raise RunError(f"{where}: {key} contains NaN or infinite values")
    return Params.from_dict(arrays)


def load_params(
    run_dir: Path, layer_dims: list[int], dtype: Any = None, batch_norm: list[bool] | None = None
) -> Any:
    """A run's trained parameters, checked against ``layer_dims`` as ``check_params`` does, for
    a caller that works with the config alone (gradcheck): a run without them is refused naming
    its status. ``dtype`` (e.g. np.float64) converts them. Returns ``model.Params``."""
    from nnctl.core import Params

    path = run_dir / PARAMS_FILE
    if not path.is_file():
        status = read_summary(run_dir).status or "unknown"
        raise RunError(
            f"{run_dir}: has no {PARAMS_FILE} (status: {status}); only complete runs have "
            "trained parameters"
        )
    params = check_params(read_params(path, layer_dims, batch_norm), layer_dims, path, batch_norm)
    if dtype is None:
        return params
    return Params.from_dict({k: v.astype(dtype) for k, v in params.to_dict().items()})


def load_run_config(run_dir: Path, summary: RunSummary | None = None) -> Any:
    """The run's config.yaml as a Config. Its relative dataset paths keep the meaning they had
    when the run trained: beside the original config file, whose path the summary records.
    Raises ConfigError for a damaged config.yaml."""
    import dataclasses

    from nnctl.config import load_config

    summary = read_summary(run_dir) if summary is None else summary
    cfg = load_config(run_dir / CONFIG_FILE)
    recorded = summary.config_path
    return dataclasses.replace(cfg, path=recorded) if isinstance(recorded, str) else cfg


def flat_config(run_dir: Path, summary: RunSummary) -> dict[str, Any]:
    """The run's resolved config flattened to dotted keys: as the summary recorded it, or for a
    summary from an earlier version, read from config.yaml ({} when that no longer loads)."""
    if summary.config is not None:
        return summary.config
    from nnctl.config import load_config
    from nnctl.system import ConfigError

    try:
        return flatten(load_config(run_dir / CONFIG_FILE).to_dict())
    except ConfigError:
        return {}


def load_run(run_dir: Path) -> LoadedRun:
    """Loads a run directory for use (predict, evaluate, ...), checking it first: the summary
    says ``complete``; config.yaml is valid; params.npz holds exactly W1, b1, ..., WL, bL,
    finite and shaped as config.yaml's ``layer_dims`` say. Raises RunError (or ConfigError for
    a damaged config.yaml), one line each."""
    from nnctl.runs.lock import is_stale
    from nnctl.system import ConfigError

    summary = read_summary(run_dir)
    status = summary.status
    if status != "complete":
        why = f": {summary.message}" if summary.message else ""
        hint = (
            " (still training, or killed without a chance to record it)"
            if status == "running"
            else ""
        )
        if is_stale(run_dir, summary):
            hint = (
                " according to its summary, but its training process is gone (stale; continue it "
                f"with nnctl train --resume {run_dir.name})"
            )
        raise RunError(f"{run_dir}: run is {status}{hint}{why}; only a complete run can be used")
    config_path = run_dir / CONFIG_FILE
    if not config_path.is_file():
        raise RunError(f"{config_path}: missing; the run directory is damaged")
    try:
        cfg = load_run_config(run_dir, summary)
    except ConfigError as exc:
        raise RunError(f"damaged run config: {exc}") from None
    dims = cfg.layer_dims
    if dims[0] == "auto":
        raise RunError(
            f"{config_path}: layer_dims[0] is 'auto'; a trained run records the input size"
        )
    bn = norm_layers(cfg)
    params = check_params(
        read_params(run_dir / PARAMS_FILE, dims, bn), dims, run_dir / PARAMS_FILE, bn
    )
    return LoadedRun(run_dir, cfg, summary, params)
