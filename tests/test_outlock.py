"""One run per --out: quickstart, pretrain, finetune and distill refuse a folder another live run holds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tandem.cli import main
from tandem.errors import TandemError
from tandem.outlock import OutLock, check_out_free

pytest.importorskip("fcntl")

HOLD = (
    "import sys, time\n"
    "from tandem.outlock import OutLock\n"
    "lock = OutLock('test'); lock.acquire(sys.argv[1]); print('held', flush=True); time.sleep(120)\n"
)


def _hold(out: Path) -> subprocess.Popen:
    """Another process holding OUT's lock (as a run in progress would)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


def _stop(proc: subprocess.Popen) -> None:
    proc.kill()  # a run killed outright leaves its pid in the lock file: a stale lock
    proc.wait()


def test_lock_is_exclusive_names_the_holder_and_dies_with_it(tmp_path):
    out = tmp_path / "run"
    proc = _hold(out)
    try:
        with pytest.raises(TandemError, match=rf"--out .*run is in use by another run \(pid {proc.pid} "):
            with OutLock("tandem finetune") as lock:
                lock.acquire(out)
        with pytest.raises(TandemError, match=f"pid {proc.pid}"):
            check_out_free(out, "tandem finetune")
    finally:
        _stop(proc)
    assert (out / ".lock").read_text().strip() == str(proc.pid)  # stale: its holder is dead
    check_out_free(out, "tandem finetune")
    with OutLock("tandem finetune") as lock:
        lock.acquire(out)
        assert (out / ".lock").read_text().strip() == str(os.getpid())
    with OutLock("tandem finetune") as lock:  # released at the end of the block
        lock.acquire(out)
    check_out_free(tmp_path / "never-made", "x")
    assert not (tmp_path / "never-made").exists()


def test_a_worker_forked_by_the_run_does_not_keep_the_lock(tmp_path):
    """A run killed outright (OOM killer, a scheduler's SIGKILL) leaves its forked tokeniser workers behind
    for a while, or for good: they must not hold --out (a flock lasts while any copy of its descriptor is
    open), or the run's --resume is refused as "in use by another run"."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    out = tmp_path / "run"
    lock = OutLock("tandem pretrain")
    lock.acquire(out)
    pool = ProcessPoolExecutor(1, mp_context=mp.get_context("fork"))
    try:
        assert pool.submit(os.getpid).result() != os.getpid()  # the worker is forked and alive
        with pytest.raises(TandemError, match="in use by another run"):
            check_out_free(out, "tandem pretrain")
        os.close(lock.fd)  # the run dies: the kernel closes its descriptor, nobody unlocks
        lock.fd = None
        check_out_free(out, "tandem pretrain")  # free, though the worker is still running
        assert all(p.is_alive() for p in pool._processes.values())
    finally:
        lock.release()
        pool.shutdown()


def _write_snips(root: Path) -> Path:
    root.mkdir()
    (root / "seq.in").write_text("play queen\nweather in rome\n" * 4, encoding="utf-8")
    (root / "seq.out").write_text("O B-artist\nO O B-city\n" * 4, encoding="utf-8")
    (root / "label").write_text("PlayMusic\nGetWeather\n" * 4, encoding="utf-8")
    return root


def _verbs(tmp_path: Path, out: Path) -> dict[str, list[str]]:
    snips = _write_snips(tmp_path / "snips")
    text = tmp_path / "en.txt"
    text.write_text("play some music now\n" * 20, encoding="utf-8")
    teacher = tmp_path / "teacher"
    teacher.mkdir()
    return {
        "pretrain": ["pretrain", "--data", str(text), "--preset", "tiny", "--steps", "1", "--device", "cpu"],
        "finetune": [
            "finetune",
            "--model",
            "tiny",
            "--task",
            "slu",
            "--data",
            str(snips),
            "--max-steps",
            "1",
        ],
        "distill": ["distill", "--teacher", str(teacher), "--student", "shrink:1,1", "--data", str(snips)],
        "quickstart": ["quickstart", "--stages", "corpus", "--minutes", "0.05", "--quiet"],
    }


@pytest.mark.parametrize("verb", ["pretrain", "finetune", "distill", "quickstart"])
def test_a_second_run_into_the_same_out_is_refused(tmp_path, capsys, verb):
    out = tmp_path / "out"
    argv = _verbs(tmp_path, out)[verb] + ["--out", str(out)]
    proc = _hold(out)
    try:
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert f"--out {out} is in use by another run (pid {proc.pid} " in err
    finally:
        _stop(proc)
    assert sorted(p.name for p in out.iterdir()) == [".lock"]  # nothing was written beside it


def test_quickstart_takes_and_releases_the_lock(tmp_path):
    from tandem.quickstart.pipeline import run_quickstart

    proc = _hold(tmp_path / "qs")
    try:
        with pytest.raises(TandemError, match=f"pid {proc.pid}"):
            run_quickstart(tmp_path / "qs", minutes=0.05, stages=["corpus"], log=lambda s: None)
    finally:
        _stop(proc)
    res = run_quickstart(tmp_path / "qs", minutes=0.05, stages=["corpus"], log=lambda s: None)  # stale lock
    assert res["stages"]["corpus"]["status"] == "ok"
    check_out_free(tmp_path / "qs", "tandem quickstart")  # released when the run returned


@pytest.mark.parametrize("fails", ["mkdir", "open", "ftruncate", "write"])
def test_an_unwritable_out_is_a_tandem_error_and_leaks_no_lock(tmp_path, monkeypatch, fails):
    """Permission denied or a read-only file system while taking the lock: a TandemError naming --out and the
    OS error, with the lock file's descriptor closed (so the lock is not left held)."""
    import errno

    import tandem.outlock as outlock

    out = tmp_path / "out"
    opened, closed = [], []
    real_open, real_close = os.open, os.close

    def deny(*a, **k):
        raise (
            PermissionError(errno.EACCES, "Permission denied")
            if fails in ("mkdir", "open")
            else OSError(errno.EROFS, "Read-only file system")
        )

    def tracking_open(*a, **k):
        if fails == "open":
            deny()
        fd = real_open(*a, **k)
        opened.append(fd)
        return fd

    def tracking_close(fd):
        closed.append(fd)
        real_close(fd)

    monkeypatch.setattr(outlock.os, "open", tracking_open)
    monkeypatch.setattr(outlock.os, "close", tracking_close)
    if fails == "mkdir":
        monkeypatch.setattr(Path, "mkdir", deny)
    else:
        monkeypatch.setattr(outlock.os, fails, deny)
    lock = OutLock("tandem finetune")
    with pytest.raises(TandemError, match=r"--out .*out: .*(Permission denied|Read-only file system)"):
        lock.acquire(out)
    assert lock.fd is None and sorted(opened) == sorted(closed)
    monkeypatch.undo()
    with OutLock("tandem distill") as other:  # nothing left held
        other.acquire(out)


def test_a_failed_run_takes_away_what_it_added_only_when_that_is_bookkeeping(tmp_path):
    """A run refused before it made anything (pretrain on an empty --data file) must not leave a folder holding
    only `.lock` and `train_config.json`; a run that made anything else keeps all of it."""
    new = tmp_path / "runs" / "new"  # runs/ is made too
    with pytest.raises(ValueError):
        with OutLock("tandem pretrain") as lock:
            lock.acquire(new)
            lock.own("train_config.json")
            (new / "train_config.json").write_text("{}")
            raise ValueError("refused")
    assert not (tmp_path / "runs").exists()

    made = tmp_path / "made"
    with pytest.raises(ValueError):
        with OutLock("tandem pretrain") as lock:
            lock.acquire(made)
            lock.own("train_config.json")
            (made / "train_config.json").write_text("{}")
            (made / "tokenizer").mkdir()  # a result: the tokenizer was trained before the failure
            raise ValueError("failed later")
    assert sorted(p.name for p in made.iterdir()) == [".lock", "tokenizer", "train_config.json"]

    mine = tmp_path / "mine"  # a folder the user made, with a file of theirs and an earlier run's config
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    (mine / "old.json").write_text("earlier")
    with pytest.raises(ValueError):
        with OutLock("tandem pretrain") as lock:
            lock.acquire(mine)
            lock.own("train_config.json", "old.json")
            (mine / "train_config.json").write_text("{}")
            (mine / "old.json").write_text("replaced")  # there before the run: not taken away
            raise ValueError("refused")
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt", "old.json"]

    ok = tmp_path / "ok"  # no failure: nothing is taken away
    with OutLock("tandem pretrain") as lock:
        lock.acquire(ok)
        lock.own("train_config.json")
        (ok / "train_config.json").write_text("{}")
    assert sorted(p.name for p in ok.iterdir()) == [".lock", "train_config.json"]


def test_a_run_refused_by_another_holder_takes_nothing_away(tmp_path):
    out = tmp_path / "run"
    proc = _hold(out)
    try:
        with pytest.raises(TandemError, match="in use by another run"):
            with OutLock("tandem pretrain") as lock:
                lock.own("train_config.json")
                lock.acquire(out)
        assert (out / ".lock").read_text().strip() == str(proc.pid)  # the holder's lock file stays
    finally:
        _stop(proc)


def test_pretrain_refused_for_empty_data_leaves_no_folder(tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    out = tmp_path / "run"
    args = ["pretrain", "--preset", "tiny", "--data", f"en:{empty}", "--out", str(out), "--steps", "2"]
    assert main(args) != 0
    assert "no text to train a tokenizer on" in capsys.readouterr().err
    assert not out.exists()


def test_a_lock_file_taken_away_between_open_and_flock_is_not_held(tmp_path, monkeypatch):
    """A failed run unlinks its lock file while holding it: a run that opened that file just before and
    locks it just after must not count the lock on a file no longer in the folder (a third run would
    create a new .lock and hold it too); it locks the file that is there."""
    import tandem.outlock as outlock

    out = tmp_path / "run"
    out.mkdir()
    real_flock, calls = outlock.fcntl.flock, []

    def flock(fd, op):
        if not calls and op & outlock.fcntl.LOCK_EX:  # the failed run's tidy, between open and flock
            (out / outlock.LOCK_NAME).unlink()
        calls.append(op)
        return real_flock(fd, op)

    monkeypatch.setattr(outlock.fcntl, "flock", flock)
    with OutLock("test") as lock:
        lock.acquire(out)
        held, on_disk = os.fstat(lock.fd), os.stat(out / outlock.LOCK_NAME)
        assert (held.st_dev, held.st_ino) == (on_disk.st_dev, on_disk.st_ino)
        monkeypatch.setattr(outlock.fcntl, "flock", real_flock)
        with pytest.raises(TandemError, match="in use by another run"):
            check_out_free(out, "test")
