"""Exact resume of `fit` (fine-tuning and distillation) and of `tandem finetune` / `tandem distill`.

A run stopped by a signal, by --stop-after, by a crash between checkpoints or by a SIGKILL in the middle of a
checkpoint write, then resumed, gives the per-step losses, dev metrics and final weights of a run that was
never stopped (CPU, fp32, dropout on: bit for bit)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from tandem.cli import main
from tandem.config import ModelConfig
from tandem.distill import DistillConfig, distill, generic_examples
from tandem.errors import TandemError
from tandem.finetune import Encoded, TrainConfig, evaluate_loss, fit
from tandem.model import Seq2SeqLM
from tandem.train import Checkpointer
from tandem.train.trainer import TrainingInterrupted
from test_finetune import write_snips

V = 40


def tiny(seed: int = 0, **kw) -> Seq2SeqLM:
    torch.manual_seed(seed)
    dims = dict(d_model=32, num_heads=2, ffn_dim=64, encoder_layers=1, decoder_layers=1, max_positions=32)
    return Seq2SeqLM(ModelConfig.preset("tiny", vocab_size=V, dropout=0.1, **(dims | kw)))


def toy(n: int, seed: int) -> list[Encoded]:
    """Copy task: target = source reversed, ids 7..V-1, EOS (2) at the end."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(n):
        L = int(torch.randint(3, 7, (1,), generator=g))
        src = torch.randint(7, V, (L,), generator=g).tolist()
        out.append(Encoded(i, src + [2], src[::-1] + [2]))
    return out


TRAIN, DEV = toy(22, 0), toy(8, 1)  # batch 4: 6 batches an epoch, the last one short


def dev_eval(m) -> dict[str, float]:
    return {"loss": evaluate_loss(m, DEV)}


def cfg(**kw) -> TrainConfig:
    base = dict(
        max_steps=16, batch_size=4, lr=3e-3, warmup_ratio=0.1, eval_every=3, log_every=1, ckpt_every=5
    )
    return TrainConfig(**(base | dict(device="cpu") | kw))


def rows(out: Path) -> list[dict]:
    """metrics.jsonl without the timings."""
    lines = (Path(out) / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(x).items() if k != "tokens_per_s"} for x in lines]


def state(m) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in m.state_dict().items()}


def saved(d: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(Path(d) / "model.safetensors"))


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def signal_at(step: int | str, sig: int = signal.SIGTERM):
    """A `log` for fit that sends `sig` to this process when it logs step `step` ("step 4/10": of that many)."""
    prefix = f"step {step}/" if isinstance(step, int) else f"step {step} "

    def log(line: str) -> None:
        if line.startswith(prefix):
            os.kill(os.getpid(), sig)

    return log


def scramble() -> None:
    """Every global RNG somewhere else, as in a new process."""
    random.seed(123), np.random.seed(123), torch.manual_seed(123)


# ============================================================================================ fit
@pytest.mark.parametrize("stop", [5, 6, 7])  # 5: a periodic checkpoint; 6: an eval step, end of epoch 1
def test_fit_resumed_after_a_signal_matches_an_uninterrupted_run(stop, tmp_path):
    ref_model = tiny()
    ref = fit(ref_model, TRAIN, cfg(), dev_eval, out_dir=tmp_path / "ref", log=None)
    out = tmp_path / "split"
    with pytest.raises(TrainingInterrupted) as e:
        fit(tiny(), TRAIN, cfg(), dev_eval, out_dir=out, log=signal_at(stop))
    assert e.value.step == stop and Checkpointer(out / "checkpoints").latest().name == f"step_{stop:08d}"
    scramble()
    model = tiny(seed=5)  # other initial weights: the checkpoint's replace them
    res = fit(model, TRAIN, cfg(resume=True), dev_eval, out_dir=out, log=None)
    assert rows(out) == rows(tmp_path / "ref")  # every step's loss and lr, every dev evaluation
    assert (res.steps, res.best_step, res.best_metric, res.history) == (
        ref.steps,
        ref.best_step,
        ref.best_metric,
        ref.history,
    )
    assert res.start_step == stop and ref.start_step == 0
    assert same(state(model), state(ref_model))  # the best weights, restored
    assert same(saved(out / "best"), saved(tmp_path / "ref" / "best"))
    fitted = json.loads((out / "fit.json").read_text())
    assert fitted["interrupted"] is None and fitted["steps"] == 16


def test_fit_resumes_from_the_last_checkpoint_after_a_crash_and_ignores_a_half_written_one(tmp_path):
    """A crash (here an exception at step 9; kill -9 alike) loses the steps after the last checkpoint (5): the
    resumed run redoes them, drops their metrics rows and rewrites best/, which the crashed run had already
    replaced with a later best (step 6), to the checkpoint's best."""
    best_at: dict[str, dict] = {}  # best/ as a run saw it when it logged a line

    def watch(run: Path, prefix: str, key: str):
        def log(line: str) -> None:
            if line.startswith(prefix):
                best_at[key] = saved(run / "best")

        return log

    ref_model = tiny()
    ref_dir = tmp_path / "ref"
    ref = fit(
        ref_model, TRAIN, cfg(patience=3), dev_eval, out_dir=ref_dir, log=watch(ref_dir, "step 6/", "ref")
    )
    out = tmp_path / "crashed"

    def crash(line: str) -> None:
        if line.startswith("step 9/"):
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        fit(tiny(), TRAIN, cfg(patience=3), dev_eval, out_dir=out, log=crash)
    dev = {r["step"]: r["dev_loss"] for r in rows(out) if "dev_loss" in r}
    assert 9 not in dev and dev[6] < dev[3]  # best/ was replaced at step 6, after the checkpoint
    ck = out / "checkpoints"
    assert Checkpointer(ck).latest().name == "step_00000005"
    # what a kill -9 during a later write leaves behind: a temporary folder, and a folder without trainer.json
    (ck / ".tmp-step_00000010" / "dcp").mkdir(parents=True)
    (ck / "step_00000010" / "dcp").mkdir(parents=True)
    scramble()
    model = tiny(seed=3)
    res = fit(
        model, TRAIN, cfg(patience=3, resume=True), dev_eval, out_dir=out, log=watch(out, "step 6/", "split")
    )
    assert res.start_step == 5
    assert same(best_at["split"], best_at["ref"])  # back to the step-3 best before step 6 was redone
    assert rows(out) == rows(tmp_path / "ref")
    assert (res.steps, res.best_step, res.history) == (ref.steps, ref.best_step, ref.history)
    assert same(state(model), state(ref_model))
    assert same(saved(out / "best"), saved(tmp_path / "ref" / "best"))
    assert not (ck / ".tmp-step_00000010").exists()


def test_fit_started_over_from_step_0_drops_the_metrics_rows_of_the_earlier_attempt(tmp_path):
    """A run killed before its first checkpoint starts again from step 0, with resume too (as a distillation
    stage does when an earlier stage has checkpoints): its metrics.jsonl held the killed attempt's rows, and
    the redone steps' rows were appended after them (steps 1-3 twice)."""
    fit(tiny(), TRAIN, cfg(), dev_eval, out_dir=tmp_path / "ref", log=None)
    for resume in (True, False):
        out = tmp_path / f"resume_{resume}"

        def crash(line: str) -> None:
            if line.startswith("step 4/"):
                raise RuntimeError("power cut")

        with pytest.raises(RuntimeError, match="power cut"):
            fit(tiny(), TRAIN, cfg(), dev_eval, out_dir=out, log=crash)
        assert Checkpointer(out / "checkpoints").latest() is None and len(rows(out)) == 5
        res = fit(tiny(), TRAIN, cfg(resume=resume), dev_eval, out_dir=out, log=None)
        assert res.start_step == 0
        assert rows(out) == rows(tmp_path / "ref"), resume


def test_fit_refuses_to_resume_on_other_data_or_batches(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(TrainingInterrupted):
        fit(tiny(), TRAIN, cfg(), dev_eval, out_dir=out, log=signal_at(4))
    with pytest.raises(TandemError, match=r"training examples differ"):
        fit(tiny(), toy(22, 9), cfg(resume=True), dev_eval, out_dir=out, log=None)
    with pytest.raises(TandemError, match=r"batch_size: 4 -> 8"):
        fit(tiny(), TRAIN, cfg(resume=True, batch_size=8), dev_eval, out_dir=out, log=None)
    with pytest.raises(TandemError, match=r"metric"):
        fit(tiny(), TRAIN, cfg(resume=True, metric="exact_match"), dev_eval, out_dir=out, log=None)
    with pytest.raises(TandemError, match=r"d_model"):
        fit(tiny(d_model=16, ffn_dim=32), TRAIN, cfg(resume=True), dev_eval, out_dir=out, log=None)
    # nothing was overwritten by the refused attempts: the run still resumes
    assert fit(tiny(), TRAIN, cfg(resume=True), dev_eval, out_dir=out, log=None).steps == 16


def test_fit_refuses_to_resume_a_checkpoint_past_the_steps_it_is_now_set_to(tmp_path):
    """A checkpoint at step 8 resumed with max_steps 5 logged "resumed ... at step 8/5" and ended as a
    finished run of 8 steps; now an error naming the step and the flags. Resuming with max_steps equal to the
    checkpoint's step finishes the run there."""
    out = tmp_path / "run"
    fit(tiny(), TRAIN, cfg(stop_after=8), dev_eval, out_dir=out, log=None)
    with pytest.raises(TandemError, match=r"it is at step 8, past the 5 steps .*--max-steps of at least 8"):
        fit(tiny(), TRAIN, cfg(max_steps=5, resume=True), dev_eval, out_dir=out, log=None)
    assert fit(tiny(), TRAIN, cfg(max_steps=8, resume=True), dev_eval, out_dir=out, log=None).steps == 8


def test_a_fresh_fit_replaces_the_checkpoints_of_an_earlier_run(tmp_path):
    with pytest.raises(TrainingInterrupted):
        fit(tiny(), TRAIN, cfg(max_steps=30), dev_eval, out_dir=tmp_path, log=signal_at(12))
    fit(tiny(), TRAIN, cfg(max_steps=4), dev_eval, out_dir=tmp_path, log=None)
    assert [p.name for p in Checkpointer(tmp_path / "checkpoints").complete()] == ["step_00000004"]


# ============================================================================================ distill
class Tok:
    clm_id, eos_id, vocab_size, pad_id = 4, 2, V, 1

    def encode(self, text):
        return [7 + (ord(c) % (V - 7)) for c in text.replace(" ", "")]


GENERIC_TEXTS = [f"{w} unlabelled text number {i}" for i, w in enumerate("abcdefghij")]


def distill_cfg(**kw) -> DistillConfig:
    base = dict(max_steps=10, batch_size=4, lr=3e-3, eval_every=4, log_every=1, ckpt_every=3, device="cpu")
    base |= dict(topk=4, onpolicy=0.3, onpolicy_max_new_tokens=4, hidden_weight=0.5, generic_epochs=1)
    return DistillConfig(**(base | kw))


def run_distill(out: Path, seed: int, log=None, **kw):
    teacher = tiny(seed=1, encoder_layers=2, decoder_layers=2)
    student = tiny(seed=seed)
    generic = generic_examples(GENERIC_TEXTS, Tok())
    return distill(teacher, student, TRAIN, distill_cfg(**kw), dev_eval, out, generic=generic, log=log)


# generic: 3 steps; task: 10, 6 an epoch (from step 7 on the top-k logits come from the cache, unless the
# hidden-state loss needs the teacher's forward anyway)
@pytest.mark.parametrize("stage, stop, hidden", [("generic", 2, 0.5), ("task", 4, 0.0), ("task", 8, 0.5)])
def test_distill_resumed_after_a_signal_matches_an_uninterrupted_run(stage, stop, hidden, tmp_path):
    """Logit KD on top-k logits (cached), hidden-state projections, on-policy batches and a generic stage:
    stopped in either stage and resumed, it is the run that was never stopped."""
    ref = run_distill(tmp_path / "ref", seed=0, hidden_weight=hidden)
    out = tmp_path / "split"
    with pytest.raises(TrainingInterrupted):
        stop_at = signal_at(stop if stage == "generic" else f"{stop}/10")
        run_distill(out, seed=0, log=stop_at, hidden_weight=hidden)
    assert Checkpointer(out / stage / "checkpoints").latest().name == f"step_{stop:08d}"
    scramble()
    res = run_distill(out, seed=7, resume=True, hidden_weight=hidden)
    if not hidden:
        assert ref.cache_hits > 0 and res.cache_hits == ref.cache_hits
    for name in ("generic", "task"):
        assert rows(out / name) == rows(tmp_path / "ref" / name), name
        assert res.stages[name].history == ref.stages[name].history
    assert res.stages["task"].start_step == (stop if stage == "task" else 0)
    assert same(state(res.student), state(ref.student))
    assert same(saved(out / "task" / "best"), saved(tmp_path / "ref" / "task" / "best"))


def test_distill_resumed_after_a_crash_matches_though_the_cache_holds_logits_past_the_checkpoint(tmp_path):
    """A crash at task step 5 (checkpoint at 3) still writes out the logit cache: the resumed run reads the
    logits of steps 4 and 5 from it where the uninterrupted run had the teacher compute them; fresh logits
    are rounded as cached ones are, so both train alike."""
    ref = run_distill(tmp_path / "ref", seed=0, hidden_weight=0.0)
    out = tmp_path / "crashed"

    def crash(line: str) -> None:
        if line.startswith("step 5/10 "):
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        run_distill(out, seed=0, log=crash, hidden_weight=0.0)
    assert Checkpointer(out / "task" / "checkpoints").latest().name == "step_00000003"
    res = run_distill(out, seed=7, resume=True, hidden_weight=0.0)
    assert res.teacher_forwards < ref.teacher_forwards  # steps 4 and 5 found their logits cached
    assert rows(out / "task") == rows(tmp_path / "ref" / "task")
    assert same(state(res.student), state(ref.student))


def test_distill_metrics_rows_average_the_loss_terms_over_their_window_also_across_a_resume(tmp_path):
    """kd, ce and onpolicy in a metrics.jsonl row are means over the row's steps, as its loss is (ce over the
    steps that have it: on-policy batches have none; onpolicy: the share of on-policy batches). They were the
    last step's values: with --log-every 3, a row whose last batch was on-policy had no ce and onpolicy 1.0."""
    kw = dict(hidden_weight=0.0, topk=0, onpolicy=0.5)
    run_distill(tmp_path / "each", seed=0, **kw)  # a row per step
    steps = {r["step"]: r for r in rows(tmp_path / "each" / "task") if "loss" in r}  # not the dev rows
    run_distill(tmp_path / "ref", seed=0, log_every=3, **kw)
    # stopped at task step 5 (3 generic steps first), in the middle of the window of steps 4-6
    run_distill(tmp_path / "split", seed=0, log_every=3, stop_after=8, **kw)
    res = run_distill(tmp_path / "split", seed=7, log_every=3, resume=True, **kw)
    assert res.stages["task"].start_step == 5
    windowed = [r for r in rows(tmp_path / "ref" / "task") if "loss" in r]
    assert rows(tmp_path / "split" / "task") == rows(tmp_path / "ref" / "task")
    assert [r["step"] for r in windowed] == [3, 6, 9, 10]
    start = 0
    for r in windowed:
        window = [steps[s] for s in range(start + 1, r["step"] + 1)]
        for key in ("kd", "ce", "onpolicy"):
            have = [w[key] for w in window if key in w]
            assert r[key] == pytest.approx(sum(have) / len(have), rel=1e-5), (r["step"], key)
        start = r["step"]
    assert any(0 < r["onpolicy"] < 1 for r in windowed)


def test_distill_resumed_before_the_task_stages_first_checkpoint_logs_each_step_once(tmp_path):
    """`tandem distill --resume` after a kill in the task stage before its first checkpoint (the generic stage
    has its checkpoints): the task stage starts over, and its metrics.jsonl held step 1-2 twice."""
    kw = dict(hidden_weight=0.0, onpolicy=0.0)
    ref = run_distill(tmp_path / "ref", seed=0, **kw)
    out = tmp_path / "killed"

    def crash(line: str) -> None:
        if line.startswith("step 2/10 "):
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        run_distill(out, seed=0, log=crash, **kw)
    assert Checkpointer(out / "task" / "checkpoints").latest() is None
    res = run_distill(out, seed=7, resume=True, **kw)
    assert res.stages["task"].start_step == 0
    assert rows(out / "task") == rows(tmp_path / "ref" / "task")
    assert same(state(res.student), state(ref.student))


def test_distill_refuses_to_resume_with_another_teacher(tmp_path):
    with pytest.raises(TrainingInterrupted):
        run_distill(tmp_path, seed=0, log=signal_at("4/10"))
    teacher = tiny(seed=2, encoder_layers=2, decoder_layers=2)
    generic = generic_examples(GENERIC_TEXTS, Tok())
    with pytest.raises(TandemError, match="teacher"):
        distill(
            teacher, tiny(), TRAIN, distill_cfg(resume=True), dev_eval, tmp_path, generic=generic, log=None
        )


# ============================================================================================ the CLI
DIMS = '{"d_model": 32, "num_heads": 2, "ffn_dim": 64, "encoder_layers": 1, "decoder_layers": 1, "max_positions": 64, "dropout": 0.1}'


@pytest.fixture(scope="module")
def snips(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("snips")
    write_snips(d / "train", 64, 0)
    write_snips(d / "valid", 8, 1)
    return d


@pytest.fixture(scope="module")
def tok(snips, tmp_path_factory) -> Path:
    from tandem.finetune import load_pairs
    from tandem.tokenizer import Tokenizer

    pairs = load_pairs(snips, "slu", "train")
    path = tmp_path_factory.mktemp("tok") / "tok"
    Tokenizer.train(iter([p.source for p in pairs] + [p.target for p in pairs]), vocab_size=294).save(path)
    return path


def finetune_args(snips: Path, tok: Path, out: Path, *extra: str) -> list[str]:
    args = ["finetune", "--model", "tiny", "--model-overrides", DIMS, "--tokenizer", str(tok)]
    args += ["--task", "slu", "--data", str(snips), "--train-split", "train"]
    args += ["--dev", str(snips), "--dev-split", "valid", "--metric", "exact_match", "--max-new-tokens", "12"]
    args += ["--batch-size", "16", "--lr", "3e-3", "--eval-every", "3", "--log-every", "1"]
    return args + ["--device", "cpu", "--out", str(out), *extra]


def test_finetune_cli_stop_after_then_resume_matches_and_refuses_other_settings(snips, tok, tmp_path, capsys):
    common = ["--max-steps", "12", "--ckpt-every", "5"]
    assert main(finetune_args(snips, tok, tmp_path / "ref", *common)) == 0
    out = tmp_path / "split"
    assert main(finetune_args(snips, tok, out, *common, "--stop-after", "7")) == 0
    assert "--resume" in capsys.readouterr().out
    assert json.loads((out / "fit.json").read_text())["interrupted"] == "stop_after"
    # a resume refused by its checkpoint keeps the config.json that the checkpoint was written with
    meta_path = Checkpointer(out / "checkpoints").latest() / "trainer.json"
    meta_text, config_before = meta_path.read_text(), (out / "config.json").read_bytes()
    meta = json.loads(meta_text)
    meta["identity"]["seed"] = 5
    meta_path.write_text(json.dumps(meta))
    assert main(finetune_args(snips, tok, out, *common, "--resume", "--lr", "1e-3")) == 2
    assert "seed" in capsys.readouterr().err
    assert (out / "config.json").read_bytes() == config_before
    meta_path.write_text(meta_text)
    # refused: no --resume (the run is kept), --resume with --overwrite, another batch size or seed
    assert main(finetune_args(snips, tok, out, *common)) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(finetune_args(snips, tok, out, *common, "--resume", "--overwrite")) == 2
    assert "pass one of them" in capsys.readouterr().err
    assert main(finetune_args(snips, tok, out, *common, "--resume", "--batch-size", "8")) == 2
    err = capsys.readouterr().err
    assert "batch_size: 16 -> 8" in err and "--overwrite" in err
    assert main(finetune_args(snips, tok, out, *common, "--resume", "--seed", "1")) == 2
    assert "seed: 0 -> 1" in capsys.readouterr().err
    # resumed in two more pieces (--stop-after counts the steps of one invocation); config.json holds the flags
    assert main(["finetune", "--config", str(out / "config.json"), "--resume", "--stop-after", "2"]) == 0
    assert json.loads((out / "fit.json").read_text())["steps"] == 9
    assert main(finetune_args(snips, tok, out, *common, "--resume")) == 0
    assert rows(out) == rows(tmp_path / "ref")
    assert same(saved(out / "best"), saved(tmp_path / "ref" / "best"))
    dev = json.loads((out / "dev_metrics.json").read_text())
    assert dev == json.loads((tmp_path / "ref" / "dev_metrics.json").read_text()) and "dev_exact_match" in dev
    capsys.readouterr()
    # settings that change neither the model nor the data are allowed, and named
    assert main(finetune_args(snips, tok, out, "--max-steps", "12", "--resume", "--lr", "1e-3")) == 0
    assert "lr: 0.003 -> 0.001" in capsys.readouterr().err
    assert rows(out) == rows(tmp_path / "ref")  # a finished run has nothing left to train
    # no checkpoint to resume
    assert main(finetune_args(snips, tok, tmp_path / "empty", *common, "--resume")) == 2
    assert "no checkpoint" in capsys.readouterr().err


def test_finetune_cli_vocab_size_with_a_given_tokenizer_is_refused_but_an_old_run_resumes(
    snips, tok, tmp_path, capsys
):
    """--vocab-size (default 1000) was silently ignored with a given tokenizer; a run started before that saved
    `"vocab_size": 1000` in its config.json, and must resume without a refusal or a warning."""
    out = tmp_path / "o"
    assert main(finetune_args(snips, tok, out, "--max-steps", "4", "--vocab-size", "500")) == 2
    err = capsys.readouterr().err
    assert (
        f"--vocab-size 500: the run reads with the tokenizer of --tokenizer {tok}, whose vocabulary is 294"
        in err
    )
    assert not out.exists()
    assert (
        main(finetune_args(snips, tok, out, "--max-steps", "4", "--vocab-size", "294", "--stop-after", "2"))
        == 0
    )
    assert json.loads((out / "config.json").read_text())["vocab_size"] == 294
    # the tokenizer saved with --model is a given one too
    args = finetune_args(snips, tok, tmp_path / "m", "--max-steps", "1", "--vocab-size", "500")
    args[args.index("--tokenizer") : args.index("--tokenizer") + 2] = []
    args[args.index("--model-overrides") : args.index("--model-overrides") + 2] = []
    args[args.index("tiny")] = str(out / "best")
    assert main(args) == 2
    assert f"the tokenizer of --model {out / 'best'}, whose vocabulary is 294" in capsys.readouterr().err
    # an old run: its config.json holds the default it was not given
    config = json.loads((out / "config.json").read_text())
    (out / "config.json").write_text(json.dumps(config | {"vocab_size": 1000}))
    capsys.readouterr()
    assert main(["finetune", "--config", str(out / "config.json"), "--resume", "--stop-after", "1"]) == 0
    assert "warning" not in capsys.readouterr().err
    assert main(finetune_args(snips, tok, out, "--max-steps", "4", "--resume")) == 0  # no --vocab-size: 1000
    assert "warning" not in capsys.readouterr().err
    assert json.loads((out / "fit.json").read_text())["steps"] == 4
    # another --vocab-size than the run's is still refused on resume
    assert main(finetune_args(snips, tok, out, "--max-steps", "4", "--resume", "--vocab-size", "294")) == 2
    assert "vocab_size: null -> 294" in capsys.readouterr().err


PATIENCE_S = (
    180  # for `tandem finetune` in a subprocess to get somewhere (it imports torch) on a slow machine
)


@pytest.fixture
def launch(tmp_path):
    """Starts `tandem ARGS` in a subprocess, its stderr into a log file (a pipe nobody reads until the end
    could fill and block it); one still running when the test ends (it failed) is killed."""
    procs: list[subprocess.Popen] = []

    def start(args: list[str], **env: str) -> tuple[subprocess.Popen, Path]:
        log = tmp_path / f"stderr-{len(procs)}.log"
        with log.open("wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "tandem", *args],
                env=dict(os.environ, OMP_NUM_THREADS="1", **env),
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        procs.append(proc)
        return proc, log

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _wait_for(path: Path, proc: subprocess.Popen, log: Path, what: str, lines: int = 0) -> None:
    deadline = time.monotonic() + PATIENCE_S
    while not (path.exists() and len(path.read_text().splitlines()) >= lines):
        assert proc.poll() is None, f"exited with {proc.returncode}: {log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"{what} within {PATIENCE_S} s: {log.read_text()[-3000:]}"
        time.sleep(0.05)


def test_finetune_cli_sigterm_exits_143_with_a_checkpoint_and_resumes_exactly(snips, tok, tmp_path, launch):
    common = ["--max-steps", "2000", "--ckpt-every", "1000", "--eval-every", "1000"]
    out = tmp_path / "preempted"
    proc, log = launch(finetune_args(snips, tok, out, *common))
    _wait_for(out / "metrics.jsonl", proc, log, "the run reached no step 3", lines=3)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=PATIENCE_S)
    err = log.read_text()
    assert proc.returncode == 143, err[-3000:]
    last = Checkpointer(out / "checkpoints").latest()
    assert last is not None, err[-3000:]
    step = int(json.loads((last / "trainer.json").read_text())["step"])
    assert step >= 3 and "--resume" in err
    assert main(finetune_args(snips, tok, out, *common, "--resume", "--stop-after", "2")) == 0
    ref = tmp_path / "ref"
    assert main(finetune_args(snips, tok, ref, *common, "--stop-after", str(step + 2))) == 0
    assert rows(out) == rows(ref) and len(rows(ref)) == step + 2
    assert same(saved(out / "best"), saved(ref / "best"))


def test_finetune_cli_sigkill_during_a_checkpoint_write_resumes_from_the_last_good_one(
    snips, tok, tmp_path, launch
):
    common = ["--max-steps", "9", "--ckpt-every", "3"]
    out = tmp_path / "killed"
    proc, log = launch(finetune_args(snips, tok, out, *common), TANDEM_TEST_HANG_IN_CHECKPOINT="6")
    hang = out / "checkpoints" / ".tmp-step_00000006" / "HANGING"
    _wait_for(hang, proc, log, "no checkpoint write at step 6")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert Checkpointer(out / "checkpoints").latest().name == "step_00000003"
    assert main(finetune_args(snips, tok, out, *common, "--resume")) == 0
    ref = tmp_path / "ref"
    assert main(finetune_args(snips, tok, ref, *common)) == 0
    assert rows(out) == rows(ref)
    assert same(saved(out / "best"), saved(ref / "best"))
    assert not list((out / "checkpoints").glob(".tmp-*"))


def test_distill_cli_chain_stop_after_then_resume_matches(snips, tok, tmp_path, capsys):
    """A chain teacher -> student 1 -> student 2, paused inside the second link and resumed: the first link
    is not trained again, and both students are those of a run that was never paused."""
    teacher = tmp_path / "teacher"
    assert main(finetune_args(snips, tok, teacher, "--max-steps", "2")) == 0
    args = [
        "distill",
        "--teacher",
        str(teacher / "best"),
        "--student",
        "shrink:1,1",
        "--student",
        "shrink:1,1",
    ]
    args += ["--task", "slu", "--data", str(snips), "--train-split", "train", "--dev-holdout", "8"]
    args += ["--max-steps", "5", "--batch-size", "16", "--topk", "4", "--log-every", "1", "--ckpt-every", "2"]
    args += ["--eval-every", "2", "--max-new-tokens", "12", "--device", "cpu"]
    ref = tmp_path / "ref"
    assert main(args + ["--out", str(ref)]) == 0
    out = tmp_path / "split"
    assert main(args + ["--out", str(out), "--stop-after", "7"]) == 0  # link 1: 5 steps, link 2: 2 of 5
    assert "--resume" in capsys.readouterr().out
    assert not (out / "student_2" / "final").exists() and not (out / "distill.json").exists()
    assert main(args + ["--out", str(out), "--resume", "--student", "edge-2m"]) == 2
    assert "student" in capsys.readouterr().err
    assert main(args + ["--out", str(out), "--resume", "--topk", "8"]) == 2
    assert "topk: 4 -> 8" in capsys.readouterr().err
    # a longer schedule would train student 1 further and leave student 2's checkpoints from the old one
    # (this used to train student 1 on, overwrite its final/, then refuse student 2's checkpoint)
    before = saved(out / "student_1" / "final")
    assert main(args + ["--out", str(out), "--resume", "--max-steps", "6"]) == 2
    err = capsys.readouterr().err
    assert "student 2 already has checkpoints" in err and "--max-steps 5 -> 6" in err
    assert same(saved(out / "student_1" / "final"), before)
    assert main(args + ["--out", str(out), "--resume", "--kd-weight", "0.5"]) == 0
    printed = capsys.readouterr()
    assert "kd_weight" not in printed.err  # 0.5 is the default: nothing changed
    assert f"resumed from {out / 'student_1' / 'task' / 'checkpoints' / 'step_00000005'}" in printed.out
    for k in (1, 2):
        sub = f"student_{k}"
        assert rows(out / sub / "task") == rows(ref / sub / "task"), sub
        assert same(saved(out / sub / "final"), saved(ref / sub / "final")), sub
    summary = json.loads((out / "distill.json").read_text())
    assert [s["steps"] for s in summary] == [5, 5]
    assert main(args + ["--out", str(tmp_path / "none"), "--resume"]) == 2
    assert "no checkpoint" in capsys.readouterr().err


def nan_at(step: int):
    """The cross-entropy, but NaN at fit's step `step` (1-based, as logged)."""
    from tandem.finetune import ce_loss

    def loss_fn(model, batch, k):
        loss, extra = ce_loss(model, batch, k)
        return (loss * float("nan") if k + 1 == step else loss), extra

    return loss_fn


def test_a_nan_loss_keeps_the_last_good_checkpoint_and_says_how_to_resume(tmp_path):
    """A NaN loss between log lines used to be noticed only at the next log line: a checkpoint and best/ could
    be written from the diverged weights in between, and the message named neither step nor resume point."""
    out = tmp_path / "o"
    with pytest.raises(TandemError) as e:  # eval every 3, checkpoint every 5, NaN at 7, log every 100
        fit(tiny(), TRAIN, cfg(log_every=100), dev_eval, loss_fn=nan_at(7), out_dir=out, log=None)
    msg = str(e.value)
    assert msg.startswith("step 7: the training loss is nan")
    assert "stopped at step 9 without saving the weights after step 5" in msg  # found at the eval of 9
    assert f"{out / 'checkpoints'}" in msg and "(step 5)" in msg and "--resume and a lower --lr" in msg
    assert f"best dev model so far (step 6) is in {out / 'best'}" in msg
    last = Checkpointer(out / "checkpoints").latest()
    assert last is not None and last.name.endswith("5")  # not replaced by a checkpoint of step 7 or later
    assert all(torch.isfinite(v).all() for v in saved(out / "best").values())
    assert not (out / "fit.json").exists()
    # the resume point is the last good checkpoint: resumed with a sane loss it runs to the end
    res = fit(tiny(), TRAIN, cfg(log_every=100, resume=True, lr=1e-3), dev_eval, out_dir=out, log=None)
    assert res.start_step == 5 and res.steps == 16
    assert all(torch.isfinite(v).all() for v in saved(out / "best").values())


def test_a_nan_loss_before_any_checkpoint_says_so_and_fails_without_an_out_dir_too(tmp_path):
    with pytest.raises(TandemError, match="step 2: .* No checkpoint was written before it .*--overwrite"):
        fit(tiny(), TRAIN, cfg(ckpt_every=0), None, loss_fn=nan_at(2), out_dir=tmp_path / "o", log=None)
    assert not (tmp_path / "o" / "best").exists() and not (tmp_path / "o" / "checkpoints").exists()
    with pytest.raises(TandemError, match="step 16: the training loss is nan"):  # the last step, no log line
        fit(tiny(), TRAIN, cfg(log_every=100), None, loss_fn=nan_at(16), log=None)


def test_a_nan_loss_names_an_unusually_large_weight_decay_or_loss_weight_with_lr(tmp_path):
    """The advice named only a lower --lr, also when --weight-decay or a distillation loss weight was far
    outside its usual range (a likelier cause)."""
    out = tmp_path / "o"
    with pytest.raises(TandemError) as e:
        fit(tiny(), TRAIN, cfg(weight_decay=50.0), dev_eval, loss_fn=nan_at(7), out_dir=out, log=None)
    want = "with --resume and a lower --lr (now 0.003) or --weight-decay (now 50, unusually large); "
    assert want in str(e.value)
    from tandem.train.optim import lower_lr_advice

    assert lower_lr_advice(cfg()) == "a lower --lr (now 0.003)"  # the defaults: --lr alone, as before
    d = DistillConfig(lr=1e-3, weight_decay=2.0, kd_weight=100.0, hidden_weight=20.0, ce_weight=10.0)
    assert lower_lr_advice(d) == (
        "a lower --lr (now 0.001), --weight-decay (now 2, unusually large), --kd-weight (now 100, unusually "
        "large) or --hidden-weight (now 20, unusually large)"
    )


def test_finetune_cli_exits_2_on_a_nan_loss_naming_the_step(snips, tok, tmp_path, capsys, monkeypatch):
    import tandem.finetune

    monkeypatch.setattr(tandem.finetune, "ce_loss", nan_at(3))
    args = [
        "finetune",
        "--model",
        "tiny",
        "--model-overrides",
        DIMS,
        "--tokenizer",
        str(tok),
        "--task",
        "slu",
    ]
    args += ["--data", str(snips), "--train-split", "train", "--max-steps", "6", "--batch-size", "16"]
    args += ["--ckpt-every", "2", "--log-every", "1", "--device", "cpu", "--out", str(tmp_path / "f")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "error: step 3: the training loss is nan" in err and "(step 2)" in err and "--resume" in err


def test_finetune_and_distill_resume_from_another_working_directory(
    snips, tok, tmp_path, monkeypatch, capsys
):
    """`--config OUT/config.json --resume` from another directory: config.json records the run's local paths
    absolute (it kept them as typed, so a relative --data, --tokenizer or --teacher was not found there), and
    the resumed runs match uninterrupted ones. A preset name and a `shrink:` student stay as given."""
    import shutil

    a = tmp_path / "a"
    shutil.copytree(snips, a / "snips")
    shutil.copytree(tok, a / "tok")
    monkeypatch.chdir(a)

    def ft(out: str, *extra: str) -> list[str]:
        return finetune_args(
            Path("snips"), Path("tok"), Path(out), "--max-steps", "6", "--ckpt-every", "2", *extra
        )

    assert main(ft("ref")) == 0
    assert main(ft("split", "--stop-after", "3")) == 0
    rec = json.loads((a / "split" / "config.json").read_text())
    assert rec["data"] == str(a / "snips") and rec["tokenizer"] == str(a / "tok")
    assert rec["out"] == str(a / "split") and rec["model"] == "tiny"
    # one-off flags are not settings of the run: a --config resume without --stop-after goes to the end
    assert rec["stop_after"] is None and rec["resume"] is False
    (a / "tiny").write_text("a file named as the preset: --model tiny is still the preset\n")
    dist = ["distill", "--teacher", "ref/best", "--student", "shrink:1,1", "--task", "slu", "--data", "snips"]
    dist += ["--train-split", "train", "--dev-holdout", "8", "--max-steps", "4", "--batch-size", "16"]
    dist += ["--topk", "4", "--log-every", "1", "--ckpt-every", "2", "--eval-every", "2"]
    dist += ["--max-new-tokens", "12", "--device", "cpu"]
    assert main([*dist, "--out", "dref"]) == 0
    assert main([*dist, "--out", "dsplit", "--stop-after", "2"]) == 0
    rec = json.loads((a / "dsplit" / "config.json").read_text())
    assert rec["teacher"] == [str(a / "ref" / "best")] and rec["student"] == ["shrink:1,1"]
    b = tmp_path / "b"
    b.mkdir()
    monkeypatch.chdir(b)
    capsys.readouterr()
    assert main(["finetune", "--config", str(a / "split" / "config.json"), "--resume"]) == 0
    assert main(["distill", "--config", str(a / "dsplit" / "config.json"), "--resume"]) == 0
    assert "warning" not in capsys.readouterr().err
    assert not any(b.iterdir())  # both runs went on in their own folders
    assert rows(a / "split") == rows(a / "ref")
    assert same(saved(a / "split" / "best"), saved(a / "ref" / "best"))
    assert rows(a / "dsplit" / "student_1" / "task") == rows(a / "dref" / "student_1" / "task")
    # from the run's own directory, the flags as typed are the recorded settings, not a change
    monkeypatch.chdir(a)
    assert main(ft("split", "--resume")) == 0
    assert "warning" not in capsys.readouterr().err
    assert json.loads((a / "split" / "config.json").read_text())["model"] == "tiny"  # not a/tiny, the file
