"""SLU tag targets (`SLULabels`): intent/slot names as reserved tokenizer tags, mapped back for scoring."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tandem.cli import main
from tandem.errors import TandemError
from tandem.finetune import score_slu, slu_pairs
from tandem.slu import LABELS_FILE, SLUExample, SLULabels, parse_linearized
from tandem.tokenizer import Tokenizer


def examples() -> list[SLUExample]:
    return [
        SLUExample(["play", "the", "beatles"], ["O", "B-artist", "I-artist"], "PlayMusic"),
        SLUExample(["weather", "in", "rome", "today"], ["O", "O", "B-city", "B-timeRange"], "GetWeather"),
    ]


def test_targets_and_mapping_back():
    labels = SLULabels.from_examples(examples())
    assert labels.intents == ["GetWeather", "PlayMusic"] and labels.slots == ["artist", "city", "timeRange"]
    pairs = slu_pairs(examples(), labels)
    # intents are tags 0..1, slots 2..4
    assert pairs[0].target == "<tag_1><tag_2> the beatles"
    assert pairs[1].target == "<tag_0><tag_3> rome<tag_4> today"
    for p, ex in zip(pairs, examples()):
        assert labels.to_linearized(p.target) == ex.target
    # what a tokenizer decode writes (no spaces before tags, extra spaces) reads the same
    assert (
        labels.to_linearized("<tag_0> <tag_3>  rome <tag_4>today")
        == "GetWeather ; city = rome ; timeRange = today"
    )
    # values with the linearisation's separators are escaped on the way back
    assert parse_linearized(labels.to_linearized("<tag_1><tag_2> a;b = c")) == (
        "PlayMusic",
        [("artist", "a;b = c")],
    )


def test_malformed_generations_never_raise():
    labels = SLULabels.from_examples(examples())
    assert labels.to_linearized("<tag_2> queen") == " ; artist = queen"  # no intent tag first
    assert parse_linearized(labels.to_linearized("<tag_2> queen")) == ("", [("artist", "queen")])
    # out-of-range tag and an intent tag in slot position are dropped; an empty value is dropped
    assert labels.to_linearized("<tag_1><tag_99> x<tag_0> y<tag_2>") == "PlayMusic"
    assert labels.to_linearized("PlayMusic ; artist = abba") == "PlayMusic ; artist = abba"  # no tags
    assert labels.to_linearized("") == ""


def test_unknown_label_and_file_errors(tmp_path):
    labels = SLULabels.from_examples(examples())
    with pytest.raises(TandemError, match="slot 'album' is not in the label vocabulary"):
        labels.to_target("PlayMusic", [("album", "x")])
    labels.save(tmp_path)
    assert SLULabels.load(tmp_path) == labels and SLULabels.load(tmp_path / LABELS_FILE) == labels
    assert SLULabels.load(tmp_path / "nothing") is None
    (tmp_path / LABELS_FILE).write_text('{"intents": []}', encoding="utf-8")
    with pytest.raises(TandemError, match="field 'format'"):
        SLULabels.load(tmp_path)


def test_tags_are_single_tokens_and_score_back():
    labels = SLULabels.from_examples(examples())
    pairs = slu_pairs(examples(), labels)
    rng = random.Random(0)
    words = [p.source for p in pairs] * 20
    words += [" ".join("".join(rng.choices("abcdefghij", k=5)) for _ in range(6)) for _ in range(200)]
    tok = Tokenizer.train(iter(words), vocab_size=300, reserved_tags=len(labels), num_threads=1)
    labels.check_tokenizer(tok)
    ids = tok.encode(pairs[1].target)
    assert ids[:2] == [tok.tag_id(0), tok.tag_id(3)] and tok.tag_id(4) in ids
    assert ids[2:] != [] and ids.index(tok.tag_id(4)) == len(tok.encode("<tag_0><tag_3> rome"))
    decoded = [tok.decode(tok.encode(p.target)) for p in pairs]
    assert score_slu(pairs, decoded, labels) == {"intent_acc": 100.0, "slot_f1": 100.0, "exact_match": 100.0}
    # intent right, first slot wrong value, second right: slots 2 of 3 predicted right out of 3 gold
    m = score_slu(pairs, ["<tag_1><tag_2> the beatles", "<tag_0><tag_3> paris<tag_4> today"], labels)
    assert m == {"intent_acc": 100.0, "slot_f1": pytest.approx(200 / 3), "exact_match": 50.0}
    small = Tokenizer.train(iter(words), vocab_size=300, reserved_tags=2, num_threads=1)
    with pytest.raises(TandemError, match="needs 5 reserved tags but the tokenizer has 2"):
        labels.check_tokenizer(small)


def write_snips(root: Path, n: int, seed: int) -> None:
    rng = random.Random(seed)
    root.mkdir(parents=True)
    rows = []
    for _ in range(n):
        if rng.random() < 0.5:
            v = rng.choice(["queen", "abba", "muse"])
            rows.append((f"play {v}", "O B-artist", "PlayMusic"))
        else:
            v = rng.choice(["paris", "rome", "oslo"])
            rows.append((f"weather in {v}", "O O B-city", "GetWeather"))
    for k, name in enumerate(("seq.in", "seq.out", "label")):
        (root / name).write_text("\n".join(r[k] for r in rows) + "\n", encoding="utf-8")


def test_finetune_slu_tags_then_distill_keeps_labels(tmp_path):
    write_snips(tmp_path / "snips" / "train", 64, 0)
    write_snips(tmp_path / "snips" / "valid", 8, 1)
    data = str(tmp_path / "snips")
    dims = '{"d_model": 32, "num_heads": 2, "ffn_dim": 64, "encoder_layers": 1, "decoder_layers": 1, "max_positions": 64}'
    common = [
        "--task",
        "slu",
        "--data",
        data,
        "--train-split",
        "train",
        "--dev",
        data,
        "--dev-split",
        "valid",
    ]
    common += ["--epochs", "1", "--batch-size", "16", "--max-new-tokens", "8", "--device", "cpu"]
    t = tmp_path / "t"
    rc = main(
        ["finetune", "--model", "tiny", "--model-overrides", dims, "--slu-tags", "--vocab-size", "288"]
        + common
        + ["--metric", "exact_match", "--out", str(t)]
    )
    assert rc == 0
    saved = json.loads((t / "best" / LABELS_FILE).read_text())
    assert saved["intents"] == ["GetWeather", "PlayMusic"] and saved["slots"] == ["artist", "city"]
    assert Tokenizer.load(t / "best").num_reserved_tags == 4
    s = tmp_path / "s"
    assert (
        main(
            ["distill", "--teacher", str(t / "best"), "--student", "shrink:1,1", "--topk", "4"]
            + common
            + ["--out", str(s)]
        )
        == 0
    )
    assert SLULabels.load(s / "student_1" / "final") == SLULabels.load(t / "best")
    # tags need an SLU task
    assert (
        main(
            [
                "finetune",
                "--model",
                "tiny",
                "--slu-tags",
                "--data",
                str(tmp_path / "x.jsonl"),
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )


def test_labels_unseen_by_the_models_labels_json_are_named_with_their_file(tmp_path, capsys):
    model = tmp_path / "model"
    SLULabels.from_examples(examples()).save(model)  # a fine-tuned model's label vocabulary
    data = tmp_path / "new.jsonl"
    rows = [
        {"sentence_annotation": "play [artist : abba]", "intent": "PlayMusic"},
        {"sentence_annotation": "wake me at [time : seven]", "intent": "SetAlarm"},
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    rc = main(
        [
            "finetune",
            "--model",
            str(model),
            "--task",
            "slu",
            "--data",
            str(data),
            "--out",
            str(tmp_path / "o"),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert "intent 'SetAlarm'" in err and "slot 'time'" in err and str(data) in err
    assert str(model / LABELS_FILE) in err and "--slu-tags" in err


def test_slu_sources_are_the_tokens_the_slot_values_are_written_in(tmp_path):
    """xSID's raw `# text` is segmented otherwise than its tokens (Japanese "今日" vs "今 日"), SLURP's raw
    text is lowercased where a token is not: the source was the raw text, so a gold value such as "今 日" did
    not occur in what the model read. Sources are now the space-joined tokens, as `tandem evaluate` prompts."""
    from tandem.slu import load_xsid

    conll = tmp_path / "ja.valid.conll"
    conll.write_text(
        "# text = 今日 は 雨\n# intent = weather/find\n"
        "1\t今\tweather/find\tB-datetime\n2\t日\tweather/find\tI-datetime\n"
        "3\tは\tweather/find\tO\n4\t雨\tweather/find\tB-weather/attribute\n\n",
        encoding="utf-8",
    )
    (ex,) = load_xsid(conll)
    assert ex.text == "今日 は 雨"
    for labels in (None, SLULabels.from_examples([ex])):
        (pair,) = slu_pairs([ex], labels)
        assert pair.source == "今 日 は 雨"
        for _, value in ex.slots:
            assert value in pair.source
