"""One run per output folder: an exclusive lock on `OUT/.lock` held while a run writes into OUT.

`tandem quickstart`, `pretrain`, `finetune` and `distill` take it before they delete or write anything in
their --out, so two runs cannot interleave their results there. The lock is `fcntl.flock`: the kernel drops
it when the holder exits, however it exits, so a lock file left by a dead process never blocks (the file
stays; only a live holder counts). The holder writes its pid into the file for the error message.

A run refused before it made anything (a bad --data file, an empty source) leaves no trace: when the `with`
block ends with an exception and all the run added to the folder is the lock and the files it registered as
its own bookkeeping (`own`, e.g. pretrain's train_config.json), those are removed again, and the folders too that
the lock made. Anything else the run added (a trained tokenizer, a checkpoint, metrics) keeps everything.
A lock counts only on the file that is the folder's .lock when it is taken (checked by inode), so a run
that opened the lock file just before such a tidy took it away locks the new one instead.

A child forked while a lock is held (a tokeniser worker) does not keep it: a flock lasts as long as any copy
of its descriptor, so a worker orphaned when its run was killed outright (the OOM killer, a scheduler's
SIGKILL after the grace period) would have held --out, and refused the run's resume, until killed by hand.
"""

from __future__ import annotations

import os
import weakref
from pathlib import Path

from tandem.errors import TandemError, unwritable

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
    return unwritable(f"--out {out}", e)


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
        self.made: list[Path] = []  # the folders acquire() made, the folder first, then those above it
        self.before: set[str] = set()  # what the folder held when acquired
        self.owned: set[str] = set()  # bookkeeping files a failed run that made nothing else takes away

    def acquire(self, out: str | Path) -> None:
        out = Path(out)
        if self.fd is not None:
            if self.path == out / LOCK_NAME:
                return
            raise RuntimeError(f"{self.what}: already holds {self.path}")
        made = []  # the folder and the missing folders above it, which mkdir(parents=True) makes
        for d in (out, *out.parents):
            if d.exists():
                break
            made.append(d)
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
        fd = self._lock_file(out, path)
        try:
            try:
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
            except OSError as e:
                raise _unwritable(out, e) from None
        except BaseException:
            os.close(fd)  # closing drops a lock taken here
            raise
        try:
            before = {p.name for p in out.iterdir()} - {LOCK_NAME}
        except OSError as e:
            os.close(fd)
            raise _unwritable(out, e) from None
        self.fd, self.path, self.made, self.before = fd, path, made, before
        _HELD.add(self)

    def _lock_file(self, out: Path, path: Path, tries: int = 5) -> int:
        """Open and flock `path`; returns the descriptor. A run that failed having made nothing unlinks its
        lock file while it holds it (`_tidy`): a process that opened the file before that unlink and locks it
        after the release holds a lock on a file no longer in the folder, which the next run does not see.
        So the lock counts only while `path` is still the file locked; otherwise open it again."""
        for _ in range(tries):
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
                    on_disk = os.stat(path)
                except FileNotFoundError:
                    on_disk = None
                except OSError as e:
                    raise _unwritable(out, e) from None
                held = os.fstat(fd)
            except BaseException:
                os.close(fd)  # closing drops a lock taken here
                raise
            if on_disk is not None and (on_disk.st_dev, on_disk.st_ino) == (held.st_dev, held.st_ino):
                return fd
            os.close(fd)  # the file locked was taken away meanwhile: lock the one there now
        raise _busy(out, self.what, path)

    def own(self, *names: str) -> None:
        """Files (names in the folder) this run writes as bookkeeping before any result: removed again if
        the run fails having added nothing else (see the module's docstring)."""
        self.owned.update(names)

    def _tidy(self) -> None:
        """After a failure: take away what the run added if that is only the lock and `owned` files (and the
        folders the lock made, while empty). Called while the lock is still held: no other run is in there."""
        if self.path is None:
            return
        out = self.path.parent
        try:
            added = {p.name for p in out.iterdir()} - self.before
        except OSError:
            return
        if not added <= {LOCK_NAME, *self.owned}:
            return  # the run made something (or another process put it there): keep everything
        for name in sorted(added - {LOCK_NAME}) + [LOCK_NAME]:
            try:
                (out / name).unlink()
            except FileNotFoundError:
                pass
            except OSError:
                return
        for d in self.made:
            try:
                d.rmdir()
            except OSError:
                return

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

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None and self.fd is not None:
            self._tidy()
        self.release()
