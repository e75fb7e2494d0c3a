"""Bounded resources: files opened only when they are regular files, reads capped in size,
array headers checked before their data is read, and the memory a training needs estimated
before anything is allocated and compared with what the machine has.

Every check here is cheap next to the work it guards (a ``stat``, a few hundred header bytes,
a sum over the layer sizes), so the normal path does not slow down.
"""

from __future__ import annotations

import errno
import math
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

# A config is a few hundred bytes; a megabyte of YAML is a mistake or an attack, and parsing
# it would take seconds.
MAX_CONFIG_BYTES = 1 << 20
# summary.json and history.csv of a long run stay far below this.
MAX_RUN_TEXT_BYTES = 256 << 20


class NotRegularFile(OSError):
    """The path is a FIFO, device, socket or directory: reading it could block forever or
    never end. ``strerror`` says what it is."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def open_regular(path: str | os.PathLike, mode: str = "rb", encoding: str | None = None) -> IO[Any]:
    """Opens ``path`` for reading only if it is a regular file. The open itself is non-blocking
    (a FIFO without a writer would block ``open`` forever), and the check is made on the open
    descriptor, so a file swapped for a FIFO in between cannot slip through. Raises
    FileNotFoundError, PermissionError, ... or NotRegularFile (all OSError)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(
                errno.EINVAL, f"is {_kind(st.st_mode)}, expected a regular file", str(path)
            )
        os.set_blocking(fd, True)
        return os.fdopen(fd, mode, encoding=encoding)
    except BaseException:
        os.close(fd)
        raise


def is_regular(path: str | os.PathLike) -> bool:
    """True for a regular file (following symlinks); never opens it."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


class TooLarge(OSError):
    """A file is larger than the reader allows."""


def read_capped(path: str | os.PathLike, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; raises TooLarge beyond it
    (reading at most limit + 1 bytes, whatever the file claims) or NotRegularFile."""
    with open_regular(path) as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(errno.EFBIG, f"larger than {human_bytes(limit)}", str(path))
    return data


# --------------------------------------------------------------------------- sizes


# (base, units) of ``human_bytes``: binary (KiB, MiB: the sizes nnctl checks against memory)
# or decimal (KB, MB: the sizes streaming's notices quote, as disks and ``ls -h --si`` do)
_BYTE_UNITS = {
    False: (1024, ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB")),
    True: (1000, ("B", "KB", "MB", "GB", "TB")),
}


def human_bytes(n: float, decimal: bool = False) -> str:
    """1536 -> '1.5 KiB'; 11.2e12 -> '10.2 TiB'. ``decimal``: powers of 1000 instead,
    1.2e6 -> '1.2 MB', 512 -> '512 B'."""
    base, units = _BYTE_UNITS[decimal]
    for unit in units:
        if abs(n) < base or unit == units[-1]:
            return f"{n:.0f} {unit}" if unit == units[0] else f"{n:.1f} {unit}"
        n /= base
    return f"{n:.1f} {units[-1]}"  # pragma: no cover


def declared_bytes(shape: Iterable[int], itemsize: int) -> int:
    """Bytes an array of ``shape`` and ``itemsize`` occupies (Python ints: never overflows)."""
    return math.prod(int(s) for s in shape) * int(itemsize)


class DeclaredTooLarge(ValueError):
    """An array header declares more data than the reader allows."""


def check_declared(
    shape: Iterable[int], dtype: Any, limit: int, what: str, *, limit_text: str | None = None
) -> int:
    """Refuses an array whose header declares more than ``limit`` bytes, before a byte of its
    data is read: the .npy, .npz member or HDF5 dataset readers call this with the shape and
    dtype from the header. Returns the declared size. Raises DeclaredTooLarge naming ``what``;
    ``limit_text`` words the limit in its message (default "the <limit> allowed here")."""
    import numpy as np

    shape = tuple(int(s) for s in shape)
    size = declared_bytes(shape, np.dtype(dtype).itemsize)
    if size > limit:
        beyond = f"the {human_bytes(limit)} allowed here" if limit_text is None else limit_text
        raise DeclaredTooLarge(
            f"{what}: declares shape {shape} of {np.dtype(dtype)} ({human_bytes(size)}), "
            f"more than {beyond}"
        )
    return size


def npy_header(f: IO[bytes]) -> tuple[tuple[int, ...], Any, bool]:
    """(shape, dtype, fortran_order) from the header at the current position of an open .npy
    stream; reads only the header. Raises ValueError for anything that is not a .npy header."""
    from numpy.lib import format as npformat

    version = npformat.read_magic(f)
    if version == (1, 0):
        shape, fortran, dtype = npformat.read_array_header_1_0(f)
    elif version == (2, 0):
        shape, fortran, dtype = npformat.read_array_header_2_0(f)
    else:
        shape, fortran, dtype = npformat._read_array_header(f, version)  # (3, 0): utf-8 field names
    return tuple(shape), dtype, fortran


def npz_headers(path: str | os.PathLike) -> dict[str, tuple[tuple[int, ...], Any]]:
    """Each member of an .npz archive -> (shape, dtype), read from the member's .npy header
    without inflating its data (a member that would inflate to gigabytes costs a few hundred
    bytes here). Raises zipfile.BadZipFile, ValueError, OSError."""
    import zipfile

    out: dict[str, tuple[tuple[int, ...], Any]] = {}
    with open_regular(path) as raw, zipfile.ZipFile(raw) as zf:
        for info in zf.infolist():
            name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            with zf.open(info) as member:
                shape, dtype, _ = npy_header(member)
            out[name] = (tuple(shape), dtype)
    return out


# --------------------------------------------------------------------------- memory


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _vm_size() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


# The memory limit and usage files of the process's cgroup: v2, then v1.
_CGROUP_FILES = (
    ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
    ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
)
# cgroup v1 writes "no limit" as a number near 2**63 (v2 writes "max")
_NO_CGROUP_LIMIT = 1 << 60


def _cgroup_room() -> int | None:
    """The room left under the cgroup's memory limit (the least of v2's and v1's), or None."""
    rooms = []
    for limit_file, usage_file in _CGROUP_FILES:
        try:
            limit = Path(limit_file).read_text().strip()
            if limit != "max" and int(limit) < _NO_CGROUP_LIMIT:
                rooms.append(int(limit) - int(Path(usage_file).read_text().strip()))
        except (OSError, ValueError):
            pass
    return min(rooms) if rooms else None


def available_memory() -> int | None:
    """Bytes this process can still allocate: the least of the machine's available memory
    (MemAvailable), the room under the address-space limit (``ulimit -v``, RLIMIT_AS) and the
    room in the cgroup's memory limit. None when none of them is known."""
    room = [r for r in (_meminfo_available(), _cgroup_room()) if r is not None]
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            room.append(soft - _vm_size())
    except (ImportError, OSError, ValueError):
        pass
    return max(0, min(room)) if room else None


@dataclass(frozen=True)
class MemoryEstimate:
    """What a training holds at its peak, in bytes, by part."""

    parts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.parts.values())

    def describe(self) -> str:
        shown = [f"{k} {human_bytes(v)}" for k, v in self.parts.items() if v >= 1 << 20]
        return ", ".join(shown)


LABEL_BYTES = 8  # a label or a regression target as the datasets hold them (int64, float64)


def training_estimate(
    cfg: Any,
    n_x: int,
    m_train: int,
    m_other: int,
    optimizer_slots: int,
    data_in_memory: bool = True,
    mapped_examples: int = 0,
    *,
    label_rows: int = 1,
    scored: int | None = None,
) -> MemoryEstimate:
    """The memory training ``cfg`` (a Config) on m_train examples of n_x features needs, with
    m_other more examples (test and validation) held beside them, by part, in the run's dtype:

    - dataset: X of every example (in memory; streamed and mapped examples are not counted);
    - labels and targets: the labels (``label_rows`` values per example: 1 for a classifier,
      the outputs of a regression) of every example, a mini-batch run's copy of the training
      labels by example, and one batch's labels, loss targets (n_L per example: a softmax's
      one-hot columns, made per batch), their buffer and the loss's temporaries (2 n_L);
    - parameters and optimizer state: the parameters, their gradients, the update's
      temporaries, ``optimizer_slots`` arrays of optimizer state per parameter array (gd 0,
      momentum 1, adam 2) and early stopping's best parameters;
    - activations: Z, A and dA of every layer for one batch, the gathered input batch, and XᵀX
      (m x m, float64) when the full-batch fast path may be taken;
    - scoring: a scoring pass (validation after each epoch, every split at the end) over
      ``scored`` examples at once (default: the larger of m_train and m_other): Z and A of
      every layer, the targets and the loss's temporaries.

    ``data_in_memory``: False for a dataset streamed from disk (``nnctl.data.stream``), whose
    examples never are in memory whole. ``mapped_examples``: how many of the m_train + m_other
    examples stay mapped read-only from their file (``readers.hdf5.map_contiguous``): their
    values are in the page cache, which the kernel can drop and re-read, not in the process's
    memory, so they are not counted."""
    import numpy as np

    item = np.dtype(cfg.dtype).itemsize
    dims = [n_x, *(int(d) for d in cfg.layer_dims[1:])]
    n_L, units = dims[-1], sum(dims[1:])
    n_params = sum(dims[l] * dims[l - 1] + dims[l] for l in range(1, len(dims)))
    batch = m_train if cfg.batch_size is None else min(cfg.batch_size, m_train)
    mini = batch < m_train
    copies = 3 + optimizer_slots + (cfg.early_stopping is not None)
    width = max(m_train, m_other) if scored is None else scored
    parts = {
        "dataset": n_x * max(0, m_train + m_other - mapped_examples) * item
        if data_in_memory
        else 0,
        "labels and targets": label_rows * (m_train + m_other) * LABEL_BYTES
        + (label_rows * (m_train + batch) * LABEL_BYTES if mini else 0)
        + n_L * batch * item * (3 + mini),
        "parameters and optimizer state": n_params * item * copies,
        # Z, A and dA of every layer for one batch (the input's dA is skipped)
        "activations": units * batch * item * 3 + (n_x * batch * item if mini else 0),
        "scoring": (units * 2 + n_L * 3) * width * item,
    }
    if cfg.batch_size is None and n_x > m_train:
        parts["activations"] += m_train * m_train * 8  # the full-batch path's XᵀX
    return MemoryEstimate(parts)


def require_memory(
    cfg: Any,
    n_x: int,
    m_train: int,
    m_other: int,
    optimizer_slots: int,
    at_least: bool = False,
    data_in_memory: bool = True,
    mapped_examples: int = 0,
    *,
    label_rows: int = 1,
    scored: int | None = None,
) -> None:
    """Refuses a training that would not fit in memory, before anything is allocated: one
    ConfigError saying how much it needs, of what, and how much there is. ``at_least``: the
    sizes are lower bounds (the data has not been read yet). ``mapped_examples``: see
    ``training_estimate``, as are ``label_rows`` and ``scored``."""
    from nnctl.system.errors import ConfigError

    est = training_estimate(
        cfg,
        n_x,
        m_train,
        m_other,
        optimizer_slots,
        data_in_memory,
        mapped_examples,
        label_rows=label_rows,
        scored=scored,
    )
    room = available_memory()
    if room is None or est.total <= room:
        return
    parts = est.describe()
    raise ConfigError(
        f"{cfg.source}: layer_dims [{', '.join(map(str, cfg.layer_dims))}]"
        + ("" if at_least else f" with {m_train + m_other} examples of {n_x} features")
        + f" needs {'at least' if at_least else 'about'} {human_bytes(est.total)} of memory"
        + (f" ({parts})" if parts else "")
        + f", but only {human_bytes(room)} is available; {_advice(cfg, est)}"
    )


def _advice(cfg: Any, est: MemoryEstimate) -> str:
    """What would shrink the estimate's largest part (never a batch_size the config sets)."""
    largest = max(est.parts, key=lambda k: est.parts[k])
    if largest in ("activations", "labels and targets"):
        if cfg.batch_size is None:
            return "set a batch_size (mini-batches), use smaller layers or less data"
        return f"use a smaller batch_size than {cfg.batch_size}, smaller layers or less data"
    if largest == "dataset":
        return "use less data (an HDF5 file can be streamed from disk: dataset.stream: true)"
    if largest == "scoring":
        return "use fewer output units or smaller layers"
    return "use smaller layers"
