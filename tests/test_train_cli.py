"""`tandem pretrain` end to end on a small synthetic two-language corpus: tokenizer training, the AlexaTM
objective mixture through PretrainStream, outputs, resume through the CLI, and a clear error on bad input."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from tandem.cli import main

WORDS = {
    "en": "the cat sat on a mat and looked at one small red bird in the old green tree today".split(),
    "de": "die katze sass auf einer matte und sah einen kleinen roten vogel im alten gruenen baum".split(),
}


def _corpus(tmp_path):
    rng = random.Random(0)
    files = []
    for lang, words in WORDS.items():
        lines = [" ".join(rng.choice(words) for _ in range(rng.randint(6, 14))) for _ in range(300)]
        p = tmp_path / f"{lang}.txt"
        p.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files.append(str(p))
    return files


def test_pretrain_cli_smoke_and_resume(tmp_path, capsys):
    files = _corpus(tmp_path)
    out = tmp_path / "run"
    common = [
        "pretrain",
        "--preset",
        "tiny",
        "--model-overrides",
        '{"d_model": 32, "ffn_dim": 64, "num_heads": 2}',
        "--data",
        *files,
        "--vocab-size",
        "320",
        "--batch-size",
        "4",
        "--seq-len",
        "32",
        "--lr",
        "3e-3",
        "--warmup",
        "1",
        "--log-every",
        "1",
        "--ckpt-every",
        "2",
        "--out",
        str(out),
        "--no-progress",
        "--no-tensorboard",
        "--steps",
        "5",
    ]
    assert main([*common, "--stop-after", "3"]) == 0
    assert main([*common, "--resume"]) == 0
    recs = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in recs] == [1, 2, 3, 4, 5]
    assert any("loss_denoise" in r for r in recs)
    assert "resumed from" in capsys.readouterr().out
    cfg = json.loads((out / "train_config.json").read_text())
    assert cfg["tokenizer"] == str(out / "tokenizer") and cfg["model_overrides"]["d_model"] == 32
    for f in (
        "model/config.json",
        "model/model.safetensors",
        "model/tokenizer.model",
        "loss.png",
        "data_stats.json",
    ):
        assert (out / f).is_file(), f
    stats = json.loads((out / "data_stats.json").read_text())
    assert stats  # per-language document counts and problems are reported


def test_pretrain_resumes_from_its_own_train_config(tmp_path):
    """`tandem pretrain --config OUT/train_config.json --resume` (the README's resume command) reads back the
    resolved config the run wrote, `"decontaminate": []` included, and continues the run."""
    files = _corpus(tmp_path)
    out = tmp_path / "run"
    argv = ["pretrain", "--model-overrides", '{"d_model": 32, "ffn_dim": 64, "num_heads": 2}']
    argv += ["--preset", "tiny", "--data", *files, "--vocab-size", "320", "--batch-size", "2"]
    argv += ["--seq-len", "16", "--steps", "3"]
    argv += ["--log-every", "1", "--out", str(out), "--no-progress", "--no-tensorboard", "--no-plot"]
    assert main([*argv, "--stop-after", "2"]) == 0
    assert json.loads((out / "train_config.json").read_text())["decontaminate"] == []
    assert main(["pretrain", "--config", str(out / "train_config.json"), "--resume"]) == 0
    recs = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in recs] == [1, 2, 3]


def test_pretrain_init_from_reads_the_data_with_the_models_tokenizer(tmp_path, capsys):
    """Continued pretraining (`--init-from DIR`, no --tokenizer) tokenises with the tokenizer saved in DIR; it
    used to train a new one on the new data, which, of the same size, ran on ids the weights never saw."""
    en, de = _corpus(tmp_path)
    argv = ["pretrain", "--steps", "1", "--vocab-size", "300", "--batch-size", "2", "--seq-len", "16"]
    argv += ["--no-progress", "--no-tensorboard"]
    first, second = tmp_path / "first", tmp_path / "second"
    small = ["--model-overrides", '{"d_model": 32, "ffn_dim": 64, "num_heads": 2}']
    assert main([*argv, *small, "--data", en, "--out", str(first)]) == 0
    assert main([*argv, "--data", de, "--out", str(second), "--init-from", str(first / "model")]) == 0
    assert json.loads((second / "train_config.json").read_text())["tokenizer"] == str(first / "model")
    assert not (second / "tokenizer").exists()
    saved = (second / "model" / "tokenizer.model").read_bytes()
    assert saved == (first / "model" / "tokenizer.model").read_bytes()
    # --vocab-size sizes only a tokenizer trained here: with another size it was silently ignored
    third = tmp_path / "third"
    argv[argv.index("--vocab-size") + 1] = "400"
    assert main([*argv, "--data", de, "--out", str(third), "--init-from", str(first / "model")]) == 2
    err = capsys.readouterr().err
    assert "--vocab-size 400" in err and "--init-from" in err and "vocabulary is 300" in err
    assert not (third / "model").exists()


def test_pretrain_cli_missing_data_is_a_clear_error(tmp_path, capsys):
    rc = main(
        ["pretrain", "--data", str(tmp_path / "nope.txt"), "--out", str(tmp_path / "r"), "--steps", "2"]
    )
    assert rc == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "nope.txt" in err
    assert "hub" not in err  # a file name with an extension: no hint about the Hub


def test_a_missing_data_name_like_a_hub_dataset_says_how_to_give_one(tmp_path, capsys, monkeypatch):
    """`--data wikitext` / `--data allenai/c4` name no local file: the error shows the config entry that reads
    a Hugging Face hub dataset (`"format": "hf"`), and nothing is written."""
    monkeypatch.chdir(tmp_path)
    for name in ("wikitext", "allenai/c4"):
        assert main(["pretrain", "--data", name, "--out", "r", "--steps", "2"]) == 2
        err = capsys.readouterr().err
        assert f"--data {name}: no such file or directory; a Hugging Face hub dataset" in err
        assert f'{{"path": "{name}", "lang": "en", "format": "hf"}}' in err
    assert not (tmp_path / "r").exists()


def test_pretrain_cli_trains_its_tokenizer_through_the_data_readers(tmp_path, capsys):
    """parquet and HF sources, a jsonl row without its field, invalid UTF-8 and an empty file: the tokenizer
    trained on --data reads them as the data stream does (bad records skipped and counted), not as a crash."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rng = random.Random(1)
    en, de = WORDS["en"], WORDS["de"]

    def line(words):
        return " ".join(rng.choice(words) for _ in range(rng.randint(6, 14)))

    rows = [json.dumps({"title": "t"} if i == 7 else {"text": line(en)}) for i in range(1, 201)]
    (tmp_path / "en.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    body = [line(de).encode() for _ in range(200)]
    body[4] = b"die katze \xff\xfe sass"
    (tmp_path / "de.txt").write_bytes(b"\n".join(body) + b"\n")
    (tmp_path / "fr.txt").write_text("")
    pq.write_table(pa.table({"body": [line(en) for _ in range(200)]}), tmp_path / "it.parquet")
    cfg = {
        "data": [
            str(tmp_path / "en.jsonl"),
            str(tmp_path / "de.txt"),
            str(tmp_path / "fr.txt"),
            {"path": str(tmp_path / "it.parquet"), "lang": "it", "field": "body"},
        ]
    }
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    out = tmp_path / "run"
    argv = ["pretrain", "--config", str(tmp_path / "cfg.json"), "--preset", "tiny", "--vocab-size", "320"]
    argv += ["--model-overrides", '{"d_model": 32, "ffn_dim": 64, "num_heads": 2}', "--batch-size", "4"]
    argv += ["--seq-len", "32", "--steps", "2", "--out", str(out), "--no-progress", "--no-tensorboard"]
    assert main(argv) == 0
    assert (out / "tokenizer" / "tokenizer.model").is_file()
    stats = json.loads((out / "data_stats.json").read_text())
    assert stats["empty_languages"] == ["fr"]
    # what was skipped is said at the end of the run, not only written into data_stats.json
    said = capsys.readouterr().err
    counts = [f"{stats[k]} {k}" for k in ("invalid_utf8", "missing_field") if stats[k]]
    for part in ("1 empty_files", *counts, "no data for languages fr", "data_stats.json"):
        assert part in said, said


def test_pretrain_cli_decontaminates_against_evaluation_files(tmp_path, capsys):
    rng = random.Random(2)
    docs = [" ".join(rng.choice(WORDS["en"]) for _ in range(16)) for _ in range(40)]
    (tmp_path / "en.txt").write_text("\n".join(docs) + "\n", encoding="utf-8")
    (tmp_path / "eval.jsonl").write_text(json.dumps({"question": "x", "context": docs[3]}) + "\n")
    out = tmp_path / "run"
    argv = ["pretrain", "--data", str(tmp_path / "en.txt"), "--decontaminate", str(tmp_path / "eval.jsonl")]
    argv += ["--model-overrides", '{"d_model": 32, "ffn_dim": 64, "num_heads": 2}', "--vocab-size", "290"]
    argv += ["--batch-size", "4", "--seq-len", "32", "--steps", "12", "--out", str(out), "--no-progress"]
    assert main([*argv, "--no-tensorboard"]) == 0
    stats = json.loads((out / "data_stats.json").read_text())
    assert stats["decontaminated"] == 1 and stats["docs"]["en"] >= 20
    assert any("13-gram" in m for m in stats["problems"])
    assert "1 decontaminated" in capsys.readouterr().err


def test_pretrain_help_names_the_source_formats_and_the_config_form(capsys):
    with pytest.raises(SystemExit):
        main(["pretrain", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for part in (".jsonl", ".parquet", "upsample", "save_to_disk", "--decontaminate", "--overwrite"):
        assert part in text, part


@pytest.mark.parametrize(
    ("signame", "code", "word"), [("SIGTERM", 143, "terminated"), ("SIGINT", 130, "interrupted")]
)
def test_pretrain_exits_128_plus_the_signal_after_saving(tmp_path, monkeypatch, capsys, signame, code, word):
    import signal

    import tandem.train.trainer as trainer

    def stopped(cfg):
        raise trainer.TrainingInterrupted(getattr(signal, signame), 3)

    monkeypatch.setattr(trainer, "train", stopped)
    files = _corpus(tmp_path)
    assert main(["pretrain", "--data", *files, "--out", str(tmp_path / "run")]) == code
    assert word in capsys.readouterr().err


@pytest.mark.parametrize(
    ("value", "word"),
    [('"ten"', "an integer"), ("10.5", "an integer"), ("true", "an integer"), ('["a", 2]', "an integer")],
)
def test_a_mistyped_config_value_names_the_file_and_key(tmp_path, capsys, value, word):
    cfg = tmp_path / "run.json"
    cfg.write_text('{"steps": ' + value + ', "data": ["x.txt"]}')
    assert main(["pretrain", "--config", str(cfg), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert f"config file {cfg}" in err and "steps" in err and word in err, err
    assert not (tmp_path / "run").exists()


def test_a_mistyped_config_list_value_names_the_file_and_key(tmp_path, capsys):
    cfg = tmp_path / "run.toml"
    cfg.write_text('betas = [0.9, "x"]\ndata = ["x.txt"]\n')
    assert main(["pretrain", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert f"config file {cfg}" in err and "betas" in err and "a number" in err, err


class _NumTok:
    pad_id, eos_id, clm_id, doc_id, vocab_size = 1, 2, 4, 5, 1000
    sentinel_ids = list(range(900, 1000))

    def encode(self, text: str, add_eos: bool = False) -> list[int]:
        return [int(w) for w in text.split()] + ([2] if add_eos else [])


def _pretrain_config(argv: list[str]):
    from tandem.cli import _apply_config, build_parser
    from tandem.cli.pretrain import config_from_args

    return config_from_args(_apply_config(build_parser()[1]["pretrain"], argv))


def test_objective_settings_from_flags_reach_the_data_stream(tmp_path):
    from tandem.train.trainer import _build_data

    (tmp_path / "en.txt").write_text("\n".join(" ".join(str(10 + i) for i in range(40)) for _ in range(5)))
    argv = ["--data", str(tmp_path / "en.txt"), "--seq-len", "32", "--batch-size", "2"]
    cfg = _pretrain_config([*argv, "--denoise-prob", "0.5", "--drop-rate", "0.3", "--mean-span", "5"])
    cfg.validate()
    obj = _build_data(cfg, _NumTok(), 0, 1).objective
    assert (obj.denoise_prob, obj.drop_rate, obj.mean_span) == (0.5, 0.3, 5.0)
    default = _build_data(_pretrain_config(argv), _NumTok(), 0, 1).objective  # AlexaTM's
    assert (default.denoise_prob, default.drop_rate, default.mean_span) == (0.8, 0.15, 3.0)
    t5 = _build_data(_pretrain_config([*argv, "--objective", "t5", "--drop-rate", "0.25"]), _NumTok(), 0, 1)
    assert t5.objective.noise_density == 0.25  # T5 calls the corrupted share the noise density
    cfg = tmp_path / "c.json"  # the same settings through a config file
    cfg.write_text(json.dumps({"data": [str(tmp_path / "en.txt")], "drop_rate": 0.2, "mean_span": 4}))
    got = _pretrain_config(["--config", str(cfg)])
    assert (got.drop_rate, got.mean_span, got.denoise_prob) == (0.2, 4, None)


@pytest.mark.parametrize(
    ("flags", "msg"),
    [
        (["--drop-rate", "1.5"], "drop_rate must be in"),
        (["--drop-rate", "0"], "drop_rate must be in"),
        (["--mean-span", "0.5"], "mean_span must be >= 1"),
        (["--denoise-prob", "-0.1"], "denoise_prob must be in"),
        (["--objective", "denoise", "--denoise-prob", "0.5"], "denoise_prob.*objective alexatm"),
        (["--objective", "ul2", "--mean-span", "8"], "mean_span.*alexatm, denoise, t5"),
        # checked before the tokenizer is trained (and nothing is written)
        (["--model-overrides", '{"nope": 1}'], r"unknown ModelConfig fields \['nope'\]"),
        (["--model-overrides", '{"d_model": "big"}'], "d_model must be int"),
        # the model the preset and overrides make, also checked before any work (a tokenizer was trained
        # and written first, then the run failed; vocab_size in the overrides was a TypeError traceback)
        (["--model-overrides", '{"d_model": -4}'], "d_model must be positive"),
        (["--model-overrides", '{"d_model": 63, "num_heads": 2}'], "not divisible by num_heads"),
        (
            ["--model-overrides", '{"vocab_size": 500}'],
            "vocab_size is the tokenizer's; set it with --vocab-size",
        ),
        (["--preset", "huge"], "unknown preset 'huge'"),
    ],
)
def test_objective_settings_are_range_checked(tmp_path, capsys, flags, msg):
    import re

    files = _corpus(tmp_path)
    assert main(["pretrain", "--data", *files, "--out", str(tmp_path / "run"), *flags]) == 2
    assert re.search(msg, capsys.readouterr().err)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("objective", ["t5", "ul2"])
def test_span_objectives_train_from_the_cli_with_their_own_sentinel_and_mode_tokens(
    tmp_path, capsys, objective
):
    """`--objective t5|ul2` trains a tokenizer holding T5's sentinels (and UL2's mode tokens) as their own
    symbols: no ordinary piece of the text doubles as a sentinel, and the run trains."""
    from tandem.tokenizer import Tokenizer
    from tandem.train.trainer import _build_data

    files = _corpus(tmp_path)
    out = tmp_path / "run"
    argv = [
        "pretrain",
        "--preset",
        "tiny",
        "--model-overrides",
        '{"d_model": 32, "ffn_dim": 64, "num_heads": 2}',
    ]
    argv += ["--data", *files, "--vocab-size", "420", "--batch-size", "4", "--seq-len", "32", "--steps", "2"]
    argv += ["--objective", objective, "--out", str(out), "--no-progress", "--no-tensorboard", "--no-plot"]
    assert main(argv) == 0
    tok = Tokenizer.load(out / "tokenizer")
    assert len(tok.sentinel_ids) == 100 and tok.sentinel_ids == sorted(tok.sentinel_ids)
    assert set(tok.mode_ids) == ({"R", "S", "X"} if objective == "ul2" else set())
    reserved = set(tok.sentinel_ids) | set(tok.mode_ids.values())
    text = Path(files[0]).read_text(encoding="utf-8")
    assert not reserved & set(tok.encode(text))
    stream = iter(_build_data(_pretrain_config(argv[1:]), tok, 0, 1))
    ids = set()
    for _ in range(10):
        batch = next(stream)
        ids |= set(batch["input_ids"].flatten().tolist()) | set(batch["labels"].flatten().tolist())
    assert tok.sentinel_ids[0] in ids
    if objective == "ul2":
        assert set(tok.mode_ids.values()) & ids
    # a tokenizer without them is refused up front, naming what is missing and what to do
    plain = Tokenizer.train(iter(text.splitlines()), vocab_size=290, num_threads=1)
    plain.save(tmp_path / "plain")
    argv2 = [a if a != str(out) else str(tmp_path / "run2") for a in argv] + [
        "--tokenizer",
        str(tmp_path / "plain"),
    ]
    del argv2[argv2.index("--vocab-size") : argv2.index("--vocab-size") + 2]  # sizes a trained one only
    capsys.readouterr()
    assert main(argv2) == 2
    assert "<extra_id_0>" in capsys.readouterr().err


def test_pretrain_model_overrides_that_are_not_json_objects_are_usage_errors(tmp_path, capsys):
    for value, msg in (("{bad", "not valid JSON"), ("[1]", "expected a JSON object")):
        with pytest.raises(SystemExit) as e:
            main(
                [
                    "pretrain",
                    "--data",
                    *_corpus(tmp_path),
                    "--model-overrides",
                    value,
                    "--out",
                    str(tmp_path / "r"),
                ]
            )
        assert e.value.code == 2 and f"--model-overrides: {msg}" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_a_tokenizer_left_by_an_earlier_start_is_not_reused_for_another_objective_or_size(tmp_path, capsys):
    """A start killed before its first checkpoint leaves OUT/tokenizer behind. A new start with another
    --objective or --vocab-size used to pick it up silently (or fail with advice to let pretrain train the
    tokenizer, which it had): it is refused naming the mismatch, and --overwrite trains a new one."""
    from tandem.tokenizer import Tokenizer

    files = _corpus(tmp_path)
    out = tmp_path / "run"
    Tokenizer.train(iter(Path(files[0]).read_text(encoding="utf-8").splitlines()), vocab_size=300).save(
        out / "tokenizer"
    )
    argv = [
        "pretrain",
        "--model-overrides",
        '{"d_model": 32, "ffn_dim": 64, "num_heads": 2}',
        "--data",
        *files,
    ]
    argv += ["--batch-size", "2", "--seq-len", "32", "--steps", "1", "--out", str(out), "--no-progress"]
    argv += ["--no-tensorboard", "--no-plot", "--vocab-size", "420"]
    assert main([*argv, "--objective", "ul2"]) == 2
    err = capsys.readouterr().err
    assert "vocabulary 300, not --vocab-size 420" in err and "no <extra_id_0>" in err and "--overwrite" in err
    assert main([*argv, "--objective", "ul2", "--overwrite"]) == 0
    tok = Tokenizer.load(out / "tokenizer")
    assert tok.vocab_size == 420 and set(tok.mode_ids) == {"R", "S", "X"}
    assert main([*argv, "--objective", "ul2", "--resume", "--steps", "2"]) == 0  # its own tokenizer fits


def test_a_run_folder_given_as_a_model_names_its_final_model(tmp_path, capsys):
    """`tandem evaluate --model runs/tiny` (the README's pretrain --out) pointed at the run folder, not its
    model: the error names the folder to pass."""
    from tandem.config import ModelConfig
    from tandem.model import Seq2SeqLM

    Seq2SeqLM(ModelConfig.preset("tiny", vocab_size=64, d_model=16, ffn_dim=32, num_heads=2)).save_pretrained(
        tmp_path / "run" / "model"
    )
    assert main(["generate", str(tmp_path / "run"), "--prompt", "x"]) == 2
    assert f"pass its final model, {tmp_path / 'run' / 'model'}" in capsys.readouterr().err


def test_the_saved_train_config_resumes_after_an_overwrite_and_stop_after_start(tmp_path):
    """README: `tandem pretrain --config OUT/train_config.json --resume`. The file kept the first start's
    --overwrite (then refused with --resume) and --stop-after (the resume stopped again after as many
    steps); it holds neither now, and the resume reaches --steps."""
    files = _corpus(tmp_path)
    out = tmp_path / "run"
    argv = [
        "pretrain",
        "--model-overrides",
        '{"d_model": 32, "ffn_dim": 64, "num_heads": 2}',
        "--data",
        *files,
    ]
    argv += [
        "--vocab-size",
        "320",
        "--batch-size",
        "2",
        "--seq-len",
        "32",
        "--steps",
        "4",
        "--log-every",
        "1",
    ]
    argv += ["--out", str(out), "--no-progress", "--no-tensorboard", "--no-plot", "--ckpt-every", "1"]
    assert main([*argv, "--overwrite", "--stop-after", "1"]) == 0
    saved = json.loads((out / "train_config.json").read_text())
    assert (saved["resume"], saved["overwrite"], saved["stop_after"]) == (False, False, None)
    assert main(["pretrain", "--config", str(out / "train_config.json"), "--resume"]) == 0
    recs = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in recs] == [1, 2, 3, 4]


def test_init_from_takes_dropout_and_refuses_overrides_that_would_change_the_model(tmp_path, capsys):
    """--init-from loaded the saved model and silently dropped --dropout and every --model-overrides field.
    Dropout now applies to the loaded weights; a field that would change the model is refused up front."""
    import torch

    from tandem.config import ModelConfig
    from tandem.errors import TandemError
    from tandem.model import Seq2SeqLM
    from tandem.train.trainer import TrainConfig, _build_model

    torch.manual_seed(0)
    cfg = ModelConfig.preset("tiny", vocab_size=300, d_model=32, num_heads=2, ffn_dim=64)
    src = tmp_path / "src"
    Seq2SeqLM(cfg).save_pretrained(src)
    run = TrainConfig(init_from=str(src), model_overrides={"dropout": 0.3}, out=str(tmp_path / "o"))
    run.validate()
    model = _build_model(run, 300)
    assert model.config.dropout == 0.3 and cfg.dropout != 0.3
    rates = {m.dropout for m in model.modules() if isinstance(getattr(m, "dropout", None), float)}
    assert rates == {0.3}  # the layers' functional dropout rate
    want = Seq2SeqLM.from_pretrained(src).state_dict()
    got = model.state_dict()
    assert got.keys() == want.keys() and all(torch.equal(got[k], want[k]) for k in want)
    bad = TrainConfig(
        init_from=str(src), model_overrides={"d_model": 64, "dropout": 0.1}, out=str(tmp_path / "o")
    )
    with pytest.raises(TandemError, match=r"init_from .*\['d_model'\] would change it"):
        bad.validate()
    data = tmp_path / "en.txt"
    data.write_text("one document\n", encoding="utf-8")
    assert (
        main(
            [
                "pretrain",
                "--data",
                str(data),
                "--init-from",
                str(src),
                "--model-overrides",
                '{"ffn_dim": 8}',
                "--out",
                str(tmp_path / "cli"),
            ]
        )
        == 2
    )
    assert "['ffn_dim'] would change it" in capsys.readouterr().err
    assert not (tmp_path / "cli").exists()


def test_pretrain_on_binary_data_says_what_was_skipped(tmp_path, capsys):
    """A --data file of binary bytes: the tokenizer error says how many records of which file were skipped
    and why, and suggests only pretrain's options (no character_coverage, which pretrain has no flag for)."""
    rng = random.Random(3)
    blob = tmp_path / "blob.bin"
    # every line but the last starts with an invalid UTF-8 byte; the last one is short valid text
    lines = [bytes([0xFF]) + bytes(rng.randrange(32, 127) for _ in range(40)) for _ in range(50)]
    blob.write_bytes(b"\n".join([*lines, b"x y"]) + b"\n")
    argv = ["pretrain", "--data", f"en:{blob}", "--out", str(tmp_path / "r"), "--steps", "1"]
    assert main([*argv, "--vocab-size", "2000"]) == 2
    err = capsys.readouterr().err
    assert f"--data {blob}: 1 document read, 50 records skipped (50 invalid utf8" in err
    assert "character_coverage" not in err and "--character-coverage" not in err
    assert "--vocab-size" in err and "--tokenizer" in err

    zeros = tmp_path / "zeros.bin"
    zeros.write_bytes(b"\x00" * 1000)
    assert main(["pretrain", "--data", f"en:{zeros}", "--out", str(tmp_path / "z"), "--steps", "1"]) == 2
    err = capsys.readouterr().err
    assert f"--data {zeros}: 0 documents read, 1 records skipped (1 nul docs" in err


def test_a_tokenizer_trained_on_a_mostly_skipped_file_warns_with_its_counts(tmp_path, capsys):
    """A file two thirds of whose lines are binary: the tokenizer was trained on the rest without a word when
    the vocabulary still fit. Now it warns, per file, with the records read and skipped (blank lines and a
    file with a few bad lines are not warned of), and still trains."""
    from tandem.train.trainer import TrainConfig, _build_tokenizer

    rng = random.Random(0)
    words = ["".join(rng.choice("abcdefghijklmnop") for _ in range(rng.randrange(2, 7))) for _ in range(300)]

    def text(n: int) -> bytes:
        return " ".join(rng.choice(words) for _ in range(n)).encode() + b"\n"

    d = tmp_path / "mix"
    d.mkdir()
    bad, ok = d / "bad.txt", d / "ok.txt"
    bad.write_bytes(
        b"".join(
            text(12) if k % 3 == 0 else bytes(rng.randrange(128, 256) for _ in range(40)) + b"\n"
            for k in range(3000)
        )
    )
    # 1 bad line in 20 (5%), and a blank line after every line (skipped, but no sign of binary data)
    ok.write_bytes(b"".join((b"\xff\n" if k % 20 == 0 else text(10)) + b"\n" for k in range(1000)))
    cfg = TrainConfig.from_dict({"data": [f"en:{d}"], "vocab_size": 300, "out": str(tmp_path / "run")})
    tok = _build_tokenizer(cfg, tmp_path / "run", 0)
    assert tok.vocab_size == 300
    err = capsys.readouterr().err
    assert (
        f"warning: the tokenizer was trained on what was left of files with more than 10% of their records "
        f"skipped (blank ones not counted): {bad}: 1,000 read, 2,000 skipped (67%: 2,000 invalid utf8; first: "
        f"{bad} line 2: invalid UTF-8 at byte 0 (skipped)). Binary data"
    ) in err
    assert str(ok) not in err and err.count("warning") == 1


def test_pretrain_without_a_usable_document_points_to_its_data_stats(tmp_path, capsys):
    """The error sent CLI users to `stream.stats['problems']`, a Python object they do not have: it names the
    data_stats.json written before it, and each source without a usable document comes first."""
    from tandem.tokenizer import Tokenizer

    Tokenizer.train(iter(open(_corpus(tmp_path)[0], encoding="utf-8")), vocab_size=300).save(tmp_path / "tok")
    (tmp_path / "bad.txt").write_bytes(b"\xff\n" * 5)
    (tmp_path / "short.txt").write_text("a\n" * 5)
    out = tmp_path / "run"
    argv = ["pretrain", "--data", f"en:{tmp_path / 'bad.txt'}", f"de:{tmp_path / 'short.txt'}"]
    argv += ["--tokenizer", str(tmp_path / "tok"), "--preset", "tiny", "--batch-size", "2", "--seq-len", "32"]
    argv += ["--model-overrides", '{"d_model": 32, "ffn_dim": 64, "num_heads": 2}', "--steps", "2"]
    assert main([*argv, "--out", str(out), "--no-progress", "--no-tensorboard", "--no-plot"]) == 2
    err = capsys.readouterr().err.splitlines()[-1]
    assert err.startswith("error: ") and "stream.stats" not in err
    assert f"every problem is listed in {out / 'data_stats.json'}" in err
    stats = json.loads((out / "data_stats.json").read_text())
    assert sorted(stats["dead_sources"]) == ["de:short.txt", "en:bad.txt"]
    assert f"en:bad.txt: {tmp_path / 'bad.txt'} line 1: invalid UTF-8" in err
    assert f"de:short.txt: {tmp_path / 'short.txt'} line 1: " in err


def test_a_tokenizer_trained_on_a_truncated_gz_names_it(tmp_path, capsys):
    """pretrain's own tokenizer read a truncated .gz to the damage and trained on that without a word (the
    data stream skips the rest too, but counts it only when it gets there, maybe never in a short run; and
    `tandem tokenizer train` refuses such a file). The damaged file is now warned of, named, whatever its
    share of the text; an intact .gz is not."""
    import gzip

    from tandem.train.trainer import TrainConfig, _build_tokenizer

    en, de = (Path(f).read_bytes() for f in _corpus(tmp_path))
    whole = gzip.compress(en, mtime=0)
    (tmp_path / "en.txt.gz").write_bytes(whole[: len(whole) // 2])  # cut in the middle
    (tmp_path / "de.txt.gz").write_bytes(gzip.compress(de, mtime=0))
    data = [f"en:{tmp_path / 'en.txt.gz'}", f"de:{tmp_path / 'de.txt.gz'}"]
    cfg = TrainConfig.from_dict({"data": data, "vocab_size": 300, "out": str(tmp_path / "run")})
    assert _build_tokenizer(cfg, tmp_path / "run", 0).vocab_size == 300
    err = capsys.readouterr().err
    assert err.startswith("warning: the tokenizer was trained on what could be read of 1 damaged --data file")
    assert f"{tmp_path / 'en.txt.gz'}: corrupt or truncated gzip file (EOFError" in err
    assert "de.txt.gz" not in err and err.count("warning") == 1


def test_a_length_past_the_models_learned_positions_is_refused_before_training(tmp_path, capsys):
    """`--seq-len`/`--target-len` longer than a learned position table (`max_positions`) stopped the run
    with a ValueError traceback at the first batch that long; now refused up front, before a tokenizer is
    trained for a preset and before step 1 for an `--init-from` model, naming the flag and the limit."""
    en, _ = _corpus(tmp_path)
    argv = ["pretrain", "--steps", "1", "--vocab-size", "300", "--batch-size", "2", "--data", en]
    argv += ["--no-progress", "--no-tensorboard"]
    small = ["--model-overrides", '{"d_model": 32, "ffn_dim": 64, "num_heads": 2, "max_positions": 24}']
    for flag in ("--seq-len", "--target-len"):
        out = tmp_path / flag.strip("-")
        lens = ["--seq-len", "16", flag, "25"] if flag == "--target-len" else [flag, "25"]
        assert main([*argv, *small, *lens, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert f"{flag} 25" in err and "24 learned positions" in err and "max_positions" in err
        assert not (out / "tokenizer").exists()  # refused before the tokenizer was trained
    first = tmp_path / "first"
    assert main([*argv, *small, "--seq-len", "24", "--out", str(first)]) == 0  # the limit itself is fine
    later = tmp_path / "later"
    assert main([*argv, "--seq-len", "25", "--init-from", str(first / "model"), "--out", str(later)]) == 2
    err = capsys.readouterr().err
    assert "--seq-len 25" in err and "24 learned positions" in err and "--model-overrides" not in err
    assert not (later / "metrics.jsonl").exists()
    # T5-style relative positions have no table: any length trains
    rel = ["--model-overrides", '{"d_model": 32, "ffn_dim": 64, "num_heads": 2, "max_positions": 8, ']
    rel[1] += '"position_type": "relative"}'
    assert main([*argv, *rel, "--seq-len", "16", "--out", str(tmp_path / "rel")]) == 0


def test_a_warmup_as_long_as_the_run_is_warned_about(tmp_path, capsys):
    """`--warmup` >= `--steps` was shortened to the run silently: the lr peaked at the last step, never
    decaying; a warning now says so (a shorter warmup gives none)."""
    en, _ = _corpus(tmp_path)
    argv = ["pretrain", "--steps", "3", "--vocab-size", "300", "--batch-size", "2", "--seq-len", "16"]
    argv += ["--no-progress", "--no-tensorboard", "--log-every", "1", "--data", en]
    argv += ["--model-overrides", '{"d_model": 32, "ffn_dim": 64, "num_heads": 2}']
    assert main([*argv, "--warmup", "3", "--out", str(tmp_path / "long")]) == 0
    assert "warning: --warmup 3 >= --steps 3" in capsys.readouterr().err
    rows = [json.loads(x) for x in (tmp_path / "long" / "metrics.jsonl").read_text().splitlines()]
    lrs = [r["lr"] for r in rows if "lr" in r]
    assert lrs == sorted(lrs) and len(set(lrs)) == 3  # rising at every step, as warned
    assert main([*argv, "--warmup", "2", "--out", str(tmp_path / "short")]) == 0
    assert "--warmup" not in capsys.readouterr().err


def test_encoder_init_problems_are_said_before_the_tokenizer_is_trained(tmp_path, capsys):
    """A missing `--encoder-init` folder was reported after the tokenizer had been trained, without the flag's
    name; `--freeze-encoder-steps` with nothing to warm-start from froze a random encoder without a word."""
    en, _ = _corpus(tmp_path)
    argv = ["pretrain", "--steps", "1", "--vocab-size", "300", "--batch-size", "2", "--seq-len", "16"]
    argv += ["--no-progress", "--no-tensorboard", "--data", en]
    argv += ["--model-overrides", '{"d_model": 32, "ffn_dim": 64, "num_heads": 2}']
    out = tmp_path / "missing"
    assert main([*argv, "--encoder-init", str(tmp_path / "nope"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"--encoder-init {tmp_path / 'nope'}: not a model directory" in err
    assert not (out / "tokenizer").exists()
    assert main([*argv, "--freeze-encoder-steps", "1", "--out", str(tmp_path / "frozen")]) == 0
    assert (
        "warning: --freeze-encoder-steps 1 without --encoder-init or --init-from" in capsys.readouterr().err
    )
    first = tmp_path / "frozen" / "model"
    assert (
        main(
            [*argv, "--freeze-encoder-steps", "1", "--encoder-init", str(first), "--out", str(tmp_path / "w")]
        )
        == 0
    )
    assert "--freeze-encoder-steps" not in capsys.readouterr().err


def test_the_tokenizer_pretrain_trains_sees_its_spoken_fraction_in_each_sources_language(tmp_path):
    """AlexaTM trained its tokenizer on the 7:3 spoken:written mix of its data: with --spoken-fraction the
    tokenizer pretrain trains for itself saw only written text (digits, capitals, punctuation), never the
    spoken words the model then reads. Each document is read in its own source's language; a language with
    no spoken form stays written, as in the data stream."""
    from tandem.spoken import to_spoken
    from tandem.tokenizer import Tokenizer
    from tandem.train.trainer import TrainConfig, _build_tokenizer

    rng = random.Random(0)
    (tmp_path / "en.txt").write_text(
        "".join(f"On May {rng.randint(1, 28)} we paid ${rng.randint(2, 999)} for it.\n" for _ in range(300))
    )
    (tmp_path / "fr.txt").write_text(
        "".join(f"Le {rng.randint(1, 28)} mai, il a payé {rng.randint(2, 999)} €.\n" for _ in range(300))
    )
    (tmp_path / "sw.txt").write_text("".join(f"Habari {rng.randint(2, 99)} leo.\n" for _ in range(300)))
    data = [f"en:{tmp_path / 'en.txt'}", f"fr:{tmp_path / 'fr.txt'}", f"sw:{tmp_path / 'sw.txt'}"]
    base = {"data": data, "vocab_size": 400}
    tok = _build_tokenizer(
        TrainConfig.from_dict(base | {"spoken_fraction": 0.7, "out": str(tmp_path / "a")}), tmp_path / "a", 0
    )
    stats = tok.train_stats
    assert stats["spoken_ratio"] == 0.7
    # 70% of the 900 lines drawn for spoken form; sw's (a third of them) stay written
    assert 380 < stats["spoken_sentences"] < 470, stats
    assert Tokenizer.load(tmp_path / "a" / "tokenizer").train_stats == stats  # saved with it
    written = _build_tokenizer(TrainConfig.from_dict(base | {"out": str(tmp_path / "b")}), tmp_path / "b", 0)
    assert written.train_stats.get("spoken_sentences", 0) == 0
    # the words of the spoken text the model reads are pieces of the tokenizer, not spelt out
    said = to_spoken("On May 27 we paid $120.", "en") + " " + to_spoken("Le 3 mai, il a payé 50 €.", "fr")
    words = said.split()
    pieces = sum(len(tok.encode(w)) for w in words)
    assert pieces < 0.6 * sum(len(written.encode(w)) for w in words), said


EVAL_TEXT = "an evaluation text that shares no thirteen words in a row with the training corpus here\n"


def _relative_run_argv(out: str, steps: int) -> list[str]:
    """A small run whose --data, --decontaminate and --out are relative to the working directory."""
    argv = ["pretrain", "--model-overrides", '{"d_model": 32, "ffn_dim": 64, "num_heads": 2}']
    argv += ["--preset", "tiny", "--data", "corpus/en.txt", "de:corpus/de.txt", "--vocab-size", "320"]
    argv += ["--decontaminate", "corpus/eval.txt", "--batch-size", "2", "--seq-len", "16", "--lr", "3e-3"]
    argv += ["--warmup", "1"]
    argv += ["--steps", str(steps), "--ckpt-every", "2", "--log-every", "1", "--out", out]
    return argv + ["--no-progress", "--no-tensorboard", "--no-plot"]


def _losses(out: Path) -> list[float]:
    return [json.loads(x)["loss"] for x in (out / "metrics.jsonl").read_text().splitlines()]


def test_a_run_resumes_exactly_from_another_working_directory(tmp_path, monkeypatch, capsys):
    """`--config OUT/train_config.json --resume` from another directory: train_config.json holds the run's
    local paths absolute (they were kept as typed, so a relative --data was not found there, and a relative
    --out named another folder), and the resumed run's losses are those of an uninterrupted run."""
    a = tmp_path / "a"
    (a / "corpus").mkdir(parents=True)
    en, de = _corpus(a / "corpus")
    (a / "corpus" / "eval.txt").write_text(EVAL_TEXT, encoding="utf-8")
    monkeypatch.chdir(a)
    assert main(_relative_run_argv("whole", 4)) == 0
    assert main([*_relative_run_argv("run", 4), "--stop-after", "2"]) == 0
    saved = json.loads((a / "run" / "train_config.json").read_text())
    assert saved["data"] == [en, f"de:{de}"] and saved["out"] == str(a / "run")
    assert saved["decontaminate"] == [str(a / "corpus" / "eval.txt")]
    assert saved["tokenizer"] == str(a / "run" / "tokenizer")
    elsewhere = tmp_path / "b"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    assert main(["pretrain", "--config", str(a / "run" / "train_config.json"), "--resume"]) == 0
    err = capsys.readouterr().err
    assert "changed" not in err and "warning" not in err, err
    assert not any(elsewhere.iterdir())  # nothing written here: the run went on in its own folder
    assert _losses(a / "run") == _losses(a / "whole")


def test_a_resume_with_the_same_relative_flags_is_no_change(tmp_path, monkeypatch, capsys):
    """Resuming from the run's directory with the flags it was started with (relative, where
    train_config.json now holds absolute paths) is not reported as a change of settings."""
    (tmp_path / "corpus").mkdir()
    _corpus(tmp_path / "corpus")
    (tmp_path / "corpus" / "eval.txt").write_text(EVAL_TEXT, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main([*_relative_run_argv("run", 3), "--stop-after", "2"]) == 0
    capsys.readouterr()
    assert main([*_relative_run_argv("run", 3), "--resume"]) == 0
    assert "warning" not in capsys.readouterr().err


def test_a_checkpoint_whose_cursors_name_relative_paths_resumes_exactly(tmp_path, monkeypatch):
    """A checkpoint written before sources were read by absolute paths (its data cursors and
    train_config.json relative) resumes exactly from the directory it was written in."""
    import torch

    (tmp_path / "corpus").mkdir()
    _corpus(tmp_path / "corpus")
    (tmp_path / "corpus" / "eval.txt").write_text(EVAL_TEXT, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(_relative_run_argv("whole", 4)) == 0
    assert main([*_relative_run_argv("run", 4), "--stop-after", "2"]) == 0
    # make the run look like one of the release before: relative paths in its config and its cursors
    cfg_path = tmp_path / "run" / "train_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg |= {"data": ["corpus/en.txt", "de:corpus/de.txt"], "decontaminate": ["corpus/eval.txt"]}
    cfg |= {"out": "run", "tokenizer": "run/tokenizer"}
    cfg_path.write_text(json.dumps(cfg))
    prefix = str(tmp_path) + os.sep
    rewritten = 0
    for f in (tmp_path / "run" / "checkpoints").rglob("*.pt"):
        state = torch.load(f, weights_only=False)

        def relative(x):
            nonlocal rewritten
            if isinstance(x, dict):
                if isinstance(x.get("path"), str) and x["path"].startswith(prefix):
                    x["path"] = x["path"][len(prefix) :]
                    rewritten += 1
                return {k: relative(v) for k, v in x.items()}
            if isinstance(x, list):
                return [relative(v) for v in x]
            return x

        torch.save(relative(state), f)
    assert rewritten  # the cursors did name their files
    assert main(["pretrain", "--config", str(cfg_path), "--resume"]) == 0
    assert _losses(tmp_path / "run") == _losses(tmp_path / "whole")


def test_data_in_a_folder_with_glob_characters_is_read_as_itself(tmp_path, monkeypatch):
    """Sources are read by absolute path, and a folder above them may hold glob characters ("runs[1]"): an
    existing path is itself, not a pattern (it matched nothing: "no file matches")."""
    here = tmp_path / "runs[1]"
    (here / "corpus").mkdir(parents=True)
    _corpus(here / "corpus")
    (here / "corpus" / "eval.txt").write_text(EVAL_TEXT, encoding="utf-8")
    monkeypatch.chdir(here)
    assert main(_relative_run_argv("run", 1)) == 0
    assert json.loads((here / "run" / "train_config.json").read_text())["data"][0] == str(
        here / "corpus" / "en.txt"
    )
