"""Who trains a run: an exclusive lock on the run directory for the whole training, and the
owning process recorded in the summary, so that a run whose process is gone reads ``stale``.

The lock is ``flock`` on the run directory itself (no lock file to leave behind): the
kernel releases it when the process ends, however it ends (``kill -9``, a crash, a power
loss). A run whose summary still says ``running`` while nobody holds its lock was never
finished: it is stale.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Any

from nnctl.system import RunError


def owner_record() -> dict[str, Any]:
    """The training process: pid, host and start time (with the pid, names the process even
    after the pid is reused)."""
    import socket  # here: listing and loading runs need no socket module

    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": _process_start(os.getpid()),
    }


def _process_start(pid: int) -> str | None:
    """The kernel's start time of a process (clock ticks since boot, with the boot id)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open("/proc/sys/kernel/random/boot_id") as f:
            boot = f.read().strip()
        return f"{boot}:{fields[19]}"
    except (OSError, IndexError):
        return None


def _open_dir(run_dir: Path) -> int:
    return os.open(
        run_dir, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
    )


class RunLock:
    """The exclusive lock on one run directory, held while it trains."""

    def __init__(self, fd: int, run_dir: Path) -> None:
        self.fd: int | None = fd
        self.run_dir = run_dir

    @classmethod
    def acquire(
        cls,
        run_dir: Path,
        owner: dict[str, Any] | None = None,
        what: str = "run directory",
        doing: str = "trained",
    ) -> RunLock:
        """Takes the lock or raises RunError naming the process that holds it (``owner``: the
        one the summary records). A sweep directory is locked the same way while a client runs
        it: ``what`` and ``doing`` name it in the messages ("sweep directory", "run")."""
        try:
            fd = _open_dir(run_dir)
        except OSError as exc:
            raise RunError(f"{run_dir}: cannot open the {what}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            who = ""
            if isinstance(owner, dict) and owner.get("pid") is not None:
                who = f" (pid {owner.get('pid')} on {owner.get('host')})"
            raise RunError(
                f"{run_dir}: is being {doing} by another process{who}; "
                "wait for it to finish or stop it first"
            ) from None
        except OSError:
            pass  # a filesystem without flock (ENOLCK): train unlocked rather than not at all
        return cls(fd, run_dir)

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the last descriptor releases the flock
            self.fd = None


def is_locked(run_dir: Path) -> bool:
    """True while some process holds the run's training lock (a shared probe, released at
    once, so two readers never disturb each other)."""
    try:
        fd = _open_dir(run_dir)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    except OSError:
        return True  # locks unsupported here: nothing can be known, so never call the run stale
    finally:
        os.close(fd)


def is_stale(run_dir: Path, summary: Any) -> bool:
    """A run that says ``running`` but whose training process is gone (killed, crashed, the
    machine lost power). Runs written before the owner was recorded are never called stale:
    nothing says they would hold the lock."""
    return summary.status == "running" and summary.owner is not None and not is_locked(run_dir)
