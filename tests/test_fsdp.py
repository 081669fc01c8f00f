"""FSDP2 under `torchrun --nproc_per_node 2` (gloo, CPU) follows the single-process loss curve with the same
global batch, through a sharded (DCP) checkpoint and a resume, and saves the same final weights."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tandem.train import TrainConfig, train
from test_train_helpers import TOY_RUN, ToyStream, tiny_model

HELPER = Path(__file__).with_name("test_train_helpers.py")
PATIENCE_S = 240  # for a torchrun of a few steps (it imports torch in 3 processes) on a slow CI machine

# One node: torchrun's own rendezvous store binds a port the OS picks and the ranks use it (a port picked
# beforehand and passed as --master_port could be taken by another process in between).
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--local-addr", "127.0.0.1"]


def _cfg(out, **kw) -> dict:
    return TOY_RUN | {"out": str(out)} | kw


def _start(cfg: dict, log: Path, *extra: str, **env: str) -> subprocess.Popen:
    """torchrun with 2 ranks of the helper trainer, in its own process group (see _finish), its output into
    `log` (a file: a pipe read only at the end could fill and block it); `extra`: the helper's dropout."""
    cmd = [*TORCHRUN, "--nproc_per_node", "2", str(HELPER), json.dumps(cfg), "4", *extra]
    with log.open("wb") as fh:
        return subprocess.Popen(
            cmd,
            env=dict(os.environ, OMP_NUM_THREADS="1", **env),
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _finish(proc: subprocess.Popen, log: Path, timeout: float = PATIENCE_S) -> str:
    """Waits for torchrun and returns its output; one still running after `timeout` seconds is killed with
    its ranks (killing torchrun alone would leave them running) and fails the test."""
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        if timeout:
            raise AssertionError(
                f"torchrun still running after {timeout} s: {log.read_text()[-3000:]}"
            ) from None
    return log.read_text()


@pytest.fixture
def fsdp_gloo() -> None:
    """Skips a test where torch lacks FSDP2 or the gloo backend (CPU collectives)."""
    pytest.importorskip("torch.distributed.fsdp")
    if not torch.distributed.is_gloo_available():
        pytest.skip("torch was built without gloo")


def _one_sharded_checkpoint(out: Path, log: str) -> Path:
    """The run's only checkpoint, checked to hold one DCP shard per rank."""
    ckpts = sorted((out / "checkpoints").glob("step_*"))
    assert len(ckpts) == 1, log[-3000:]
    assert sorted(p.name for p in (ckpts[0] / "dcp").glob("*.distcp")) == ["__0_0.distcp", "__1_0.distcp"]
    return ckpts[0]


def _same_loss_curve(one: Path, two: Path, end: int) -> None:
    """Run `two` logged steps 1 .. end-1 with the losses (within 1e-4) of the one-process run `one`."""
    ref = [json.loads(x) for x in (one / "metrics.jsonl").read_text().splitlines()]
    got = [json.loads(x) for x in (two / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in got] == list(range(1, end))
    for a, b in zip(ref, got):
        assert abs(a["loss"] - b["loss"]) <= 1e-4, (a, b)


# gloo's TCP setup on a machine under heavy load can fail with EAGAIN before any rank has run a step
_TRANSIENT = "Resource temporarily unavailable"


def _rows(cfg: dict) -> int:
    metrics = Path(cfg["out"]) / "metrics.jsonl"
    return len(metrics.read_text().splitlines()) if metrics.exists() else 0


def _torchrun(cfg: dict, log: Path, *extra: str, **env: str) -> None:
    """torchrun, once more (and only once) when the process group could not be set up for a transient
    reason and the run wrote nothing: any other failure, or one after a step, fails the test."""
    before = _rows(cfg)
    proc = _start(cfg, log, *extra, **env)
    out = _finish(proc, log)
    if proc.returncode != 0 and _TRANSIENT in out and _rows(cfg) == before:
        first = log.with_suffix(".first-try.log")
        log.rename(first)
        proc = _start(cfg, log, *extra, **env)
        out = _finish(proc, log)
    assert proc.returncode == 0, out[-6000:]


@pytest.mark.slow
def test_fsdp2_two_ranks_match_one_process(tmp_path, fsdp_gloo):
    train(TrainConfig(**_cfg(tmp_path / "one")), model=tiny_model(), data=ToyStream(batch=4))
    ref = [json.loads(x) for x in (tmp_path / "one" / "metrics.jsonl").read_text().splitlines()]

    two = tmp_path / "two"
    # ranks each see 2 of the 4 rows, then stop after a sharded save
    _torchrun(_cfg(two, stop_after=3), tmp_path / "first.log")
    assert sorted(p.name for p in (two / "checkpoints" / "step_00000003" / "dcp").glob("*.distcp")) == [
        "__0_0.distcp",
        "__1_0.distcp",
    ]
    _torchrun(_cfg(two, resume=True), tmp_path / "resumed.log")
    got = [json.loads(x) for x in (two / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in got] == [1, 2, 3, 4, 5, 6]
    for a, b in zip(ref, got):
        assert abs(a["loss"] - b["loss"]) <= 1e-4, (a, b)
        assert abs(a["grad_norm"] - b["grad_norm"]) <= 1e-4 * max(1.0, a["grad_norm"])
        assert a["tokens_seen"] == b["tokens_seen"]
    w1 = load_file(tmp_path / "one" / "model" / "model.safetensors")
    w2 = load_file(two / "model" / "model.safetensors")
    assert w1.keys() == w2.keys()
    for k in w1:
        if k.endswith("k_proj.bias"):
            # the key bias adds q.b to every score of a query, which softmax ignores: its true gradient is 0
            # and Adam turns rounding noise (different in the two runs) into steps of up to lr each
            assert float((w1[k] - w2[k]).abs().max()) <= 2 * 3e-3 * 6, k
            continue
        assert torch.allclose(w1[k], w2[k], atol=1e-5), k


@pytest.mark.slow
def test_resume_under_another_number_of_ranks_reshards_and_continues(tmp_path, fsdp_gloo, capsys):
    """2 ranks -> 1 process -> 2 ranks: DCP reshards the model and optimizer each way and the loss curve is
    the one-process run's (the toy stream continues at its global batch under any world size)."""
    two = tmp_path / "two"
    _torchrun(_cfg(two, stop_after=3), tmp_path / "first.log")
    capsys.readouterr()
    train(TrainConfig(**_cfg(two, resume=True, stop_after=1)), model=tiny_model(), data=ToyStream(batch=4))
    assert "written by 2 ranks and this run has 1" in capsys.readouterr().out
    _torchrun(_cfg(two, resume=True), tmp_path / "resumed.log")
    assert "written by 1 rank and this run has 2" in (tmp_path / "resumed.log").read_text()
    train(TrainConfig(**_cfg(tmp_path / "one")), model=tiny_model(), data=ToyStream(batch=4))
    _same_loss_curve(tmp_path / "one", two, 7)


@pytest.mark.slow
def test_sigterm_to_one_rank_stops_every_rank_at_the_same_step_with_one_checkpoint(tmp_path, fsdp_gloo):
    """Preemption under torchrun: the rank that got SIGTERM tells the others through the step's all-reduce;
    all finish the same step, save one sharded checkpoint together and exit; the run resumes from it."""
    out, pids = tmp_path / "two", tmp_path / "pids"
    cfg = _cfg(out, steps=2000, ckpt_every=1000, warmup=2)
    log_file = tmp_path / "torchrun.log"
    proc = _start(cfg, log_file, TANDEM_TEST_PID_DIR=str(pids))
    try:
        metrics = out / "metrics.jsonl"
        deadline = time.monotonic() + PATIENCE_S
        while not (metrics.exists() and len(metrics.read_text().splitlines()) >= 2):
            assert proc.poll() is None, log_file.read_text()[-3000:]
            assert time.monotonic() < deadline, "the run never reached step 2"
            time.sleep(0.1)
        os.kill(int((pids / "rank1.pid").read_text()), signal.SIGTERM)  # rank 0 gets no signal
    except BaseException:
        _finish(proc, log_file, timeout=0)  # leave no run behind
        raise
    log = _finish(proc, log_file)
    step = int(json.loads((_one_sharded_checkpoint(out, log) / "trainer.json").read_text())["step"])
    assert f"interrupted at step {step}" in log  # said by rank 0, which was never signalled
    assert "exitcode  : 143" in log or "exitcode: 143" in log, log[-3000:]

    _torchrun(_cfg(out, steps=2000, ckpt_every=1000, resume=True, stop_after=2), tmp_path / "resumed.log")
    train(
        TrainConfig(**_cfg(tmp_path / "one", steps=2000, ckpt_every=1000, stop_after=step + 2)),
        model=tiny_model(),
        data=ToyStream(batch=4),
    )
    _same_loss_curve(tmp_path / "one", out, step + 3)


def test_data_running_out_on_one_rank_ends_every_rank_with_one_checkpoint(tmp_path, fsdp_gloo):
    """A rank whose data runs out tells the others through the step's all-reduce (one that stopped alone
    would leave them waiting in the next collective for ever): all end at the same step and save together."""
    out, log_file = tmp_path / "two", tmp_path / "torchrun.log"
    proc = _start(_cfg(out, steps=50, ckpt_every=100), log_file, TANDEM_TEST_RUN_OUT="1:3")
    log = _finish(proc, log_file)
    assert proc.returncode == 0, log[-3000:]
    assert "the data ran out at step 3" in log, log[-3000:]
    assert _one_sharded_checkpoint(out, log).name == "step_00000003", log[-3000:]
    assert (out / "model" / "config.json").is_file()


@pytest.mark.parametrize(
    "knob, message",
    [
        (("TANDEM_TEST_DATA_ERROR", "0:3"), "batch 3 is unreadable"),
        (("TANDEM_TEST_NAN", "1:4"), "step 4: the loss or its gradient is not finite"),
    ],
    ids=["data-error", "nan"],
)
def test_a_failure_on_one_rank_saves_every_ranks_steps_and_resumes(tmp_path, fsdp_gloo, knob, message):
    """Bad data one rank's stream cannot skip (every rank learns of it through the step's all-reduce), or a
    NaN loss on one rank (the global gradient norm is NaN on every rank, so none applies the update): the
    steps trained before it are saved together (one sharded checkpoint, the data state before the failed
    step), the run fails naming it, and a resume continues the loss curve of an unbroken run."""
    out, log_file = tmp_path / "two", tmp_path / "torchrun.log"
    proc = _start(_cfg(out, steps=6, ckpt_every=100), log_file, **dict([knob]))
    log = _finish(proc, log_file)
    assert proc.returncode != 0 and message in log, log[-3000:]
    assert _one_sharded_checkpoint(out, log).name == "step_00000003", log[-3000:]
    _torchrun(_cfg(out, steps=6, ckpt_every=100, resume=True), tmp_path / "resumed.log")
    train(
        TrainConfig(**_cfg(tmp_path / "one", steps=6, ckpt_every=100)),
        model=tiny_model(),
        data=ToyStream(batch=4),
    )
    _same_loss_curve(tmp_path / "one", out, 7)


@pytest.mark.slow
def test_each_rank_draws_its_own_dropout_masks_and_resumes_them_exactly(tmp_path, fsdp_gloo):
    """Every rank was seeded alike (for identical initial weights) and so drew the same dropout masks as the
    others. Now each rank has its own torch RNG stream: no mask of rank 1 is rank 0's; a run stopped and
    resumed draws the masks and logs the losses of an unbroken one, bit for bit; and a one-process checkpoint
    resumed by 2 ranks gives the new rank a stream of its own (it was handed a copy of rank 0's)."""

    def masks(d: Path, rank: int) -> list[str]:
        return (d / f"rank{rank}.txt").read_text().split()

    def losses(out: Path) -> list[float]:
        return [json.loads(x)["loss"] for x in (out / "metrics.jsonl").read_text().splitlines()]

    runs = {name: tmp_path / f"masks-{name}" for name in ("full", "split", "grow")}
    _torchrun(_cfg(tmp_path / "full"), tmp_path / "full.log", "0.1", TANDEM_TEST_MASKS=str(runs["full"]))
    full = [masks(runs["full"], r) for r in (0, 1)]
    assert len(full[0]) == len(full[1]) > 30 and not set(full[0]) & set(full[1])
    for kw in ({"stop_after": 3}, {"resume": True}):
        _torchrun(
            _cfg(tmp_path / "split", **kw),
            tmp_path / "split.log",
            "0.1",
            TANDEM_TEST_MASKS=str(runs["split"]),
        )
    assert [masks(runs["split"], r) for r in (0, 1)] == full
    assert losses(tmp_path / "split") == losses(tmp_path / "full")
    train(
        TrainConfig(**_cfg(tmp_path / "grow", stop_after=3)), model=tiny_model(0.1), data=ToyStream(batch=4)
    )
    _torchrun(
        _cfg(tmp_path / "grow", resume=True),
        tmp_path / "grow.log",
        "0.1",
        TANDEM_TEST_MASKS=str(runs["grow"]),
    )
    grown = [masks(runs["grow"], r) for r in (0, 1)]
    assert len(grown[0]) == len(grown[1]) > 10 and not set(grown[0]) & set(grown[1])


@pytest.mark.slow
def test_validation_under_two_ranks_is_the_one_process_validation(tmp_path, fsdp_gloo):
    """Each rank scores every other of the 3 validation batches (rank 1 runs one uncounted forward, as FSDP
    needs) and the sums are all-reduced: val_loss and its per-kind parts are the one-process values."""
    from test_train_helpers import val_batches

    cfg = _cfg(tmp_path / "one", steps=4, val_every=2)
    train(TrainConfig(**cfg), model=tiny_model(), data=ToyStream(batch=4), val=val_batches(3))
    _torchrun(_cfg(tmp_path / "two", steps=4, val_every=2), tmp_path / "two.log", TANDEM_TEST_VAL="3")

    def val_rows(out: Path) -> list[dict]:
        rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
        return [r for r in rows if "val_loss" in r]

    ref, got = val_rows(tmp_path / "one"), val_rows(tmp_path / "two")
    assert [r["step"] for r in got] == [r["step"] for r in ref] == [0, 2, 4]
    for a, b in zip(ref, got):
        assert a["val_examples"] == b["val_examples"] == 9 and a["val_tokens"] == b["val_tokens"]
        for key in ("val_loss", "val_denoise_loss", "val_clm_loss"):
            assert abs(a[key] - b[key]) <= 1e-5, (key, a, b)


@pytest.mark.slow
def test_validation_under_two_ranks_equals_one_process(tmp_path, fsdp_gloo):
    """Each rank scores every other validation batch and the sums are all-reduced: with 3 batches (rank 0
    scores two, rank 1 one, plus a forward FSDP needs and does not count) the logged val losses are one
    process's on the same model and batches."""
    from test_train_helpers import val_batches

    cfg = _cfg(tmp_path / "one", steps=2, ckpt_every=2, val_every=1)
    one = train(TrainConfig(**cfg), model=tiny_model(), data=ToyStream(batch=4), val=val_batches(3))
    _torchrun(
        _cfg(tmp_path / "two", steps=2, ckpt_every=2, val_every=1), tmp_path / "two.log", TANDEM_TEST_VAL="3"
    )
    rows = [json.loads(x) for x in (tmp_path / "two" / "metrics.jsonl").read_text().splitlines()]
    got = [r for r in rows if "val_loss" in r]
    assert [r["step"] for r in got] == [r["step"] for r in one.val_records] == [0, 1, 2]
    for a, b in zip(one.val_records, got):
        assert a["val_examples"] == b["val_examples"] == 9 and a["val_tokens"] == b["val_tokens"]
        for k in ("val_loss", "val_denoise_loss", "val_clm_loss"):
            assert abs(a[k] - b[k]) <= 1e-5, (k, a, b)
