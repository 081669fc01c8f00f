"""`tandem finetune` / `tandem distill` on bad input: a TandemError (exit 2) naming the file, line or flag,
before any model is built or trained."""

from __future__ import annotations

import contextlib
import json
import math
import re

import pytest

from tandem.cli import main
from tandem.errors import TandemError
from tandem.finetune import Pair, TrainConfig, check_metric, load_jsonl_pairs, split_dev


def _good(n: int = 6) -> bytes:
    return "".join(json.dumps({"source": f"hi {i}", "target": f"yo {i}"}) + "\n" for i in range(n)).encode()


def test_invalid_utf8_is_named_by_line(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_bytes(_good(2) + b'{"source": "\xff", "target": "y"}\n')
    with pytest.raises(TandemError, match=r"d.jsonl line 3: not valid UTF-8"):
        load_jsonl_pairs(p)


def test_a_byte_order_mark_is_not_data(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_bytes(b"\xef\xbb\xbf" + _good(2).replace(b"\n", b"\r\n"))
    assert [x.source for x in load_jsonl_pairs(p)] == ["hi 0", "hi 1"]


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--batch-size", "0"], "--batch-size must be >= 1"),
        (["--batch-size", "-2"], "--batch-size must be >= 1"),  # ran for ever
        (["--epochs", "0"], "--epochs must be > 0"),
        (["--epochs", "nan"], "--epochs must be a finite number"),
        (["--epochs", "inf"], "--epochs must be a finite number"),
        (["--lr", "0"], "--lr must be > 0"),
        (["--lr", "-1"], "--lr must be a finite number|--lr must be > 0"),
        (["--lr", "nan"], "--lr must be a finite number"),
        (["--max-steps", "-3"], "--max-steps must be >= 0"),
        (["--patience", "-1"], "--patience must be >= 0"),
        (["--log-every", "0"], "--log-every must be >= 1"),
        (["--warmup-ratio", "nan"], "--warmup-ratio must be a finite number"),
        (["--grad-clip", "nan"], "--grad-clip must be a finite number"),
        (["--max-source-len", "0"], "--max-source-len must be an integer >= 1"),
        (["--max-target-len", "-1"], "--max-target-len must be an integer >= 1"),
        (["--max-new-tokens", "0"], "--max-new-tokens must be an integer >= 1"),
        (["--device", "bogus"], "--device 'bogus' is not a torch device"),
        (
            ["--device", "cuda:7"],
            r"--device 'cuda:7' is not available here \(\d+ CUDA devices\); use auto or cpu",
        ),
        (["--threads", "-1"], r"--threads must be in 1\.\.1024"),
        (["--dev-holdout", "50"], "--dev-holdout 50: cannot hold out 50 of 6"),
        (["--dev-holdout", "-1"], "--dev-holdout -1"),
        (["--dev-holdout", "2", "--metric", "slot_f1"], "slot_f1 is not computed here .*--task slu"),
        (["--dev-holdout", "2", "--metric", "exact_match", "--no-generate-eval"], "--no-generate-eval"),
        (["--metric", "exact_match"], "--metric exact_match needs a dev set"),
        # each of these ran: a seed out of torch's range gave an OverflowError traceback after the tokenizer
        # was trained (-1: numpy's, in distill's --generic stage), --epochs 1.7e308 an OverflowError, 1e300 a
        # run of 1.5e300 steps at an lr of 1e-303; --patience/--eval-every without a dev set, --dev-holdout
        # beside --dev and the split flags of jsonl data were ignored without a word
        (["--seed", "-1"], r"--seed must be an integer in \[0, 2\*\*64\), got -1"),
        (["--seed", str(2**64)], r"--seed must be an integer in \[0, 2\*\*64\)"),
        (["--max-steps", str(2**63)], r"--max-steps must be at most 9223372036854775807"),
        (["--epochs", "1.7e308"], r"--epochs 1\.7e\+308 over 6 examples .* more than a run can count"),
        (["--epochs", "1e300"], r"--epochs 1e\+300 over 6 examples .*makes 1e\+300 optimizer steps"),
        (["--patience", "2"], "--patience 2 needs a dev set"),
        (["--eval-every", "5"], "--eval-every 5 needs a dev set"),
        (["--dev-holdout", "2", "--dev", "DATA"], "--dev-holdout 2 and --dev .*d.jsonl both give a dev set"),
        (["--train-split", "train"], "--train-split train applies to --task data"),
        (["--dev", "DATA", "--dev-split", "valid"], "--dev-split valid applies to --task data"),
        (["--task", "slu", "--dev-split", "valid"], "--dev-split valid needs --dev"),
    ],
)
def test_finetune_flags_out_of_range_fail_before_any_compute(tmp_path, capsys, flags, message):
    data = tmp_path / "d.jsonl"
    data.write_bytes(_good())
    out = tmp_path / "o"
    args = ["finetune", "--model", "tiny", "--data", str(data), "--out", str(out), "--vocab-size", "300"]
    args += ["--tokenizer", str(tmp_path / "tok")]
    assert main(args + [str(data) if f == "DATA" else f for f in flags]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert re.search(message, err), err
    assert not (tmp_path / "tok").exists() and not (out / "best").exists()  # no tokenizer, no model


def test_threads_beyond_1024_are_refused():
    """--threads 100000 crashed the run with a segmentation fault (torch's OpenMP pool) at the first step."""
    from argparse import Namespace

    from tandem.cli.finetune import check_checkpoint_flags

    check_checkpoint_flags(Namespace(ckpt_every=0, stop_after=None, threads=1024))
    for n in (0, 1025, 100000):
        with pytest.raises(TandemError, match=rf"--threads must be in 1\.\.1024 .*got {n}"):
            check_checkpoint_flags(Namespace(ckpt_every=0, stop_after=None, threads=n))


def test_train_config_validate_names_the_flag():
    TrainConfig().validate()
    with pytest.raises(TandemError, match="--batch-size"):
        TrainConfig(batch_size=0).validate()
    with pytest.raises(TandemError, match="--lr"):
        TrainConfig(lr=math.inf).validate()


def test_check_metric():
    plain, slu = [Pair("a", "b")], [Pair("a", "b", gold=object())]
    check_metric("loss", None)
    check_metric("exact_match", plain)
    check_metric("slot_f1", slu)
    with pytest.raises(TandemError, match="need --task slu"):
        check_metric("intent_acc", plain)


def test_split_dev_names_the_flag():
    pairs = [Pair(str(i), str(i)) for i in range(3)]
    with pytest.raises(TandemError, match="--dev-holdout 3: .* from 1 to 2"):
        split_dev(pairs, 3, flag="--dev-holdout")
    with pytest.raises(TandemError, match="none to spare"):
        split_dev(pairs[:1], 1, flag="--dev-holdout")


@pytest.mark.parametrize(
    "overrides, message",
    [
        ("{bad", "--model-overrides: not valid JSON"),
        ("[1]", "expected a JSON object"),
        ('{"nope": 1}', r"unknown ModelConfig fields \['nope'\]"),  # was a TypeError traceback
        ('{"d_model": "big"}', 'd_model must be int, got "big"'),
        ('{"dropout": true}', "dropout must be float"),
    ],
)
def test_model_overrides_are_checked_before_the_data_is_read(tmp_path, capsys, overrides, message):
    out = tmp_path / "o"
    args = ["finetune", "--model", "tiny", "--data", str(tmp_path / "absent.jsonl"), "--out", str(out)]
    with pytest.raises(SystemExit) if overrides in ("{bad", "[1]") else contextlib.nullcontext():
        assert main(args + ["--model-overrides", overrides]) == 2
    err = capsys.readouterr().err
    assert message in err or re.search(message, err), err
    assert "Traceback" not in err and "absent.jsonl" not in err


def test_model_overrides_from_a_config_file_are_checked(tmp_path, capsys):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"model": "tiny", "model_overrides": [1], "data": "x.jsonl", "out": "o"}))
    assert main(["finetune", "--config", str(cfg)]) == 2
    assert "--model-overrides must be a JSON object" in capsys.readouterr().err


def _pairs_file(path, rows) -> str:
    path.write_text("".join(json.dumps({"source": s, "target": t}) + "\n" for s, t in rows), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("verb", ["finetune", "distill"])
def test_a_data_file_of_empty_pairs_is_refused_naming_it(tmp_path, capsys, verb):
    """Every pair with an empty source or target trained silently on EOS -> EOS; now a one-line error naming
    the file and its lines, before any tokenizer or model."""
    data = _pairs_file(tmp_path / "e.jsonl", [("", ""), ("  ", "y"), ("x", ""), ("", " ")])
    args = [verb, "--data", data, "--out", str(tmp_path / "o"), "--device", "cpu"]
    if verb == "finetune":
        args += ["--model", "tiny", "--tokenizer", str(tmp_path / "tok")]
    else:
        (tmp_path / "t").mkdir()
        args += ["--teacher", str(tmp_path / "t"), "--student", "tiny"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"training data {data}: all 4 pairs have an empty source or target (lines 1, 2, 3, 4)" in err, err
    assert not (tmp_path / "tok").exists() and not (tmp_path / "o" / "best").exists()
    good = _pairs_file(tmp_path / "g.jsonl", [("a", "b"), ("c", "d")])
    assert main([*args[:2], good, *args[3:], "--dev", data]) == 2  # the dev file too
    assert f"dev data {data}: all 4 pairs" in capsys.readouterr().err


def test_some_empty_pairs_are_skipped_and_counted(tmp_path, capsys):
    from tandem.finetune import drop_empty

    rows = [(f"hi {i}", f"yo {i}") for i in range(8)]
    rows[2], rows[5] = ("", "yo"), ("hi", "   ")
    data = _pairs_file(tmp_path / "d.jsonl", rows)
    kept, note = drop_empty(load_jsonl_pairs(data), "training data d.jsonl")
    assert [p.line for p in kept] == [1, 2, 4, 5, 7, 8]
    assert (
        note
        == "training data d.jsonl: skipped 2 of 8 pairs (25.0%) with an empty source or target (lines 3, 6)"
    )
    assert drop_empty(kept, "x") == (kept, None)
    dims = '{"d_model": 32, "num_heads": 2, "ffn_dim": 64, "encoder_layers": 1, "decoder_layers": 1}'
    args = ["finetune", "--model", "tiny", "--model-overrides", dims, "--data", data, "--max-steps", "1"]
    args += ["--device", "cpu", "--vocab-size", "276", "--tokenizer", str(tmp_path / "tok")]
    assert main(args + ["--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert out.count(f"training data {data}: skipped 2 of 8 pairs (25.0%)") == 1
    assert "on 6 examples" in out
    with pytest.raises(TandemError, match="the training set: all 1 pairs have an empty source or target"):
        from tandem.finetune import finetune

        finetune(None, None, [Pair(" ", "x")], None, TrainConfig())


def test_model_overrides_that_contradict_the_tokenizer_name_the_flag():
    """`--model-overrides '{"vocab_size": 50}'` with a 320-piece tokenizer was refused with "use the tokenizer
    saved with the model" (a preset has none); a pad id other than the tokenizer's, likewise unnamed."""
    from types import SimpleNamespace

    from tandem.finetune import build_model

    tok = SimpleNamespace(vocab_size=320, pad_id=1, eos_id=2, bos_id=0, has_pad=True)
    small = {"d_model": 32, "ffn_dim": 64, "num_heads": 2, "encoder_layers": 1, "decoder_layers": 1}
    for k, v in (("vocab_size", 50), ("pad_token_id", 7), ("eos_token_id", 9)):
        with pytest.raises(TandemError, match=rf"--model-overrides {k} {v} contradicts the tokenizer"):
            build_model("tiny", tok, small | {k: v})
    # a larger embedding table than the tokenizer needs is a choice (ids padded to a multiple), still taken
    assert build_model("tiny", tok, small | {"vocab_size": 384}).config.vocab_size == 384


@pytest.mark.parametrize(
    "vocab, what", [(100_000, "too large .* lower --vocab-size"), (270, "smaller .* raise")]
)
def test_a_vocab_size_the_examples_cannot_fill_names_finetunes_own_flags(tmp_path, vocab, what):
    """The tokenizer finetune and distill train on their examples: a --vocab-size that does not fit was
    refused with advice to "lower --character-coverage", a flag only `tandem tokenizer train` has."""
    from tandem.finetune import load_or_train_tokenizer

    pairs = [Pair(f"set an alarm for {i} am ü ß é", f"alarm_set ; time = {i} am") for i in range(40)]
    with pytest.raises(TandemError, match=what) as e:
        load_or_train_tokenizer(None, None, pairs, vocab_size=vocab)
    assert "--character-coverage" not in str(e.value) and "--tokenizer" in str(e.value)
