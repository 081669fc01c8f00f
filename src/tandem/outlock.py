"""One run per output folder: an exclusive lock on `OUT/.lock` held while a run writes into OUT.

`tandem quickstart`, `pretrain`, `finetune` and `distill` take it before they delete or write anything in
their --out, so two runs cannot interleave their results there. The lock is `fcntl.flock`: the kernel drops
it when the holder exits, however it exits, so a lock file left by a dead process never blocks (the file
stays; only a live holder counts). The holder writes its pid into the file for the error message.

A child forked while a lock is held (a tokeniser worker) does not keep it: a flock lasts as long as any copy
of its descriptor, so a worker orphaned when its run was killed outright (the OOM killer, a scheduler's
SIGKILL after the grace period) would have held --out, and refused the run's resume, until killed by hand.
"""

from __future__ import annotations

import os
import weakref
from pathlib import Path

from tandem.errors import TandemError

LOCK_NAME = ".lock"

try:
    import fcntl
except ImportError:  # Windows: no flock; runs are not guarded there
    fcntl = None


def _holder(path: Path) -> str:
    try:
        pid = path.read_text(encoding="utf-8").strip()
    except OSError:
        pid = ""
    return f"pid {pid}" if pid.isdigit() else "a process whose pid is unknown"


def _busy(out: Path, what: str, path: Path) -> TandemError:
    return TandemError(
        f"--out {out} is in use by another run ({_holder(path)} holds {path}); wait for it to finish, stop "
        f"it, or give this {what} another --out"
    )


def _unwritable(out: Path, e: OSError) -> TandemError:
    return TandemError(f"--out {out}: cannot write there: {e.strerror or e}; choose a writable directory")


def check_out_free(out: str | Path, what: str) -> None:
    """Raise a TandemError if a live process holds OUT's lock (creates nothing; for an early refusal)."""
    path = Path(out) / LOCK_NAME
    if fcntl is None or not path.is_file():
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise _busy(Path(out), what, path) from None
    finally:
        os.close(fd)  # closing drops a lock taken here


_HELD: weakref.WeakSet[OutLock] = weakref.WeakSet()  # locks this process holds


def _forget_in_child() -> None:
    """After a fork, in the child: close its copies of the lock descriptors (the parent keeps the locks)."""
    for lock in list(_HELD):
        fd, lock.fd = lock.fd, None  # the child's release() must not unlock the parent's lock
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass
    _HELD.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)


class OutLock:
    """`with OutLock("tandem finetune") as lock: ... lock.acquire(out) ...`: acquire when the run is about
    to write into `out` (the folder is created then); released when the `with` block ends."""

    def __init__(self, what: str):
        self.what = what
        self.fd: int | None = None
        self.path: Path | None = None

    def acquire(self, out: str | Path) -> None:
        out = Path(out)
        if self.fd is not None:
            if self.path == out / LOCK_NAME:
                return
            raise RuntimeError(f"{self.what}: already holds {self.path}")
        try:
            out.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise TandemError(
                f"--out {out}: it or a folder above it is a file; choose a directory path"
            ) from None
        except OSError as e:  # permission denied, read-only file system, ...
            raise _unwritable(out, e) from None
        if fcntl is None:  # no flock here (Windows): the folder is made, nothing is locked
            return
        path = out / LOCK_NAME
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise _unwritable(out, e) from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise _busy(out, self.what, path) from None
            try:
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
            except OSError as e:
                raise _unwritable(out, e) from None
        except BaseException:
            os.close(fd)  # closing drops a lock taken here
            raise
        self.fd, self.path = fd, path
        _HELD.add(self)

    def release(self) -> None:
        _HELD.discard(self)
        if self.fd is not None:
            fd, self.fd = self.fd, None
            try:
                os.ftruncate(fd, 0)  # no stale pid in the file once the run is over
            except OSError:
                pass
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __enter__(self) -> OutLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()
