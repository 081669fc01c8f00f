"""Exact resume: 2N steps in one go == N steps, a stop (or a SIGKILL mid-checkpoint), and a resume to 2N."""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from tandem.errors import TandemError
from tandem.train import Checkpointer, TrainConfig, train
from test_train_helpers import ToyStream, tiny_model

HELPER = Path(__file__).with_name("test_train_helpers.py")
# for a run in a subprocess to get somewhere: it imports torch first, on a slow CI machine too
PATIENCE_S = 180


@pytest.fixture
def launch():
    """Starts the helper trainer in a subprocess, its stderr into a log file (a pipe nobody reads could fill
    and block it); one still running when the test ends (it failed) is killed."""
    procs: list[subprocess.Popen] = []

    def start(cfg: dict, log: Path, env: dict | None = None, **popen) -> subprocess.Popen:
        with log.open("wb") as err:
            proc = subprocess.Popen(
                [sys.executable, str(HELPER), json.dumps(cfg), "4", "0.1"],
                env=dict(os.environ, OMP_NUM_THREADS="1", **(env or {})),
                stdout=subprocess.DEVNULL,
                stderr=err,
                **popen,
            )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _wait_until(condition, proc: subprocess.Popen, log: Path, what: str) -> None:
    deadline = time.monotonic() + PATIENCE_S
    while not condition():
        assert proc.poll() is None, f"the run exited with {proc.returncode}: " + log.read_text()[-2000:]
        assert time.monotonic() < deadline, f"{what} within {PATIENCE_S} s: " + log.read_text()[-2000:]
        time.sleep(0.05)


def _steps_logged(out: Path) -> int:
    metrics = out / "metrics.jsonl"
    return len(metrics.read_text().splitlines()) if metrics.exists() else 0


def _cfg(out, **kw) -> dict:
    base = dict(
        out=str(out),
        steps=8,
        warmup=2,
        lr=3e-3,
        min_lr=1e-4,
        log_every=1,
        ckpt_every=4,
        progress=False,
        tensorboard=False,
        plot=False,
        device="cpu",
    )
    return base | kw


def _losses(out) -> list[tuple[int, float]]:
    return [
        (r["step"], r["loss"])
        for r in map(json.loads, (Path(out) / "metrics.jsonl").read_text().splitlines())
    ]


def _reference(tmp_path) -> list[tuple[int, float]]:
    train(TrainConfig(**_cfg(tmp_path / "ref")), model=tiny_model(dropout=0.1), data=ToyStream())
    return _losses(tmp_path / "ref")


@pytest.mark.parametrize("prefetch", [0, 2])
def test_exact_resume_in_process(tmp_path, prefetch):
    """Also with batches built ahead in a background thread (a GPU run's default): the checkpoint holds the
    stream's state after the batches trained on, not after those built ahead."""
    ref = _reference(tmp_path)
    assert len(ref) == 8
    out = tmp_path / "split"
    kw = {"prefetch_batches": prefetch}
    train(TrainConfig(**_cfg(out, stop_after=4, **kw)), model=tiny_model(dropout=0.1), data=ToyStream())
    assert _losses(out) == ref[:4]
    # scramble every RNG and start from fresh objects, as a new process would
    random.seed(123), np.random.seed(123), torch.manual_seed(123)
    res = train(
        TrainConfig(**_cfg(out, resume=True, **kw)), model=tiny_model(dropout=0.1, seed=7), data=ToyStream()
    )
    assert res.step == 8
    assert _losses(out) == ref  # bit-identical, dropout included


def test_each_rank_has_its_own_dropout_stream_and_rank_0_keeps_a_single_processs(tmp_path):
    """Ranks were seeded alike (for identical initial weights) and drew identical dropout masks. _seed_rank,
    called once the model is built, gives rank r > 0 a stream from (seed, r); rank 0 keeps the one-process
    stream; a rank a checkpoint of fewer ranks has no state for is seeded from (seed, rank, step)."""
    from tandem.train.trainer import _seed_all, _seed_rank

    def mask(seed: int, rank: int, step=None) -> torch.Tensor:
        _seed_all(seed)
        torch.rand(5)  # the model's initialisation: the same on every rank
        if step is not None:
            torch.rand(3)  # the RNG state of the rank it was given (rank % saved ranks)
        _seed_rank(seed, rank, step)
        return torch.nn.functional.dropout(torch.ones(4096), 0.5) == 0

    def single(seed: int) -> torch.Tensor:
        _seed_all(seed)
        torch.rand(5)
        return torch.nn.functional.dropout(torch.ones(4096), 0.5) == 0

    masks = [mask(0, r) for r in range(4)] + [mask(1, 1), mask(0, 2, step=10), mask(0, 3, step=10)]
    assert torch.equal(masks[0], single(0))
    for i in range(len(masks)):
        for j in range(i):
            assert not torch.equal(masks[i], masks[j]), (i, j)
    assert torch.equal(mask(0, 2), masks[2]) and torch.equal(mask(0, 2, step=10), masks[5])  # deterministic


def test_sigkill_during_checkpoint_write_resumes_from_last_good(tmp_path, launch):
    out, log = tmp_path / "killed", tmp_path / "stderr.log"
    proc = launch(_cfg(out, ckpt_every=2), log, {"TANDEM_TEST_HANG_IN_CHECKPOINT": "6"})
    hang = out / "checkpoints" / ".tmp-step_00000006" / "HANGING"
    _wait_until(hang.exists, proc, log, "the run reached no checkpoint at step 6")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    ck = Checkpointer(out / "checkpoints")
    assert ck.latest().name == "step_00000004"  # the half-written step 6 is not picked
    assert (out / "checkpoints" / ".tmp-step_00000006" / "dcp").is_dir()
    # resume in this process; the stale temporary folder is cleaned up by the next save
    train(
        TrainConfig(**_cfg(out, ckpt_every=2, resume=True)), model=tiny_model(dropout=0.1), data=ToyStream()
    )
    assert _losses(out) == _reference(tmp_path)
    assert not list((out / "checkpoints").glob(".tmp-*"))
    assert ck.latest().name == "step_00000008"


def test_a_fresh_run_into_a_run_folder_refuses_and_loses_nothing(tmp_path):
    out = tmp_path / "run"
    train(TrainConfig(**_cfg(out)), model=tiny_model(), data=ToyStream())
    before = _losses(out)
    ck = Checkpointer(out / "checkpoints")
    names = [p.name for p in ck.complete()]
    with pytest.raises(TandemError, match="--resume.*--overwrite"):
        train(TrainConfig(**_cfg(out, steps=2, ckpt_every=1)), model=tiny_model(), data=ToyStream())
    assert _losses(out) == before and [p.name for p in ck.complete()] == names
    assert json.loads((out / "train_config.json").read_text())["steps"] == 8
    # --overwrite starts over: no checkpoint of the old run is left to be mixed up with the new one
    train(
        TrainConfig(**_cfg(out, steps=2, ckpt_every=1, overwrite=True)), model=tiny_model(), data=ToyStream()
    )
    assert [p.name for p in ck.complete()] == ["step_00000001", "step_00000002"]
    assert ck.latest().name == "step_00000002" and [s for s, _ in _losses(out)] == [1, 2]


def test_overwrite_drops_the_old_runs_own_tokenizer_and_refuses_resume_with_it(tmp_path):
    """--overwrite starts over, so the tokenizer the old run trained from its data into OUT/tokenizer goes
    too (a new --data would otherwise silently reuse it); --resume with --overwrite is contradictory."""
    out = tmp_path / "run"
    tok = str(out / "tokenizer")
    train(TrainConfig(**_cfg(out, stop_after=4, tokenizer=tok)), model=tiny_model(), data=ToyStream())
    (out / "tokenizer").mkdir()
    (out / "tokenizer" / "tokenizer.model").write_bytes(b"old")
    with pytest.raises(TandemError, match="pass one of them"):
        train(
            TrainConfig(**_cfg(out, resume=True, overwrite=True, tokenizer=tok)),
            model=tiny_model(),
            data=ToyStream(),
        )
    train(
        TrainConfig(**_cfg(out, steps=2, overwrite=True, tokenizer=tok)), model=tiny_model(), data=ToyStream()
    )
    assert not (out / "tokenizer").exists()


def test_resume_with_another_model_refuses_and_keeps_the_run_config(tmp_path, capsys):
    out = tmp_path / "run"
    train(TrainConfig(**_cfg(out, stop_after=4)), model=tiny_model(), data=ToyStream())
    saved = (out / "train_config.json").read_text()
    changed = _cfg(out, resume=True, model_overrides={"d_model": 64})
    with pytest.raises(TandemError, match="model_overrides.*--init-from"):
        train(TrainConfig(**changed), model=tiny_model(), data=ToyStream())
    assert (out / "train_config.json").read_text() == saved
    # other changes are allowed, and named
    res = train(
        TrainConfig(**_cfg(out, resume=True, steps=10, lr=1e-3)), model=tiny_model(), data=ToyStream()
    )
    assert res.step == 10
    err = capsys.readouterr().err
    assert "steps: 8 -> 10" in err and "lr: 0.003 -> 0.001" in err


@pytest.mark.parametrize(
    "change",
    [
        {"seq_len": 64},
        {"objective": "clm"},
        {"alpha": 0.3},
        {"seed": 1},
        {"drop_rate": 0.2},
        {"target_len": 32},
    ],
)
def test_resume_with_other_batches_refuses_and_keeps_the_run_config(tmp_path, change):
    """A setting that changes what the batches after the checkpoint are would continue the data stream's
    state into another run: refused before anything is loaded, naming the setting and the way out."""
    out = tmp_path / "run"
    train(TrainConfig(**_cfg(out, stop_after=4)), model=tiny_model(), data=ToyStream())
    saved = (out / "train_config.json").read_text()
    ((key, value),) = change.items()
    with pytest.raises(TandemError, match=f"other data settings \\({key}: .*--config .*--init-from"):
        train(TrainConfig(**_cfg(out, resume=True, **change)), model=tiny_model(), data=ToyStream())
    assert (out / "train_config.json").read_text() == saved
    assert Checkpointer(out / "checkpoints").latest().name == "step_00000004"


def test_resume_with_the_default_objective_settings_spelled_out_continues(tmp_path, capsys):
    """--drop-rate 0.15, --mean-span 3, --denoise-prob 0.8 and a --target-len equal to --seq-len are what the
    unset values mean: the same batches, so a resume that gives them continues without a warning (it was
    refused as "drop_rate: null -> 0.15")."""
    out = tmp_path / "run"
    train(TrainConfig(**_cfg(out, stop_after=4, seq_len=64)), model=tiny_model(), data=ToyStream())
    capsys.readouterr()
    same = dict(drop_rate=0.15, mean_span=3.0, denoise_prob=0.8, target_len=64)
    res = train(
        TrainConfig(**_cfg(out, resume=True, seq_len=64, **same)), model=tiny_model(), data=ToyStream()
    )
    assert res.step == 8
    err = capsys.readouterr()
    assert "changed" not in err.out + err.err


def test_resume_with_another_batch_grouping_warns_and_continues(tmp_path, capsys):
    """--batch-size / --grad-accum group the same examples into other batches (a run moving to a machine
    with less memory): named in a warning, and the run goes on from its checkpoint."""
    out = tmp_path / "run"
    train(TrainConfig(**_cfg(out, stop_after=4)), model=tiny_model(), data=ToyStream())
    capsys.readouterr()
    train(
        TrainConfig(**_cfg(out, resume=True, batch_size=4, grad_accum=2)),
        model=tiny_model(),
        data=ToyStream(),
    )
    err = capsys.readouterr()
    warning = err.out + err.err
    assert "warning: --resume with settings changed" in warning
    assert "batch_size" in warning and "grad_accum" in warning
    assert [step for step, _ in _losses(out)] == list(range(1, 9))


def test_resume_accepts_another_spelling_of_the_run_folder(tmp_path, monkeypatch):
    """The run's own tokenizer (OUT/tokenizer, where pretrain trains it) is the same tokenizer whether OUT
    is given relative to one working directory or as an absolute path."""
    monkeypatch.chdir(tmp_path)
    train(
        TrainConfig(**_cfg("run", stop_after=4, tokenizer="run/tokenizer")),
        model=tiny_model(),
        data=ToyStream(),
    )
    out = tmp_path / "run"
    monkeypatch.chdir(tmp_path.parent)
    res = train(
        TrainConfig(**_cfg(out, resume=True, tokenizer=str(out / "tokenizer"))),
        model=tiny_model(),
        data=ToyStream(),
    )
    assert res.step == 8


def test_loading_a_checkpoint_into_another_model_is_a_clear_error(tmp_path):
    out = tmp_path / "run"
    train(TrainConfig(**_cfg(out, steps=2)), model=tiny_model(), data=ToyStream())
    from tandem.config import ModelConfig
    from tandem.model import Seq2SeqLM
    from tandem.train import build_optimizer
    from tandem.train.module import Seq2SeqTrainModule
    from test_train_helpers import VOCAB

    other = Seq2SeqTrainModule(
        Seq2SeqLM(ModelConfig.preset("tiny", vocab_size=VOCAB, d_model=64, num_heads=2))
    )
    ck = Checkpointer(out / "checkpoints")
    with pytest.raises(TandemError, match="step_00000002.*another model"):
        ck.load(ck.latest(), other, build_optimizer(other, lr=1e-3))


def test_ctrl_c_saves_a_checkpoint_at_the_step_reached_and_resumes_exactly(tmp_path, launch):
    out, log = tmp_path / "interrupted", tmp_path / "stderr.log"
    cfg = _cfg(out, steps=2000, ckpt_every=1000)
    proc = launch(
        cfg,
        log,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as in a terminal
    )
    _wait_until(lambda: _steps_logged(out) >= 3, proc, log, "the run reached no step 3")
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=PATIENCE_S)
    err = log.read_text()
    assert proc.returncode != 0  # KeyboardInterrupt goes on to the caller once the checkpoint is saved
    last = Checkpointer(out / "checkpoints").latest()
    assert last is not None, err[-2000:]  # nothing trained before the interrupt is lost
    step = int(json.loads((last / "trainer.json").read_text())["step"])
    assert step >= 3 and "--resume" in err
    # resuming continues exactly as an uninterrupted run would have
    train(
        TrainConfig(**_cfg(out, steps=2000, ckpt_every=1000, resume=True, stop_after=2)),
        model=tiny_model(dropout=0.1),
        data=ToyStream(),
    )
    ref = tmp_path / "ref"
    train(
        TrainConfig(**_cfg(ref, steps=2000, ckpt_every=1000, stop_after=step + 2)),
        model=tiny_model(dropout=0.1),
        data=ToyStream(),
    )
    assert _losses(out) == _losses(ref)


def test_sigterm_saves_a_checkpoint_exits_143_and_resumes_exactly(tmp_path, launch):
    """Cluster preemption (SLURM, Kubernetes: SIGTERM, then SIGKILL after a grace period) is a Ctrl-C."""
    out, log = tmp_path / "preempted", tmp_path / "stderr.log"
    proc = launch(_cfg(out, steps=2000, ckpt_every=1000), log)
    _wait_until(lambda: _steps_logged(out) >= 3, proc, log, "the run reached no step 3")
    proc.send_signal(signal.SIGTERM)
    proc.send_signal(signal.SIGTERM)  # delivered twice (SLURM signals every process, torchrun forwards)
    proc.wait(timeout=PATIENCE_S)
    err = log.read_text()
    assert proc.returncode == 143, err[-2000:]  # 128 + SIGTERM, as the shell reports a terminated job
    last = Checkpointer(out / "checkpoints").latest()
    assert last is not None, err[-2000:]
    step = int(json.loads((last / "trainer.json").read_text())["step"])
    assert step >= 3 and "--resume" in err
    train(
        TrainConfig(**_cfg(out, steps=2000, ckpt_every=1000, resume=True, stop_after=2)),
        model=tiny_model(dropout=0.1),
        data=ToyStream(),
    )
    ref = tmp_path / "ref"
    train(
        TrainConfig(**_cfg(ref, steps=2000, ckpt_every=1000, stop_after=step + 2)),
        model=tiny_model(dropout=0.1),
        data=ToyStream(),
    )
    assert _losses(out) == _losses(ref)


class _PreemptedStream(ToyStream):
    """Sends this process SIGTERM as batch 4 is drawn (a preemption), and again when the trainer closes the
    stream in its wrap-up: the same preemption delivered twice, or torchrun's SIGTERM to a rank that is still
    finishing when another rank has exited."""

    def __next__(self) -> dict:
        if self.pos == 3:
            os.kill(os.getpid(), signal.SIGTERM)
        return super().__next__()

    def close(self) -> None:
        os.kill(os.getpid(), signal.SIGTERM)


def test_a_sigterm_during_the_wrap_up_after_a_stop_is_only_recorded(tmp_path, capsys):
    """After the stop, the run still writes its files and says how to resume; a SIGTERM then must not get
    the default action, which would kill the process half-way through (the handlers used to be restored
    before the wrap-up)."""
    from tandem.train.trainer import TrainingInterrupted

    reached: list[int] = []  # SIGTERMs that got past the trainer: SIG_DFL would have killed the run there
    prev = signal.signal(signal.SIGTERM, lambda signum, frame: reached.append(signum))
    try:
        with pytest.raises(TrainingInterrupted) as e:
            train(
                TrainConfig(**_cfg(tmp_path / "run", steps=2000, ckpt_every=1000)),
                model=tiny_model(),
                data=_PreemptedStream(),
            )
    finally:
        signal.signal(signal.SIGTERM, prev)
    assert reached == []
    assert e.value.exit_code == 143 and e.value.step == 4
    assert "interrupted at step 4" in capsys.readouterr().err
    assert Checkpointer(tmp_path / "run" / "checkpoints").latest().name == "step_00000004"


def test_a_resume_that_cannot_load_its_checkpoint_keeps_the_run_config(tmp_path):
    out = tmp_path / "run"
    train(TrainConfig(**_cfg(out, stop_after=4)), model=tiny_model(), data=ToyStream())
    saved = (out / "train_config.json").read_text()
    # a torchrun run resumed without torchrun, with a stream that cannot combine the ranks' data states:
    # refused after the settings checks passed
    meta_file = Checkpointer(out / "checkpoints").latest() / "trainer.json"
    meta = json.loads(meta_file.read_text())
    meta_file.write_text(json.dumps(meta | {"world_size": 2}))
    with pytest.raises(TandemError, match="written by 2 ranks.*no load_resharded.*resume with 2 processes"):
        train(TrainConfig(**_cfg(out, resume=True, lr=1e-3)), model=tiny_model(), data=_SameWorldStream())
    assert (out / "train_config.json").read_text() == saved
    # one whose rank files are not all there (a damaged checkpoint) is named
    with pytest.raises(TandemError, match="rank_00001.pt is missing"):
        train(TrainConfig(**_cfg(out, resume=True, lr=1e-3)), model=tiny_model(), data=ToyStream())
    assert (out / "train_config.json").read_text() == saved  # still the settings the checkpoints hold
    meta_file.write_text(json.dumps(meta))
    train(TrainConfig(**_cfg(out, resume=True, lr=1e-3)), model=tiny_model(), data=ToyStream())
    assert json.loads((out / "train_config.json").read_text())["lr"] == 1e-3  # written once it loaded


class _SameWorldStream:
    """A resumable stream that knows nothing of other world sizes (no load_resharded)."""

    def __init__(self) -> None:
        self.toy = ToyStream()

    def __iter__(self):
        return self

    def __next__(self) -> dict:
        return next(self.toy)

    def state_dict(self) -> dict:
        return self.toy.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.toy.load_state_dict(state)


class _FailingStream(ToyStream):
    """Raises as batch `fail_at` is drawn (a data error the stream could not skip); with grad_accum 2 the
    step's first micro-batch was drawn already."""

    def __init__(self, fail_at: int, error: type[Exception] = TandemError) -> None:
        super().__init__()
        self.fail_at, self.error = fail_at, error

    def __next__(self) -> dict:
        if self.pos == self.fail_at:
            raise self.error(f"bad data in batch {self.pos}")
        return super().__next__()


@pytest.mark.parametrize("error", [TandemError, RuntimeError])
def test_a_data_error_mid_run_keeps_the_steps_trained_and_resumes_exactly(tmp_path, capsys, error):
    ref = _reference(tmp_path)
    out = tmp_path / "run"
    with pytest.raises(error, match="bad data in batch 5"):  # steps 1-5 trained, no checkpoint due until 100
        train(
            TrainConfig(**_cfg(out, ckpt_every=100)),
            model=tiny_model(dropout=0.1),
            data=_FailingStream(5, error),
        )
    assert Checkpointer(out / "checkpoints").latest().name == "step_00000005"
    assert "the data stream failed at step 5" in capsys.readouterr().err
    assert (out / "metrics.jsonl").exists()
    res = train(
        TrainConfig(**_cfg(out, ckpt_every=100, resume=True)), model=tiny_model(dropout=0.1), data=ToyStream()
    )
    assert res.step == 8 and _losses(out) == ref  # the failed step is drawn again from the batch it failed on


def test_a_data_error_midway_through_accumulation_saves_the_state_before_the_step(tmp_path):
    kw = dict(grad_accum=2, ckpt_every=100)
    train(TrainConfig(**_cfg(tmp_path / "ref", **kw)), model=tiny_model(), data=ToyStream())
    out = tmp_path / "run"
    with pytest.raises(TandemError, match="batch 7"):  # step 4's second micro-batch
        train(TrainConfig(**_cfg(out, **kw)), model=tiny_model(), data=_FailingStream(7))
    assert Checkpointer(out / "checkpoints").latest().name == "step_00000003"
    train(TrainConfig(**_cfg(out, resume=True, **kw)), model=tiny_model(), data=ToyStream())
    assert _losses(out) == _losses(tmp_path / "ref")


@pytest.mark.parametrize("freeze", [3, 4, 5])
def test_resume_around_the_encoder_unfreeze_step_is_exact(tmp_path, freeze):
    """A checkpoint written at the unfreeze step itself (the encoder still frozen, no optimizer state for
    it) loads and continues as the uninterrupted run does; so do those just before and after it."""
    ref = tmp_path / "ref"
    train(TrainConfig(**_cfg(ref, freeze_encoder_steps=freeze)), model=tiny_model(), data=ToyStream())
    out = tmp_path / "split"
    cfg = _cfg(out, freeze_encoder_steps=freeze)
    train(TrainConfig(**cfg, stop_after=4), model=tiny_model(), data=ToyStream())
    res = train(TrainConfig(**cfg, resume=True), model=tiny_model(seed=7), data=ToyStream())
    assert res.step == 8
    assert _losses(out) == _losses(ref)


def test_tensorboard_shows_each_step_once_after_a_resume_from_an_earlier_checkpoint(tmp_path):
    """A run killed after step 5 resumes from its step-3 checkpoint and redoes steps 4 and 5: TensorBoard
    drops the first run's events of those steps, as metrics.jsonl drops their rows."""
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "run"
    cfg = _cfg(out, steps=7, ckpt_every=3, tensorboard=True)
    train(TrainConfig(**cfg, stop_after=5), model=tiny_model(), data=ToyStream())
    ckpt = Checkpointer(out / "checkpoints")
    for path in ckpt.complete()[1:]:  # the kill came before step 5's checkpoint
        shutil.rmtree(path)
    (ckpt.root / "latest").unlink()
    assert ckpt.latest().name == "step_00000003"
    train(TrainConfig(**cfg, resume=True), model=tiny_model(), data=ToyStream())
    ea = EventAccumulator(str(out / "tensorboard"))
    ea.Reload()
    events = ea.Scalars("train/loss")
    assert [e.step for e in events] == list(range(1, 8))
    assert [e.value for e in events] == pytest.approx([loss for _, loss in _losses(out)])


def test_a_resume_stopped_while_it_drops_the_rows_to_redo_keeps_the_log(tmp_path, monkeypatch):
    """A resume drops the rows after its checkpoint from metrics.jsonl. Rewritten in place, a run stopped
    during the rewrite lost the log of every step before (a SIGTERM 9 s into a resume of a 500k-row log left
    151k rows; here a full disk): the file is replaced whole instead."""
    import errno

    from tandem.train.metrics import MetricsLogger, read_metrics

    path = tmp_path / "metrics.jsonl"
    path.write_text("".join(json.dumps({"step": s, "loss": 1.0 / s}) + "\n" for s in range(1, 11)))
    write_text = Path.write_text

    def full_disk(self, data, *args, **kwargs):  # a third written, then no space left
        write_text(self, data[: len(data) // 3], *args, **kwargs)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full_disk)
    with pytest.raises(OSError):
        MetricsLogger(tmp_path, tensorboard=False, resume_step=6)
    monkeypatch.undo()
    assert [r["step"] for r in read_metrics(path)] == list(range(1, 11))
    MetricsLogger(tmp_path, tensorboard=False, resume_step=6).close()  # with room again
    assert [r["step"] for r in read_metrics(path)] == list(range(1, 7))


@pytest.mark.parametrize("killed", [False, True])
def test_a_log_row_whose_window_spans_the_resume_matches_the_uninterrupted_run(tmp_path, killed):
    """--log-every 4: a stop after step 3 (a row of its own) or a kill after step 7 (back to the step-6
    checkpoint) leaves a log window open; the rows of steps 4 and 8 are those of the uninterrupted run."""
    ref = tmp_path / "ref"
    cfg = _cfg(ref, log_every=4, ckpt_every=3)
    train(TrainConfig(**cfg), model=tiny_model(), data=ToyStream())
    out = tmp_path / "split"
    cfg = _cfg(out, log_every=4, ckpt_every=3)
    train(TrainConfig(**cfg, stop_after=7 if killed else 3), model=tiny_model(), data=ToyStream())
    if killed:  # the kill came before step 7's checkpoint
        shutil.rmtree(Checkpointer(out / "checkpoints").latest())
    train(TrainConfig(**cfg, resume=True), model=tiny_model(), data=ToyStream())
    assert [s for s, _ in _losses(ref)] == [4, 8]
    assert [r for r in _losses(out) if r[0] % 4 == 0] == _losses(ref)


class _SignalledStream(ToyStream):
    """Sends this process `sig` once, as the batch of step 6 is drawn (Ctrl-C or a preemption mid-run)."""

    def __init__(self, sig: int) -> None:
        super().__init__()
        self.sig = sig

    def __next__(self) -> dict:
        if self.pos == 5 and self.sig:
            os.kill(os.getpid(), self.sig)
            self.sig = 0
        return super().__next__()


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_a_signal_stop_inside_a_log_window_logs_a_row_of_its_own(tmp_path, signame):
    """--log-every 4, stopped by a signal during step 6: the run logs a row at step 6 (the steps 5-6 of the
    open window), as a --stop-after 6 stop does, and after --resume the row of step 8 is the uninterrupted
    run's. A signal stop used to log no row, so the last losses before it were not shown."""
    from tandem.train.trainer import TrainingInterrupted

    ref = tmp_path / "ref"
    train(
        TrainConfig(**_cfg(ref, log_every=4, ckpt_every=3, stop_after=6)),
        model=tiny_model(),
        data=ToyStream(),
    )
    train(
        TrainConfig(**_cfg(ref, log_every=4, ckpt_every=3, resume=True)), model=tiny_model(), data=ToyStream()
    )
    out = tmp_path / "sig"
    cfg = _cfg(out, log_every=4, ckpt_every=3)
    with pytest.raises(TrainingInterrupted) as e:
        train(TrainConfig(**cfg), model=tiny_model(), data=_SignalledStream(getattr(signal, signame)))
    assert e.value.step == 6
    assert [s for s, _ in _losses(out)] == [4, 6]
    train(TrainConfig(**cfg, resume=True), model=tiny_model(), data=ToyStream())
    assert _losses(out) == _losses(ref)
    assert [s for s, _ in _losses(ref)] == [4, 6, 8]


def test_a_resume_of_a_finished_run_writes_a_final_model_the_kill_cut_short(tmp_path, capsys):
    """Killed after the last step's checkpoint, while `model/` was written: --resume has no step left to
    train but writes the final model from that checkpoint (not an earlier run's, nor none)."""
    from safetensors.torch import load_file

    out = tmp_path / "run"
    train(TrainConfig(**_cfg(out, steps=4)), model=tiny_model(), data=ToyStream())
    final = load_file(out / "model" / "model.safetensors")
    shutil.rmtree(out / "model")
    res = train(TrainConfig(**_cfg(out, steps=4, resume=True)), model=tiny_model(seed=7), data=ToyStream())
    assert res.step == 4 and res.model_dir == out / "model"
    again = load_file(out / "model" / "model.safetensors")
    assert again.keys() == final.keys() and all(torch.equal(again[k], final[k]) for k in final)
    assert "nothing to train" in capsys.readouterr().out


def _nan_at_forward(model, n: int):
    """Makes the encoder's output NaN in the model's `n`-th training forward (1-based): that step's loss and
    gradients are not finite."""
    calls = [0]

    def hook(module, args, out):
        if not module.training:
            return out
        calls[0] += 1
        return (out[0] * float("nan"), *out[1:]) if calls[0] == n else out

    return model.encoder.register_forward_hook(hook)


def test_a_non_finite_step_is_not_applied_and_the_steps_before_it_resume_exactly(tmp_path):
    """A NaN loss at step 6 (checkpoints every 7, one log row at the end): the update is skipped, steps 1-5
    are saved (the checkpoint due at 7 would otherwise have held NaN weights), the error names the step, and a
    resume continues as the run that never saw the NaN."""
    out = tmp_path / "run"
    model = tiny_model(dropout=0.1)
    _nan_at_forward(model, 6)
    with pytest.raises(TandemError, match=r"step 6: the loss or its gradient is not finite.*--resume .*--lr"):
        train(TrainConfig(**_cfg(out, log_every=8, ckpt_every=7)), model=model, data=ToyStream())
    last = Checkpointer(out / "checkpoints").latest()
    assert last.name == "step_00000005"
    assert all(torch.isfinite(p).all() for p in model.parameters())  # the NaN step changed nothing
    assert not (out / "model").exists()
    res = train(
        TrainConfig(**_cfg(out, log_every=8, resume=True)), model=tiny_model(dropout=0.1), data=ToyStream()
    )
    assert res.step == 8
    logged = _losses(out)
    assert len(logged) == 1 and logged[0][0] == 8
    # the one row (steps 1-8, its window kept in the step-5 checkpoint) is the uninterrupted run's
    reference = tmp_path / "ref8"
    train(TrainConfig(**_cfg(reference, log_every=8)), model=tiny_model(dropout=0.1), data=ToyStream())
    assert logged == _losses(reference)


@pytest.mark.parametrize(
    "found_at, run, stream",
    [
        ("step 7's clipping", dict(log_every=8, ckpt_every=7), {}),
        ("a checkpoint due at step 6", dict(log_every=8, ckpt_every=6), {}),
        ("a log row due at step 6", dict(log_every=6, ckpt_every=100), {}),
        ("the data running out at step 7", dict(log_every=8, ckpt_every=100), dict(limit=6)),
        ("the data failing at step 7", dict(log_every=8, ckpt_every=100), dict(fail_at=6)),
    ],
)
def test_a_non_finite_step_found_one_step_late_is_undone(tmp_path, found_at, run, stream):
    """One process with a fused AdamW reads a step's gradient norm back only while the next step's kernels are
    queued; the device skips a non-finite update meanwhile. However the NaN at step 6 is found, the run stops
    with the same error, checkpoint and weights as when it was read at once: steps 1-5, and a resume goes on
    as the run that never saw the NaN (no log row holds the NaN step)."""
    from tandem.train.optim import can_defer_norm

    out = tmp_path / "run"
    model = tiny_model(dropout=0.1)
    _nan_at_forward(model, 6)
    seen = []
    real = can_defer_norm

    def spy(opt):
        seen.append(real(opt))
        return seen[-1]

    import tandem.train.trainer as trainer_mod

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(trainer_mod, "can_defer_norm", spy)
        with pytest.raises(TandemError, match=r"step 6: the loss or its gradient is not finite"):
            train(TrainConfig(**_cfg(out, **run)), model=model, data=ToyStream(**stream))
    assert seen == [True], found_at  # the run took the deferred path
    assert Checkpointer(out / "checkpoints").latest().name == "step_00000005", found_at
    assert all(torch.isfinite(p).all() for p in model.parameters())
    rows = (
        [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
        if (out / "metrics.jsonl").exists()
        else []
    )
    assert all(math.isfinite(r.get("loss", 0.0)) for r in rows), rows
    res = train(TrainConfig(**_cfg(out, resume=True, **run)), model=tiny_model(dropout=0.1), data=ToyStream())
    assert res.step == 8
    reference = tmp_path / "ref"
    train(TrainConfig(**_cfg(reference, **run)), model=tiny_model(dropout=0.1), data=ToyStream())
    assert _losses(out) == _losses(reference), found_at
