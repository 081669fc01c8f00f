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
