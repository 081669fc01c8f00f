"""Validation loss during pretraining (`--val-data`): the logged val_loss is the model's plain cross-entropy on
a fixed held-out set, the set is drawn deterministically and apart from the training stream, enabling it
changes no training step, resume stays exact, and a bad validation file fails before training."""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from tandem.cli import main
from tandem.errors import TandemError
from tandem.train import TrainConfig, train
from test_train_helpers import TOY_RUN, ToyStream, tiny_model, val_batches

_TIMINGS = ("tokens_per_s", "target_tokens_per_s", "time_per_step_s", "val_time_s")


def _cfg(tmp_path, name="run", **kw) -> TrainConfig:
    return TrainConfig(**(TOY_RUN | {"out": str(tmp_path / name)} | kw))


def _rows(out) -> list[dict]:
    """metrics.jsonl without the timings."""
    rows = [json.loads(x) for x in (Path(out) / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in _TIMINGS} for r in rows]


def _plain_val_loss(model, batches) -> dict[str, float]:
    """The reference: the model in eval mode, full logits, F.cross_entropy summed per kind over target
    tokens; decoder input = start token + labels[:-1] (-100 as pad)."""
    model.eval()
    start, pad = model.config.decoder_start_token_id, model.config.pad_token_id
    sums: dict[str, list[float]] = {"all": [0.0, 0], "denoise": [0.0, 0], "clm": [0.0, 0]}
    with torch.no_grad():
        for b in batches:
            labels = b["labels"]
            dec = torch.cat([torch.full_like(labels[:, :1], start), labels[:, :-1]], dim=1)
            dec = torch.where(dec == -100, torch.full_like(dec, pad), dec)
            logits = model(
                input_ids=b["input_ids"], attention_mask=b["attention_mask"], decoder_input_ids=dec
            ).logits
            for row, kind in enumerate(b["kind"]):
                loss = F.cross_entropy(logits[row].double(), labels[row], ignore_index=-100, reduction="sum")
                n = int((labels[row] != -100).sum())
                for key in ("all", kind):
                    sums[key][0] += float(loss)
                    sums[key][1] += n
    model.train()
    return {
        "val_loss": sums["all"][0] / sums["all"][1],
        "val_denoise_loss": sums["denoise"][0] / sums["denoise"][1],
        "val_clm_loss": sums["clm"][0] / sums["clm"][1],
    }


def test_val_loss_is_the_models_plain_cross_entropy_on_the_fixed_set(tmp_path):
    """Every val row scores the same batches with the model as it is at that step, in eval mode (the model
    has dropout 0.3: a train-mode forward would differ), token-weighted overall and per objective kind; the
    first row, at step 0, scores the model before any step."""
    val = val_batches(3)
    model = tiny_model(dropout=0.3)
    initial = _plain_val_loss(tiny_model(dropout=0.3), val)  # the same initialisation, untrained
    res = train(_cfg(tmp_path, steps=4, val_every=2), model=model, data=ToyStream(), val=val)
    assert [r["step"] for r in res.val_records] == [0, 2, 4]
    for key, v in initial.items():
        assert res.val_records[0][key] == pytest.approx(v, rel=1e-5, abs=1e-6), key
    last = res.val_records[-1]
    ref = _plain_val_loss(model, val)  # the final model is the one scored at step 4
    for key, v in ref.items():
        assert last[key] == pytest.approx(v, rel=1e-5, abs=1e-6), key
    assert last["val_examples"] == 9
    assert last["val_tokens"] == sum(int((b["labels"] != -100).sum()) for b in val)
    assert model.training  # the train mode is restored
    assert res.val_records[0]["val_loss"] != last["val_loss"]  # scored with the weights of its step
    rows = _rows(tmp_path / "run")
    assert [r["step"] for r in rows if "val_loss" in r] == [0, 2, 4]
    assert all("loss" not in r for r in rows if "val_loss" in r)  # rows of their own


def test_validation_changes_no_training_step_and_resume_stays_exact(tmp_path):
    """With dropout (the RNG matters): the training rows and final weights of a run with validation every
    step are bit-identical to those of a run without; a run stopped and resumed logs exactly the rows of the
    uninterrupted one, validation rows included."""
    plain_model, val_model = tiny_model(dropout=0.2), tiny_model(dropout=0.2)
    train(_cfg(tmp_path, "plain"), model=plain_model, data=ToyStream())
    train(_cfg(tmp_path, "val", val_every=1), model=val_model, data=ToyStream(), val=val_batches(2))
    with_val = _rows(tmp_path / "val")
    assert [r for r in with_val if "val_loss" not in r] == _rows(tmp_path / "plain")
    assert [r["step"] for r in with_val if "val_loss" in r] == [0, 1, 2, 3, 4, 5, 6]
    for a, b in zip(plain_model.state_dict().values(), val_model.state_dict().values(), strict=True):
        assert torch.equal(a, b)

    cfg = _cfg(tmp_path, "resumed", val_every=2, stop_after=3)
    train(cfg, model=tiny_model(dropout=0.2), data=ToyStream(), val=val_batches(2))
    cfg = dataclasses.replace(cfg, stop_after=None, resume=True)
    train(cfg, model=tiny_model(dropout=0.2), data=ToyStream(), val=val_batches(2))
    train(
        _cfg(tmp_path, "whole", val_every=2),
        model=tiny_model(dropout=0.2),
        data=ToyStream(),
        val=val_batches(2),
    )
    assert _rows(tmp_path / "resumed") == _rows(tmp_path / "whole")
    assert [r["step"] for r in _rows(tmp_path / "whole") if "val_loss" in r] == [0, 2, 4, 6]  # 0 once


WORDS = "the cat sat on a mat and looked at one small red bird in the old green tree today".split()


def _text(path: Path, n: int, seed: int) -> str:
    rng = random.Random(seed)
    path.write_text(
        "".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14))) + "\n" for _ in range(n)),
        encoding="utf-8",
    )
    return str(path)


@pytest.fixture(scope="module")
def tok():
    from tandem.tokenizer import Tokenizer

    rng = random.Random(1)
    lines = [" ".join(rng.choice(WORDS) for _ in range(10)) for _ in range(200)]
    return Tokenizer.train(iter(lines), vocab_size=40, byte_fallback=False)


def test_the_validation_set_is_fixed_by_the_seed_and_apart_from_the_training_stream(tmp_path, tok):
    from tandem.train.trainer import _build_data, _build_val

    val = _text(tmp_path / "en.val.txt", 30, 0)
    cfg = _cfg(
        tmp_path, data=[f"en:{val}"], val_data=[f"en:{val}"], seq_len=24, batch_size=4, val_examples=10
    )
    torch.manual_seed(5)
    before = torch.get_rng_state()
    a = _build_val(cfg, tok, 0)
    assert torch.equal(torch.get_rng_state(), before)  # no global RNG drawn from
    b = _build_val(cfg, tok, 0)
    assert [len(x["input_ids"]) for x in a] == [4, 4, 2]  # 10 examples, the last batch cut
    for x, y in zip(a, b, strict=True):
        assert torch.equal(x["input_ids"], y["input_ids"]) and torch.equal(x["labels"], y["labels"])
        assert x["kind"] == y["kind"]

    # the training stream over the same file (same seed) draws other examples
    def rows(batch):
        return [tuple(r[m.bool()].tolist()) for r, m in zip(batch["input_ids"], batch["attention_mask"])]

    first = next(iter(_build_data(cfg, tok, 0, 1)))
    assert rows(first) != rows(a[0])
    # a file read through before the set is full: each document about once, not again under other noise
    small = _text(tmp_path / "de.val.txt", 3, 1)
    c = _build_val(dataclasses.replace(cfg, val_data=[f"en:{small}"], val_examples=50), tok, 0)
    assert sum(len(x["input_ids"]) for x in c) < 8


def test_an_empty_or_missing_val_file_fails_before_training_naming_it(tmp_path, capsys, tok):
    data = _text(tmp_path / "en.txt", 60, 0)
    empty = tmp_path / "en.dev.txt"
    empty.write_text("")
    tok.save(tmp_path / "tok")
    argv = ["pretrain", "--model-overrides", '{"d_model": 32, "ffn_dim": 64, "num_heads": 2}']
    argv += ["--data", data, "--tokenizer", str(tmp_path / "tok"), "--batch-size", "2", "--seq-len", "16"]
    argv += ["--steps", "2"]
    argv += ["--no-progress", "--no-tensorboard", "--no-plot"]
    for bad, word in ((str(empty), "empty"), (str(tmp_path / "nope.dev"), "no such file")):
        out = tmp_path / f"run-{word[:2]}"
        assert main([*argv, "--out", str(out), "--val-data", f"en:{bad}"]) == 2
        err = capsys.readouterr().err
        assert "--val-data" in err and bad in err and word in err, err
        assert not (out / "checkpoints").exists() and not (out / "metrics.jsonl").exists()


def test_val_settings_are_checked(tmp_path):
    for kw in ({"val_every": 0}, {"val_examples": -1}, {"val_data": "en.txt"}):
        with pytest.raises(TandemError, match=next(iter(kw))):
            _cfg(tmp_path, **kw).validate()
