"""`tandem finetune` / `tandem distill` end to end on a tiny SNIPS-format fixture, and their input errors."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch

from tandem.cli import main
from tandem.errors import TandemError
from tandem.finetune import (
    Pair,
    TrainConfig,
    collate,
    encode_pairs,
    fit,
    load_jsonl_pairs,
    score_slu,
    split_dev,
)

INTENTS = {
    "PlayMusic": ("play", ["artist"], ["queen", "abba", "muse", "adele"]),
    "GetWeather": ("weather in", ["city"], ["paris", "rome", "oslo", "lima"]),
}


def write_snips(root: Path, n: int, seed: int) -> Path:
    """A SNIPS-format folder (seq.in, seq.out, label) with two intents and one slot each."""
    rng = random.Random(seed)
    root.mkdir(parents=True)
    src, tags, labels = [], [], []
    for _ in range(n):
        intent = rng.choice(sorted(INTENTS))
        words, (slot,), values = INTENTS[intent]
        value = rng.choice(values)
        toks = words.split() + [value]
        src.append(" ".join(toks))
        tags.append(" ".join(["O"] * len(words.split()) + [f"B-{slot}"]))
        labels.append(intent)
    for name, lines in (("seq.in", src), ("seq.out", tags), ("label", labels)):
        (root / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def snips(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("snips")
    write_snips(d / "train", 96, 0)
    write_snips(d / "valid", 16, 1)
    return d


def test_score_slu_reads_linearised_parses_back():
    from tandem.slu import SLUExample

    gold = [
        SLUExample(["play", "queen"], ["O", "B-artist"], "PlayMusic"),
        SLUExample(["weather", "in", "rome"], ["O", "O", "B-city"], "GetWeather"),
    ]
    pairs = [Pair(g.text, g.target, g) for g in gold]
    assert pairs[0].target == "PlayMusic ; artist = queen"
    m = score_slu(pairs, ["PlayMusic ; artist = queen", "GetWeather ; city = paris"])
    # intents 2/2; slots: 1 right of 2 predicted, 2 gold -> F1 50; exact match 1/2
    assert m == {"intent_acc": 100.0, "slot_f1": 50.0, "exact_match": 50.0}


def test_jsonl_errors_name_file_and_line(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text('{"source": "a", "target": "b"}\n{"source": "a"}\n', encoding="utf-8")
    with pytest.raises(TandemError, match=r"d.jsonl line 2: field 'target' missing"):
        load_jsonl_pairs(p)
    p.write_text("{oops\n", encoding="utf-8")
    with pytest.raises(TandemError, match="line 1: not valid JSON"):
        load_jsonl_pairs(p)


def test_split_dev_is_disjoint_and_seeded():
    pairs = [Pair(str(i), str(i)) for i in range(20)]
    tr, dev = split_dev(pairs, 5, seed=3)
    assert len(tr) == 15 and len(dev) == 5 and not {p.source for p in tr} & {p.source for p in dev}
    assert [p.source for p in split_dev(pairs, 5, seed=3)[1]] == [p.source for p in dev]


class CharTok:
    """A byte-level stand-in tokenizer: ids 7.. are characters, EOS 2."""

    eos_id, pad_id, bos_id, clm_id = 2, 1, 0, 4

    def encode(self, text):
        return [7 + (ord(c) % 50) for c in text]

    def decode(self, ids, skip_special_tokens=True):
        return "".join(chr(97 + (i - 7 - 47) % 50) for i in ids if i >= 7)


def test_early_stopping_restores_the_best_weights():
    from tandem.config import ModelConfig
    from tandem.model import Seq2SeqLM

    model = Seq2SeqLM(
        ModelConfig.preset(
            "tiny",
            vocab_size=64,
            d_model=32,
            num_heads=2,
            ffn_dim=64,
            encoder_layers=1,
            decoder_layers=1,
            max_positions=64,
        )
    )
    data = encode_pairs(CharTok(), [Pair("ab", "ba"), Pair("cd", "dc")] * 4)
    scores = iter([5.0, 9.0, 7.0, 6.0, 1.0, 1.0])
    seen = []

    def evaluate(m):
        seen.append({k: v.clone() for k, v in m.state_dict().items()})
        return {"exact_match": next(scores)}

    cfg = TrainConfig(
        epochs=10, batch_size=4, eval_every=1, patience=2, metric="exact_match", log_every=100, device="cpu"
    )
    res = fit(model, data, cfg, evaluate, log=None)
    assert res.stopped_early and res.steps == 4 and res.best_step == 2 and res.best_metric == 9.0
    for k, v in model.state_dict().items():
        assert torch.equal(v, seen[1][k])
    batch = collate(data[:2], 1)
    assert batch["labels"][0].tolist()[-1] == 2 and batch["input_ids"].shape == (2, 3)


def test_a_tie_on_the_dev_metric_keeps_the_checkpoint_with_the_lower_dev_loss():
    """Exact match ties on small dev sets all the time: the later checkpoint wins a tie only when its dev loss
    is lower (and then counts as a gain for --patience); without a dev loss the earlier one is kept."""
    from tandem.config import ModelConfig
    from tandem.model import Seq2SeqLM

    def run(scores, patience):
        torch.manual_seed(0)
        model = Seq2SeqLM(
            ModelConfig.preset(
                "tiny", vocab_size=64, d_model=32, num_heads=2, ffn_dim=64, encoder_layers=1,
                decoder_layers=1, max_positions=64,
            )
        )  # fmt: skip
        data = encode_pairs(CharTok(), [Pair("ab", "ba"), Pair("cd", "dc")] * 4)
        it, seen = iter(scores), []

        def evaluate(m):
            seen.append({k: v.clone() for k, v in m.state_dict().items()})
            return next(it)

        cfg = TrainConfig(
            max_steps=len(scores), batch_size=4, eval_every=1, patience=patience, metric="exact_match",
            log_every=100, device="cpu",
        )  # fmt: skip
        res = fit(model, data, cfg, evaluate, log=None)
        assert all(torch.equal(v, seen[res.best_step - 1][k]) for k, v in model.state_dict().items())
        return res

    em = lambda e, loss: {"exact_match": e, "loss": loss}  # noqa: E731
    res = run([em(5.0, 3.0), em(5.0, 2.0), em(5.0, 2.5), em(4.0, 1.0)], patience=0)
    assert res.best_step == 2 and res.best_metric == 5.0
    # the tie with a lower loss is a gain: patience 1 does not stop after it
    res = run([em(5.0, 3.0), em(5.0, 2.0), em(5.0, 2.5), em(4.0, 1.0)], patience=1)
    assert res.best_step == 2 and res.steps == 3 and res.stopped_early
    # a higher primary metric wins whatever the loss
    assert run([em(5.0, 1.0), em(6.0, 9.0), em(5.0, 0.5)], patience=0).best_step == 2
    # no dev loss computed: the earlier checkpoint is kept on a tie
    assert run([{"exact_match": 5.0}, {"exact_match": 5.0}], patience=0).best_step == 1


def test_finetune_then_distill_cli(snips, tmp_path, capsys):
    teacher_dir = tmp_path / "teacher"
    rc = main(
        [
            "finetune",
            "--model",
            "tiny",
            "--model-overrides",
            '{"d_model": 32, "num_heads": 2, "ffn_dim": 64, "encoder_layers": 2, "decoder_layers": 2, "max_positions": 64}',
            "--task",
            "slu",
            "--data",
            str(snips),
            "--train-split",
            "train",
            "--dev",
            str(snips),
            "--dev-split",
            "valid",
            "--tokenizer",
            str(tmp_path / "tok"),
            "--vocab-size",
            "294",
            "--epochs",
            "2",
            "--batch-size",
            "16",
            "--lr",
            "3e-3",
            "--metric",
            "exact_match",
            "--max-new-tokens",
            "12",
            "--device",
            "cpu",
            "--out",
            str(teacher_dir),
        ]
    )
    assert rc == 0
    assert (teacher_dir / "best" / "config.json").is_file() and (
        teacher_dir / "best" / "tokenizer.model"
    ).is_file()
    rows = [json.loads(x) for x in (teacher_dir / "metrics.jsonl").read_text().splitlines()]
    assert any("dev_intent_acc" in r for r in rows) and any("tokens_per_s" in r for r in rows)
    assert set(json.loads((teacher_dir / "dev_metrics.json").read_text())) >= {
        "dev_slot_f1",
        "dev_exact_match",
    }

    out = tmp_path / "student"
    unlabelled = tmp_path / "unlabelled.txt"
    unlabelled.write_text("play some jazz in the kitchen\nwhat is the weather tomorrow\n", encoding="utf-8")
    rc = main(
        [
            "distill",
            "--teacher",
            str(teacher_dir / "best"),
            "--student",
            "shrink:1,1",
            "--task",
            "slu",
            "--data",
            str(snips),
            "--train-split",
            "train",
            "--dev-holdout",
            "16",
            "--epochs",
            "1",
            "--batch-size",
            "16",
            "--topk",
            "8",
            "--max-new-tokens",
            "12",
            "--device",
            "cpu",
            "--generic",
            str(unlabelled),
            "--generic-teacher",
            str(teacher_dir / "best"),
            "--transfer",
            str(unlabelled),
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    assert (out / "student_1" / "final" / "model.safetensors").is_file()
    assert (out / "student_1" / "generic" / "metrics.jsonl").is_file()  # stage 1 ran
    labelled = (out / "student_1" / "transfer_targets.jsonl").read_text().splitlines()
    assert len(labelled) == 1 + 2  # fingerprint line + the teacher's targets for both unlabelled inputs
    assert "init shrink" in capsys.readouterr().out


def test_cli_errors_before_compute(snips, tmp_path, capsys):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    assert main(["finetune", "--model", "tiny", "--data", str(empty), "--out", str(tmp_path / "o")]) == 2
    assert "is empty" in capsys.readouterr().err
    # a tokenizer with a different vocabulary than the teacher's
    from tandem.config import ModelConfig
    from tandem.model import Seq2SeqLM
    from tandem.tokenizer import Tokenizer

    rng = random.Random(0)
    words = [" ".join("".join(rng.choices("abcdefghij", k=5)) for _ in range(6)) for _ in range(300)]
    t1 = Tokenizer.train(iter(words), vocab_size=300)
    t2 = Tokenizer.train(iter(words), vocab_size=310)
    tdir = tmp_path / "t"
    Seq2SeqLM(
        ModelConfig.preset(
            "tiny",
            vocab_size=290,
            d_model=32,
            num_heads=2,
            ffn_dim=64,
            encoder_layers=1,
            decoder_layers=1,
            max_positions=64,
        )
    ).save_pretrained(tdir, tokenizer=t1)
    t2.save(tmp_path / "t2")
    rc = main(
        [
            "distill",
            "--teacher",
            str(tdir),
            "--student",
            "edge-2m",
            "--student-tokenizer",
            str(tmp_path / "t2"),
            "--task",
            "slu",
            "--data",
            str(snips / "train"),
            "--out",
            str(tmp_path / "s"),
        ]
    )
    assert rc == 2 and "300 pieces but student tokenizer has 310" in capsys.readouterr().err
    rc = main(
        [
            "distill",
            "--teacher",
            str(tdir),
            "--student",
            "edge-2m",
            "--task",
            "slu",
            "--data",
            str(snips / "train"),
            "--divergence",
            "jsd",
            "--beta",
            "1.5",
            "--out",
            str(tmp_path / "s"),
        ]
    )
    assert rc == 2 and "--beta" in capsys.readouterr().err
    base = ["distill", "--teacher", str(tdir), "--student", "edge-2m", "--task", "slu"]
    rc = main(
        base + ["--data", str(snips / "train"), "--generic-teacher", str(tdir), "--out", str(tmp_path / "s")]
    )
    assert rc == 2 and "--generic-teacher needs --generic FILE" in capsys.readouterr().err
    empty_txt = tmp_path / "empty.txt"
    empty_txt.write_text("\n", encoding="utf-8")
    rc = main(
        base + ["--data", str(snips / "train"), "--transfer", str(empty_txt), "--out", str(tmp_path / "s")]
    )
    assert rc == 2 and "--transfer" in capsys.readouterr().err


def _tiny_teacher(path: Path, tokenizer, seed: int) -> None:
    from tandem.config import ModelConfig
    from tandem.model import Seq2SeqLM

    torch.manual_seed(seed)
    dims = dict(d_model=32, num_heads=2, ffn_dim=64, encoder_layers=1, decoder_layers=1, max_positions=64)
    Seq2SeqLM(ModelConfig.preset("tiny", vocab_size=tokenizer.vocab_size, **dims)).save_pretrained(
        path, tokenizer=tokenizer
    )


def test_distill_cli_with_an_ensemble_teacher(snips, tmp_path, capsys):
    """Repeated --teacher: the members' mean teaches; members must share the tokenizer."""
    from tandem.slu import load_snips
    from tandem.tokenizer import Tokenizer

    texts = [" ".join(e.tokens) for e in load_snips(snips, "train")]
    tok = Tokenizer.train(iter(texts * 4), vocab_size=285)
    for k in (1, 2):
        _tiny_teacher(tmp_path / f"t{k}", tok, seed=k)
    out = tmp_path / "s"
    args = ["distill", "--teacher", str(tmp_path / "t1"), "--teacher", str(tmp_path / "t2")]
    args += ["--student", "shrink:1,1", "--task", "slu", "--data", str(snips), "--train-split", "train"]
    args += ["--epochs", "1", "--batch-size", "16", "--topk", "4", "--device", "cpu", "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "teacher: an ensemble of 2 models" in printed and "init shrink" in printed
    assert (out / "student_1" / "final" / "model.safetensors").is_file()
    # a member with another tokenizer is refused before any compute
    other = Tokenizer.train(iter(texts * 4), vocab_size=284)
    _tiny_teacher(tmp_path / "t3", other, seed=3)
    args[4] = str(tmp_path / "t3")
    assert main(args + ["--overwrite"]) == 2
    assert "teacher 1 tokenizer has 285 pieces but teacher 2" in capsys.readouterr().err
    assert (out / "student_1" / "final" / "model.safetensors").is_file()  # a refused run deletes nothing


def _weights(d: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(d / "model.safetensors"))


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_seed_makes_finetune_and_distill_reproducible(snips, tmp_path):
    """--seed pins the fresh model's (and a random student's) init too: same seed, same final weights."""
    dims = '{"d_model": 32, "num_heads": 2, "ffn_dim": 64, "encoder_layers": 2, "decoder_layers": 2, "max_positions": 64}'
    common = ["--task", "slu", "--data", str(snips), "--train-split", "train", "--max-steps", "2"]
    common += ["--batch-size", "16", "--device", "cpu", "--log-every", "100"]

    def finetune(name: str, seed: int) -> dict[str, torch.Tensor]:
        args = ["finetune", "--model", "tiny", "--model-overrides", dims]
        args += ["--tokenizer", str(tmp_path / "tok")]
        args += ["--vocab-size", "294", "--seed", str(seed), "--out", str(tmp_path / name)] + common
        torch.manual_seed(sum(map(ord, name)))  # each process starts from another global RNG state
        assert main(args) == 0
        return _weights(tmp_path / name / "best")

    a, b, c = finetune("a", 0), finetune("b", 0), finetune("c", 1)
    assert _same(a, b) and not _same(a, c)

    def distill(name: str, seed: int) -> dict[str, torch.Tensor]:
        args = ["distill", "--teacher", str(tmp_path / "a" / "best")]
        args += ["--student", "shrink:1,1", "--no-shrink"]
        args += ["--seed", str(seed), "--out", str(tmp_path / name)] + common
        torch.manual_seed(sum(map(ord, name)))
        assert main(args) == 0
        return _weights(tmp_path / name / "student_1" / "final")

    assert _same(distill("d1", 3), distill("d2", 3))


def test_distill_refuses_a_tokenizer_that_is_not_the_teachers(snips, tmp_path, capsys):
    """--tokenizer must be the teacher's vocabulary: other pieces would feed the teacher wrong ids."""
    from tandem.slu import load_snips
    from tandem.tokenizer import Tokenizer

    texts = [" ".join(e.tokens) for e in load_snips(snips, "train")]
    tok = Tokenizer.train(iter(texts * 4), vocab_size=285)
    rng = random.Random(0)
    words = [" ".join("".join(rng.choices("abcdefghij", k=5)) for _ in range(6)) for _ in range(300)]
    Tokenizer.train(iter(words), vocab_size=285).save(tmp_path / "other")
    _tiny_teacher(tmp_path / "t", tok, seed=0)
    args = ["distill", "--teacher", str(tmp_path / "t"), "--student", "shrink:1,1", "--task", "slu"]
    args += ["--data", str(snips), "--train-split", "train", "--max-steps", "1", "--device", "cpu"]
    assert main(args + ["--tokenizer", str(tmp_path / "other"), "--out", str(tmp_path / "s")]) == 2
    assert "--tokenizer" in capsys.readouterr().err and not (tmp_path / "s").exists()
    tok.save(tmp_path / "same")  # the teacher's own vocabulary, given explicitly, is fine
    assert main(args + ["--tokenizer", str(tmp_path / "same"), "--out", str(tmp_path / "s2")]) == 0


def test_distill_targets_begin_with_the_token_the_teachers_decoding_forces_first(
    snips, tmp_path, monkeypatch
):
    """As in fine-tuning: a teacher whose decoding forces a first token (BART-large's <s>) is fed targets that
    begin with it, the decoder input it generates from; the student learns the same sequences. distill
    encoded plain targets, so the teacher's logits came from a decoder input it never sees."""
    import tandem.distill as distill_pkg
    from tandem.config import ModelConfig
    from tandem.model import Seq2SeqLM
    from tandem.slu import load_snips
    from tandem.tokenizer import Tokenizer

    texts = [" ".join(e.tokens) for e in load_snips(snips, "train")]
    tok = Tokenizer.train(iter(texts * 4), vocab_size=285)
    dims = dict(d_model=32, num_heads=2, ffn_dim=64, encoder_layers=1, decoder_layers=1, max_positions=64)
    cfg = ModelConfig.preset("tiny", vocab_size=tok.vocab_size, generation={"forced_bos_token_id": 0}, **dims)
    Seq2SeqLM(cfg).save_pretrained(tmp_path / "t", tokenizer=tok)
    seen = []

    class Seen(Exception):
        pass

    def fake_chain(teacher, specs, train, *a, **k):
        seen.append(train)
        raise Seen

    monkeypatch.setattr(distill_pkg, "distill_chain", fake_chain)
    args = ["distill", "--teacher", str(tmp_path / "t"), "--student", "shrink:1,1", "--task", "slu"]
    args += ["--data", str(snips), "--train-split", "train", "--max-steps", "1", "--device", "cpu"]
    with pytest.raises(Seen):
        main(args + ["--out", str(tmp_path / "s")])
    assert seen and all(e.target[0] == 0 and e.target[-1] == tok.eos_id for e in seen[0])
    assert sum(e.target.count(0) for e in seen[0]) == len(seen[0])  # only the forced one


def test_finetune_refuses_a_tokenizer_that_is_not_the_models(snips, tmp_path, capsys):
    """finetune --model DIR --tokenizer X: X must be the model's own vocabulary, checked piece by piece as
    distill does; a missing X is not trained as a new vocabulary for a trained model."""
    from tandem.slu import load_snips
    from tandem.tokenizer import Tokenizer

    texts = [" ".join(e.tokens) for e in load_snips(snips, "train")]
    tok = Tokenizer.train(iter(texts * 4), vocab_size=285)
    rng = random.Random(0)
    words = [" ".join("".join(rng.choices("abcdefghij", k=5)) for _ in range(6)) for _ in range(300)]
    Tokenizer.train(iter(words), vocab_size=285).save(tmp_path / "other")
    _tiny_teacher(tmp_path / "m", tok, seed=0)
    args = ["finetune", "--model", str(tmp_path / "m"), "--task", "slu", "--data", str(snips)]
    args += ["--train-split", "train", "--max-steps", "1", "--device", "cpu"]
    assert main(args + ["--tokenizer", str(tmp_path / "other"), "--out", str(tmp_path / "f")]) == 2
    err = capsys.readouterr().err
    assert "--tokenizer" in err and "differ" in err and not (tmp_path / "f").exists()
    missing = tmp_path / "new-tok"
    assert main(args + ["--tokenizer", str(missing), "--out", str(tmp_path / "f")]) == 2
    assert "--tokenizer" in capsys.readouterr().err and not missing.exists()
    tok.save(tmp_path / "same")  # the model's own vocabulary, given explicitly, is fine
    assert main(args + ["--tokenizer", str(tmp_path / "same"), "--out", str(tmp_path / "f2")]) == 0


def test_examples_longer_than_max_positions_are_truncated_to_fit(tmp_path):
    """--max-source-len / --max-target-len default to 256; a model with 32 positions trains on the first 32."""
    data = tmp_path / "long.jsonl"
    rows = [{"source": f"sentence {i} " + "wörd " * 40, "target": "é " * (10 * i)} for i in range(12)]
    rows.append({"source": "", "target": ""})  # empty source and target: EOS only
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    dims = '{"d_model": 32, "num_heads": 2, "ffn_dim": 64, "encoder_layers": 1, "decoder_layers": 1, "max_positions": 32}'
    common = ["--data", str(data), "--dev", str(data), "--max-steps", "2", "--batch-size", "8"]
    common += ["--max-new-tokens", "8", "--device", "cpu", "--log-every", "100"]
    args = ["finetune", "--model", "tiny", "--model-overrides", dims, "--vocab-size", "286"]
    assert main(args + ["--tokenizer", str(tmp_path / "tok"), "--out", str(tmp_path / "t")] + common) == 0
    teacher = str(tmp_path / "t" / "best")
    assert (
        main(
            ["distill", "--teacher", teacher, "--student", "shrink:1,1", "--out", str(tmp_path / "s")]
            + common
        )
        == 0
    )


def test_encode_pairs_counts_what_it_truncates():
    from tandem.finetune import Truncation

    class Words:  # one token per word
        eos_id = 0

        def encode(self, text):
            return [1] * len(text.split())

    pairs = [Pair("a b c", "x"), Pair("a b", "x y z w"), Pair("a", "x"), Pair("a b c d", "x y")]
    cut = Truncation()
    enc = encode_pairs(Words(), pairs, max_source_len=3, max_target_len=3, truncation=cut)
    # a 2-word source plus EOS fits 3 places; 3 and 4 words do not; targets: only the 4-word one
    assert [len(e.source) for e in enc] == [3, 3, 2, 3] and [len(e.target) for e in enc] == [2, 3, 2, 3]
    assert (cut.examples, cut.sources, cut.targets) == (4, 2, 1)
    note = cut.summary("training data t.jsonl")
    assert "2 of 4 sources (50.0%) to 3 tokens (--max-source-len)" in note
    assert "1 of 4 targets (25.0%) to 3 tokens (--max-target-len)" in note
    assert "capped at the model's positions" in cut.summary("x", requested=(256, 3))
    encode_pairs(Words(), pairs[2:3], max_source_len=3, max_target_len=3, truncation=cut)
    assert cut.summary("training data") is None  # nothing cut: nothing to say


def test_finetune_and_distill_report_truncated_examples_once(tmp_path, capsys):
    """Examples longer than --max-source-len / --max-target-len were cut without a word: the count and
    share are printed once, before training, for the training and the dev data."""
    data = tmp_path / "d.jsonl"
    rows = [{"source": "short one", "target": "ok"} for _ in range(7)]
    rows += [{"source": "word " * 30, "target": "long " * 20} for _ in range(3)]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    dims = '{"d_model": 32, "num_heads": 2, "ffn_dim": 64, "encoder_layers": 1, "decoder_layers": 1, "max_positions": 64}'
    common = ["--data", str(data), "--dev", str(data), "--max-source-len", "12", "--max-target-len", "10"]
    common += ["--max-steps", "1", "--batch-size", "8", "--max-new-tokens", "4", "--device", "cpu"]
    args = ["finetune", "--model", "tiny", "--model-overrides", dims, "--vocab-size", "280"]
    assert main(args + ["--tokenizer", str(tmp_path / "tok"), "--out", str(tmp_path / "t")] + common) == 0
    out = capsys.readouterr().out
    for what in ("training data", "dev data"):
        line = next(x for x in out.splitlines() if x.startswith(f"{what}: truncated"))
        assert "3 of 10 sources (30.0%) to 12 tokens (--max-source-len)" in line
        assert "3 of 10 targets (30.0%) to 10 tokens (--max-target-len)" in line
    assert out.count("training data: truncated") == 1
    dist = ["distill", "--teacher", str(tmp_path / "t" / "best"), "--student", "shrink:1,1"]
    assert main(dist + ["--out", str(tmp_path / "s")] + common) == 0
    out = capsys.readouterr().out
    assert out.count(f"training data {data}: truncated 3 of 10 sources (30.0%)") == 1
    assert f"dev data {data}: truncated 3 of 10 sources" in out


def test_an_out_dir_holding_a_run_is_not_clobbered_without_overwrite(snips, tmp_path, capsys):
    dims = '{"d_model": 32, "num_heads": 2, "ffn_dim": 64, "encoder_layers": 1, "decoder_layers": 1, "max_positions": 64}'
    out = tmp_path / "t"
    args = ["finetune", "--model", "tiny", "--model-overrides", dims, "--tokenizer", str(tmp_path / "tok")]
    args += ["--vocab-size", "294", "--task", "slu", "--data", str(snips), "--train-split", "train"]
    args += [
        "--max-steps",
        "2",
        "--batch-size",
        "16",
        "--log-every",
        "1",
        "--device",
        "cpu",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    before = _weights(out / "best")
    assert main(args + ["--seed", "5"]) == 2
    err = capsys.readouterr().err
    assert f"--out {out} already holds a finished or interrupted run" in err and "--overwrite" in err
    assert _same(before, _weights(out / "best"))
    assert main(args + ["--seed", "5", "--overwrite"]) == 0
    assert not _same(before, _weights(out / "best"))
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2]  # the new run's rows only, not appended to the old ones

    dist = ["distill", "--teacher", str(out / "best"), "--student", "shrink:1,1", "--task", "slu"]
    dist += ["--data", str(snips), "--train-split", "train", "--max-steps", "2", "--batch-size", "16"]
    dist += ["--topk", "4", "--log-every", "1", "--device", "cpu", "--out", str(tmp_path / "s")]
    assert main(dist) == 0
    assert main(dist) == 2 and "--overwrite" in capsys.readouterr().err
    assert main(dist + ["--overwrite"]) == 0
    task = tmp_path / "s" / "student_1" / "task"
    assert [json.loads(x)["step"] for x in (task / "metrics.jsonl").read_text().splitlines()] == [1, 2]
    assert (tmp_path / "s" / "student_1" / "teacher_topk" / "index.json").is_file()  # the cache is kept


def test_overwrite_refuses_to_delete_the_runs_own_input(tmp_path, capsys):
    """--overwrite deletes OUT's previous run: when --model (finetune) or a --teacher (distill) is that run's
    output, or inside it, the run is refused before anything is deleted."""
    out = tmp_path / "out"
    (out / "best").mkdir(parents=True)
    (out / "best" / "model.safetensors").write_text("weights")
    (out / "metrics.jsonl").write_text("{}\n")
    args = ["finetune", "--model", str(out / "best"), "--data", "x.jsonl", "--out", str(out), "--overwrite"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"--model {out / 'best'} would be deleted by --overwrite ({out / 'best'} is an output" in err
    assert (out / "best" / "model.safetensors").is_file() and (out / "metrics.jsonl").is_file()

    final = out / "student_1" / "final"
    final.mkdir(parents=True)
    (out / "distill.json").write_text("{}")
    dist = [
        "distill",
        "--teacher",
        str(out / "best"),
        "--teacher",
        str(final / "."),
        "--student",
        "shrink:1,1",
    ]
    assert main([*dist, "--data", "x.jsonl", "--out", str(out), "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert f"--teacher {final / '.'} would be deleted by --overwrite ({final} is" in err
    assert final.is_dir() and (out / "distill.json").is_file()
    # a teacher outside the deleted outputs (OUT/best is finetune's, not distill's) does not stop the check
    assert main([*dist[:3], "--student", "shrink:1,1", "--data", "x.jsonl", "--out", str(out)]) == 2
    assert "already holds" in capsys.readouterr().err


def test_dev_set_generations_are_greedy_whatever_the_checkpoints_decoding_defaults():
    """Dev-set scoring and the quickstart's measurements decode greedily; a checkpoint's beams, n-gram
    blocking or minimum length (from its generation_config.json) must not change that."""
    import dataclasses

    from tandem.config import ModelConfig
    from tandem.finetune import Encoded, generate_texts
    from tandem.model import Seq2SeqLM

    class Tok:
        def decode(self, ids, skip_special_tokens=True):
            return " ".join(map(str, ids))

    torch.manual_seed(0)
    base = dataclasses.replace(ModelConfig.preset("tiny"), vocab_size=60, d_model=32, ffn_dim=64)
    defaults = {"num_beams": 3, "no_repeat_ngram_size": 1, "repetition_penalty": 3.0, "min_new_tokens": 6}
    plain = Seq2SeqLM(base).eval()
    fancy = Seq2SeqLM(dataclasses.replace(base, generation=defaults)).eval()
    fancy.load_state_dict(plain.state_dict())
    examples = [Encoded(i, [5 + i, 6, 7, 2], [2]) for i in range(4)]
    want = generate_texts(plain, Tok(), examples, max_new_tokens=8)
    assert generate_texts(fancy, Tok(), examples, max_new_tokens=8) == want
    assert generate_texts(fancy, Tok(), examples, max_new_tokens=8, num_beams=3) != want  # kwargs still rule


def _tiny_model(**overrides):
    import dataclasses

    from tandem.config import ModelConfig
    from tandem.model import Seq2SeqLM

    torch.manual_seed(0)
    cfg = ModelConfig.preset(
        "tiny", vocab_size=64, d_model=32, num_heads=2, ffn_dim=64, encoder_layers=1, decoder_layers=1
    )
    return Seq2SeqLM(dataclasses.replace(cfg, **overrides))


def test_targets_begin_with_the_token_the_models_decoding_forces_first(monkeypatch):
    """A checkpoint whose decoding defaults force the first new token (HF BART-large: forced_bos_token_id 0,
    `<s>`) generates [start, <s>, ...]; fine-tuning must train on that decoder input, as HF's BART labels
    `<s> ... </s>` do. Targets without it left the model reading, at every dev evaluation and generation, a
    prefix it never saw: a copy task it had learnt scored 27.5% dev exact match instead of 92.5%."""
    import tandem.finetune as ft
    from tandem.model import shift_right

    seen = {}

    def fake_fit(model, train, cfg, evaluate=None, *args, **kwargs):
        seen["train"] = train

    monkeypatch.setattr(ft, "fit", fake_fit)
    pairs = [Pair("ab", "ba"), Pair("cd", "dc")]
    cfg = TrainConfig(max_steps=1, batch_size=2, device="cpu", log_every=100)
    model = _tiny_model(generation={"forced_bos_token_id": 0})
    ft.finetune(model, CharTok(), pairs, None, cfg, log=None)
    # <s> "ba" </s>, <s> "dc" </s>
    assert [e.target for e in seen["train"]] == [[0, 55, 54, 2], [0, 7, 56, 2]]
    # the teacher-forced decoder input starts as generation does: decoder start, then the forced token
    labels = collate(seen["train"], 1)["labels"]
    c = model.config
    first = model.generate(collate(seen["train"], 1)["input_ids"], max_new_tokens=2)[:, :2]
    assert shift_right(labels, c.decoder_start_token_id, c.pad_token_id)[:, :2].tolist() == first.tolist()
    # a model without a forced first token trains on the plain targets
    ft.finetune(_tiny_model(), CharTok(), pairs, None, cfg, log=None)
    assert [e.target for e in seen["train"]] == [[55, 54, 2], [7, 56, 2]]


def test_dev_generations_stop_at_the_models_positions():
    """--max-new-tokens defaults to 64; a model with fewer learned positions failed its first dev evaluation,
    after training, with `max_new_tokens 64 is more than this model can generate`. Dev generations are
    capped at the positions, as targets are."""
    from tandem.finetune import Encoded, generate_texts, generation_limit

    class Tok:
        def decode(self, ids, skip_special_tokens=True):
            return " ".join(map(str, ids))

    model = _tiny_model(max_positions=12).eval()
    assert generation_limit(model.config, 64) == 12 and generation_limit(model.config, 5) == 5
    examples = [Encoded(i, [5 + i, 6, 2], [9, 2]) for i in range(3)]
    texts = generate_texts(model, Tok(), examples, max_new_tokens=64, eos_token_id=-1)  # never stops early
    assert [len(t.split()) for t in texts] == [12, 12, 12]


def test_dev_targets_longer_than_a_dev_generation_are_reported(tmp_path, capsys):
    """A dev target with more tokens than --max-new-tokens can never be generated whole: its exact match was
    silently 0 (120 of SNIPS' 13,084 train parses are longer than the default 64 tokens of a 1000-piece
    vocabulary). How many is printed once before training, with the limit that covers them all."""
    from tandem.finetune import finetune, long_targets_note

    enc = encode_pairs(CharTok(), [Pair("a", "xyz"), Pair("a", "x"), Pair("a", "wxyz")])
    assert long_targets_note(enc, 4) is None and long_targets_note(enc, 3) is not None
    note = long_targets_note(enc, 2, "dev data d.jsonl")
    assert note.startswith("dev data d.jsonl: 2 of 3 targets (66.7%) are longer than the 2 tokens")
    assert note.endswith("--max-new-tokens 4 covers every target")
    model = _tiny_model(max_positions=64)
    pairs = [Pair("ab", "b" * 8), Pair("cd", "dc")]
    cfg = TrainConfig(max_steps=1, batch_size=2, device="cpu", log_every=100)
    finetune(model, CharTok(), pairs, pairs, cfg, max_new_tokens=6)
    out = capsys.readouterr().out
    assert out.count("are longer than") == 1
    assert "dev data: 1 of 2 targets (50.0%) are longer than the 6 tokens" in out
    finetune(model, CharTok(), pairs, pairs, cfg, max_new_tokens=8)
    assert "are longer than" not in capsys.readouterr().out


def test_a_model_fine_tuned_with_clm_prefix_generates_with_it(tmp_path, capsys):
    """--clm-prefix trained and scored on `[CLM] `-prefixed sources, but the saved model did not say so:
    `tandem generate OUT/best` fed it inputs without the prefix (a copy task: 95% of the dev targets
    generated with it, 12.5% without). The model records it, and generate applies it unless told not to."""
    from tandem.model import Seq2SeqLM

    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"source": w, "target": w}) + "\n" for w in ["ab", "cd"] * 4))
    dims = '{"d_model": 32, "num_heads": 2, "ffn_dim": 64, "encoder_layers": 1, "decoder_layers": 1}'
    run = ["--data", str(data), "--max-steps", "1", "--device", "cpu", "--log-every", "9"]
    args = ["finetune", "--model", "tiny", "--model-overrides", dims, "--vocab-size", "270", *run]
    args += ["--tokenizer", str(tmp_path / "tok")]
    assert main([*args, "--clm-prefix", "--out", str(tmp_path / "clm")]) == 0
    best = tmp_path / "clm" / "best"
    assert Seq2SeqLM.from_pretrained(best).config.extra == {"clm_prefix": True}
    capsys.readouterr()
    gen = ["generate", str(best), "--max-new-tokens", "2", "--json"]
    assert main([*gen, "--prompt", "ab", "--prompt", "[CLM] cd"]) == 0
    out = capsys.readouterr()
    assert [json.loads(x)["input"] for x in out.out.splitlines()] == ["[CLM] ab", "[CLM] cd"]
    assert "fine-tuned with --clm-prefix: inputs start with '[CLM] '" in out.err
    assert main([*gen, "--prompt", "ab", "--no-clm"]) == 0
    assert json.loads(capsys.readouterr().out)["input"] == "ab"
    # fine-tuned again without the prefix, it reads plain inputs: the mark goes
    assert main(["finetune", "--model", str(best), *run, "--out", str(tmp_path / "p")]) == 0
    assert Seq2SeqLM.from_pretrained(tmp_path / "p" / "best").config.extra == {}
    capsys.readouterr()
    gen[1] = str(tmp_path / "p" / "best")
    assert main([*gen, "--prompt", "ab"]) == 0
    assert json.loads(capsys.readouterr().out)["input"] == "ab"


def test_distilled_students_record_clm_prefix_and_decode_as_they_were_scored(tmp_path, capsys):
    """As a fine-tuned model: a student distilled with --clm-prefix records it (tandem generate then prefixes
    its inputs), and a shrink student does not keep its teacher's search defaults (it is scored greedily).
    Students were saved with neither: the mark was missing and a teacher's beams were copied."""
    from tandem.model import Seq2SeqLM
    from tandem.tokenizer import Tokenizer

    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"source": w, "target": w}) + "\n" for w in ["ab", "cd"] * 4))
    dims = '{"d_model": 32, "num_heads": 2, "ffn_dim": 64, "encoder_layers": 2, "decoder_layers": 2}'
    run = ["--data", str(data), "--max-steps", "1", "--device", "cpu", "--log-every", "9"]
    args = ["finetune", "--model", "tiny", "--model-overrides", dims, "--vocab-size", "270", *run]
    assert main([*args, "--tokenizer", str(tmp_path / "tok"), "--out", str(tmp_path / "t")]) == 0
    teacher = Seq2SeqLM.from_pretrained(tmp_path / "t" / "best")
    teacher.config.generation = {"num_beams": 4, "max_new_tokens": 7}  # a teacher that searches
    teacher.save_pretrained(tmp_path / "beams", tokenizer=Tokenizer.load(tmp_path / "tok"))
    distill = ["distill", "--teacher", str(tmp_path / "beams"), "--student", "shrink:1,1", *run]
    assert main([*distill, "--clm-prefix", "--out", str(tmp_path / "s")]) == 0
    student = Seq2SeqLM.from_pretrained(tmp_path / "s" / "student_1" / "final").config
    assert student.extra == {"clm_prefix": True} and student.generation == {"max_new_tokens": 7}
    assert "decoding defaults (num_beams=4) are dropped" in capsys.readouterr().out
    assert main([*distill, "--out", str(tmp_path / "plain")]) == 0
    assert Seq2SeqLM.from_pretrained(tmp_path / "plain" / "student_1" / "final").config.extra == {}


def test_the_fine_tuned_model_decodes_as_its_dev_scoring_did(tmp_path):
    """Dev metrics are greedy whatever the checkpoint's decoding defaults, but best/ kept a base checkpoint's
    beam search, minimum length and n-gram blocking, so `tandem generate` decoded otherwise than the
    metrics that picked the model (a copy task: 95% of the dev targets greedily, 22.5% with the base's
    defaults). They are dropped, and said so; length limits and forced tokens stay."""
    from tandem.finetune import finetune
    from tandem.model import Seq2SeqLM

    base = {"num_beams": 4, "no_repeat_ngram_size": 3, "min_new_tokens": 11, "length_penalty": 2.0}
    forced = {"forced_bos_token_id": 0, "forced_eos_token_id": 2, "max_new_tokens": 20}
    # sampling filters change nothing in greedy decoding: kept for a caller who samples (HF's top_k 50)
    forced |= {"top_k": 50, "top_p": 0.9, "temperature": 0.7}
    model = _tiny_model(generation={**base, "do_sample": True, **forced})
    pairs = [Pair("ab", "ba"), Pair("cd", "dc")]
    cfg = TrainConfig(max_steps=1, batch_size=2, device="cpu", log_every=100)
    lines = []

    class Tok(CharTok):
        def save(self, directory):  # best/ gets no tokenizer files
            pass

    finetune(model, Tok(), pairs, pairs, cfg, out_dir=tmp_path / "ft", max_new_tokens=8, log=lines.append)
    assert Seq2SeqLM.from_pretrained(tmp_path / "ft" / "best").config.generation == forced
    note = next(x for x in lines if "decoding defaults" in x)
    assert (
        "num_beams=4, do_sample=True, length_penalty=2.0, no_repeat_ngram_size=3, min_new_tokens=11" in note
    )
    assert "top_k" not in note
    lines.clear()  # nothing to drop: nothing said
    finetune(_tiny_model(), CharTok(), pairs, None, cfg, log=lines.append)
    assert not any("decoding defaults" in x for x in lines)


def test_an_alexatm_checkpoint_fine_tunes_with_a_tokenizer_without_a_pad_piece(shared_fixtures, tmp_path):
    """The AlexaTM repository's SentencePiece model has no pad piece, so the tokenizer's pad id stands in
    with its EOS id (2) while the checkpoint's pad is 1: finetune refused the pair ("tokenizer pad_id=2 but
    config pad_token_id=1"), though batches pad with the model's id under a zero mask. A different EOS is
    still refused."""
    from tandem.finetune import build_model, finetune
    from tandem.tokenizer import Tokenizer

    d = shared_fixtures / "alexatm-tiny"
    tok = Tokenizer.load(d / "alexatm-format-spm.model")
    assert not tok.has_pad and tok.pad_id == 2
    model = build_model(str(d), tok)
    assert model.config.pad_token_id == 1
    pairs = [Pair("hello world", "world hello"), Pair("is it okay", "okay it is")]
    cfg = TrainConfig(max_steps=2, batch_size=2, device="cpu", log_every=100)
    res = finetune(model, tok, pairs, pairs, cfg, out_dir=tmp_path / "ft", max_new_tokens=4, log=None)
    assert res.steps == 2 and (tmp_path / "ft" / "best" / "model.safetensors").is_file()

    class OtherEos:  # a tokenizer whose EOS is not the model's
        vocab_size, pad_id, eos_id, has_pad = 22, 2, 3, False

    with pytest.raises(TandemError, match="tokenizer eos_id=3 but config eos_token_id=2"):
        build_model(str(d), OtherEos())


def test_a_warmup_ratio_covering_the_run_is_warned_about(tmp_path, capsys):
    """`--warmup-ratio 1` (warmup >= the run's steps) was silent while `tandem pretrain` warns for `--warmup` >=
    `--steps`: the lr rises at every step and peaks at the last, never decaying; a shorter warmup gives none."""
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"source": w, "target": w}) + "\n" for w in ["ab", "cd"] * 4))
    dims = '{"d_model": 32, "num_heads": 2, "ffn_dim": 64, "encoder_layers": 1, "decoder_layers": 1}'
    base = ["finetune", "--model", "tiny", "--model-overrides", dims, "--vocab-size", "270"]
    base += ["--data", str(data), "--tokenizer", str(tmp_path / "tok"), "--max-steps", "4"]
    base += ["--device", "cpu", "--log-every", "1", "--no-generate-eval"]
    assert main([*base, "--warmup-ratio", "1", "--out", str(tmp_path / "long")]) == 0
    want = (
        "warning: --warmup-ratio 1 covers all 4 steps (warmup 4 >= steps 4): the learning rate rises over every "
        "step of the run and reaches --lr only at the last; lower --warmup-ratio (e.g. 0.1)\n"
    )
    assert want in capsys.readouterr().err
    rows = [json.loads(x) for x in (tmp_path / "long" / "metrics.jsonl").read_text().splitlines()]
    lrs = [r["lr"] for r in rows if "loss" in r and "lr" in r]
    assert lrs == sorted(lrs) and len(set(lrs)) == 4  # rising at every step, as warned
    assert main([*base, "--warmup-ratio", "0.75", "--out", str(tmp_path / "short")]) == 0  # warmup 3 of 4
    assert "--warmup-ratio" not in capsys.readouterr().err


def test_min_lr_ratio_sets_the_floor_the_schedule_decays_to(tmp_path, capsys):
    """The lr floor after linear decay was fixed at 0.05 x --lr; `--min-lr-ratio` sets it. Without warmup
    the schedule decays linearly from --lr at step 1 towards the floor, which it reaches after the last step."""
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"source": w, "target": w}) + "\n" for w in ["ab", "cd"] * 4))
    dims = '{"d_model": 32, "num_heads": 2, "ffn_dim": 64, "encoder_layers": 1, "decoder_layers": 1}'
    base = ["finetune", "--model", "tiny", "--model-overrides", dims, "--vocab-size", "270"]
    base += ["--data", str(data), "--tokenizer", str(tmp_path / "tok"), "--max-steps", "6"]
    base += ["--lr", "1e-3", "--warmup-ratio", "0"]
    base += ["--device", "cpu", "--log-every", "1", "--no-generate-eval"]
    lrs = {}
    for ratio in (None, "0.5"):
        out = tmp_path / f"r{ratio}"
        assert main([*base, "--out", str(out), *(["--min-lr-ratio", ratio] if ratio else [])]) == 0
        rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
        lrs[ratio] = [r["lr"] for r in rows if "loss" in r and "lr" in r]
    for ratio, floor in ((None, 0.05e-3), ("0.5", 0.5e-3)):
        assert lrs[ratio] == pytest.approx([1e-3 - (1e-3 - floor) * k / 6 for k in range(6)], rel=1e-6)
    capsys.readouterr()
    assert main([*base, "--out", str(tmp_path / "bad"), "--min-lr-ratio", "1.5"]) == 2
    assert "--min-lr-ratio must be in [0, 1], got 1.5" in capsys.readouterr().err
