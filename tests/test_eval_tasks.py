"""Task loaders/templates, predictions-file scoring (gold scores 100), bad input, and `tandem evaluate` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tandem.cli import main as cli
from tandem.errors import TandemError
from tandem.evaluation.runner import first_docs, markdown_table, score_predictions, write_reports
from tandem.evaluation.tasks import TASK_NAMES, get_task, read_jsonl

LOCAL = [
    "boolq",
    "cb",
    "copa",
    "rte",
    "wic",
    "wsc",
    "multirc",
    "record",
    "squad2",
    "flores:en-de",
    "xnli:de",
    "snips",
    "slurp",
    "xsid:it",
]


def _gold_file(tmp_path, task, docs):
    p = tmp_path / f"{task.name.replace(':', '_')}.jsonl"
    with p.open("w") as f:
        for d in docs:
            g = task.gold(d)
            if task.name == "record":
                g = g[0]
            if task.name == "squad2":
                g = g[0] if g else ""
            f.write(json.dumps({"id": d["id"], "prediction": g}) + "\n")
    return p


@pytest.mark.parametrize("spec", LOCAL)
def test_local_tasks_load_and_gold_scores_100(spec, shared_data, tmp_path):
    task, explicit = get_task(spec)
    docs = task.load(shared_data, explicit)
    assert docs and len({d["id"] for d in docs}) == len(docs)
    d = docs[0]
    assert task.prompt(d).strip() and task.target(d).startswith(" ")
    if task.kind == "rank":
        cs, labels = task.choices(d), task.choice_labels(d)
        assert len(cs) == len(labels) >= 2 and task.gold(d) in labels or task.name == "record"
    rep = score_predictions(task, shared_data, _gold_file(tmp_path, task, docs[:60]))
    assert rep.num_scored == min(60, len(docs)) and rep.missing == len(docs) - rep.num_scored
    main = {k: v for k, v in rep.metrics.items() if not k.endswith("_total") and k not in ("total", "n")}
    assert main and all(v == pytest.approx(100.0) for v in main.values()), main


def test_superglue_sizes_and_flattening(shared_data):
    assert len(get_task("copa")[0].load(shared_data, None)) == 100
    mrc = get_task("multirc")[0].load(shared_data, None)
    assert len(mrc) == 4848 and len({d["qid"] for d in mrc}) < len(mrc)
    rec = get_task("record")[0].load(shared_data, None)
    assert rec[0]["answers"][0] == "Benazir Bhutto" and "Benazir Bhutto" in rec[0]["entities"]
    sq = get_task("squad2")[0].load(shared_data, None)
    assert len(sq) == 6078 and sum(not d["answers"] for d in sq) == 3168


@pytest.mark.parametrize(
    "typed, files",
    [
        ("xnli:DE", "xnli:de"),
        ("flores:EN-DE", "flores:en-de"),
        ("flores:ENG_LATN-Deu_latn", "flores:eng_Latn-deu_Latn"),
        ("xsid:De", "xsid:de"),
    ],
)
def test_a_language_typed_in_another_case_reads_the_same_files(shared_data, typed, files):
    """`xnli:DE` looked for dev-DE.tsv and ended in "file not found" (the files are named in lower case)."""
    task, ref = get_task(typed)[0], get_task(files)[0]
    assert task.name == ref.name
    docs = task.load(shared_data, None)
    assert docs and docs == ref.load(shared_data, None)


def test_a_massive_locale_is_spelt_as_its_folders():
    assert get_task("massive:EN-us")[0].name == "massive:en-US"


def test_summarisation_and_massive_fixtures(tmp_path):
    xs = tmp_path / "xsum.jsonl"
    xs.write_text(
        json.dumps({"id": "a1", "document": "The cat sat.\nIt was happy.", "summary": "A happy cat."}) + "\n"
    )
    task, explicit = get_task(f"xsum={xs}")
    docs = task.load(tmp_path, explicit)
    assert task.prompt(docs[0]) == "The cat sat. It was happy. Summary:" and docs[0]["id"] == "a1"
    ml = tmp_path / "mlsum.jsonl"
    ml.write_text(
        json.dumps({"url": "u1", "text": "Der Bär läuft.", "summary": "Bär läuft", "title": "t"}) + "\n"
    )
    task, explicit = get_task(f"mlsum:de={ml}")
    preds = tmp_path / "p.jsonl"
    preds.write_text(json.dumps({"id": "u1", "prediction": "Bär läuft"}) + "\n")
    rep = score_predictions(task, tmp_path, preds, explicit)
    assert rep.metrics["rouge1"] == pytest.approx(100.0) and rep.metrics["rougeL"] == pytest.approx(100.0)
    assert rep.metrics["rougeLsum"] == pytest.approx(100.0)
    ms = tmp_path / "massive.jsonl"
    ms.write_text(
        json.dumps(
            {"id": "7", "locale": "de-DE", "intent": "alarm_set", "annot_utt": "weck mich um [time : sieben]"}
        )
        + "\n"
    )
    task, explicit = get_task(f"massive:de-DE={ms}")
    assert task.gold(task.load(tmp_path, explicit)[0]) == "alarm_set ; time = sieben"


def test_hf_layout_converters():
    from tandem.evaluation import tasks as T

    rows = [
        {
            "paragraph": "P",
            "question": "Q",
            "answer": "A",
            "idx": {"paragraph": 1, "question": 2, "answer": 3},
            "label": 1,
        }
    ]
    assert T._flatten_multirc(rows, "x")[0] == {
        "passage": "P",
        "question": "Q",
        "answer": "A",
        "label": 1,
        "qid": "1-2",
        "id": "1-2-3",
        "num_options": 1,
    }
    rec = [
        {
            "passage": "a @highlight\nb",
            "query": "@placeholder won",
            "entities": ["a", "b", "a"],
            "answers": ["b"],
            "idx": {"passage": 0, "query": 5},
        }
    ]
    assert T._flatten_record(rec, "x")[0]["entities"] == ["a", "b"]
    assert T._HF_SG["cb"]({"label": 2})["label"] == "neutral"


def test_bad_input(tmp_path, shared_data):
    with pytest.raises(TandemError, match="unknown task"):
        get_task("nosuchtask")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "1", "prediction": true}\n{broken\n')
    with pytest.raises(TandemError, match="line 2"):
        read_jsonl(bad)
    bad.write_text('{"id": "1"}\n')
    with pytest.raises(TandemError, match="'prediction'"):
        score_predictions(get_task("copa")[0], shared_data, bad)
    bad.write_text('{"id": "no-such-id", "prediction": 0}\n')
    with pytest.raises(TandemError, match="no prediction matches"):
        score_predictions(get_task("copa")[0], shared_data, bad)
    xs = tmp_path / "x.jsonl"
    xs.write_text(json.dumps({"id": "1", "summary": "s"}) + "\n")
    task, explicit = get_task(f"xsum={xs}")
    with pytest.raises(TandemError, match="field 'text' missing"):
        task.load(tmp_path, explicit)
    assert "flores:SRC-TGT" in TASK_NAMES


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, shared_data):
    import dataclasses

    import torch

    from tandem.config import ModelConfig
    from tandem.model import Seq2SeqLM
    from tandem.tokenizer import Tokenizer

    lines = []
    for f in ("flores200/eng_Latn.devtest", "flores200/deu_Latn.devtest", "snips/train/seq.in"):
        lines += (shared_data / f).read_text(encoding="utf-8").splitlines()[:400]
    tok = Tokenizer.train(iter(lines), vocab_size=500)
    torch.manual_seed(0)
    cfg = dataclasses.replace(
        ModelConfig.preset("tiny"),
        vocab_size=tok.vocab_size,
        d_model=32,
        ffn_dim=64,
        num_heads=2,
        max_positions=96,
    )
    d = tmp_path_factory.mktemp("tiny")
    Seq2SeqLM(cfg).save_pretrained(d, tokenizer=tok)
    return d


def test_cli_end_to_end(tiny_model, shared_data, tmp_path, capsys):
    out = tmp_path / "ev"
    tasks = "copa,cb,multirc,squad2,flores:en-de,snips,xsid:de"
    rc = cli(
        ["evaluate", "--model", str(tiny_model), "--tasks", tasks, "--shots", "2", "--limit", "3", "--batch-size", "2",
         "--data-dir", str(shared_data), "--out", str(out), "--no-progress", "--normalization", "calibrated"]
    )  # fmt: skip
    assert rc == 0
    metrics = json.loads((out / "metrics.json").read_text())["results"]
    assert set(metrics) == {"copa", "cb", "multirc", "squad2", "flores:eng_Latn-deu_Latn", "snips", "xsid:de"}
    # 96 positions: long SQuAD/MultiRC passages are counted skips, never truncated queries
    assert metrics["squad2"]["skipped_too_long"] + metrics["squad2"]["num_scored"] == 3
    # --limit 3 keeps all 4 answer options of MultiRC's first question (EM is per question)
    assert metrics["multirc"]["skipped_too_long"] == 4 and metrics["copa"]["num_scored"] == 3
    assert (
        metrics["snips"]["dropped_demos"] > 0
        and metrics["cb"]["skipped_too_long"] + metrics["cb"]["num_scored"] == 3
    )
    # SuperGLUE and SNIPS draw demonstrations from their training splits; xSID has only its evaluation split
    assert {k: m["demonstrations_from"] for k, m in metrics.items() if k in ("copa", "snips", "xsid:de")} == {
        "copa": "train",
        "snips": "train",
        "xsid:de": "eval",
    }
    recs = [json.loads(x) for x in (out / "predictions.jsonl").read_text().splitlines()]
    assert any(r.get("skipped") for r in recs) and all("task" in r for r in recs)
    assert (out / "results.md").read_text().startswith("| task |")
    # the predictions file we wrote scores the same through --predictions
    rc = cli(
        [
            "evaluate",
            "--predictions",
            str(out / "predictions.jsonl"),
            "--task",
            "copa",
            "--data-dir",
            str(shared_data),
        ]
    )
    assert rc == 0 and f"{metrics['copa']['acc']:.2f}" in capsys.readouterr().out
    assert cli(["evaluate", "--model", str(tiny_model), "--tasks", "nope"]) == 2
    assert "unknown task" in capsys.readouterr().err


def test_markdown_table_shape():
    from tandem.evaluation.runner import TaskReport

    t = markdown_table([TaskReport("cb", {"acc": 50.0, "f1": 40.0}, 10, 1, 2)])
    assert "| cb | acc | 50.00 | 10 | 1 | 2 |" in t and "| | f1 | 40.00 |" in t.replace("|  |", "| |")


@pytest.mark.parametrize(
    "flag,value,want",
    [
        ("--limit", "0", "--limit must be 1 or more (examples per task; leave it out for all), got 0"),
        ("--shots", "-1", "--shots must be 0 or more (demonstrations per prompt), got -1"),
        ("--batch-size", "0", "--batch-size must be 1 or more (examples per encoder pass), got 0"),
    ],
)
def test_a_count_out_of_range_names_its_flag(flag, value, want, tmp_path, capsys):
    # one combined message ("--shots must be >= 0, --limit >= 1 and --batch-size >= 1") named none of them
    assert cli(["evaluate", "--model", str(tmp_path), "--tasks", "copa", flag, value]) == 2
    assert capsys.readouterr().err == f"error: {want}\n"
    if flag == "--limit":  # scoring a predictions file checks it the same way
        assert (
            cli(["evaluate", "--predictions", str(tmp_path / "p.jsonl"), "--task", "copa", flag, value]) == 2
        )
        assert capsys.readouterr().err == f"error: {want}\n"


def test_a_task_with_every_example_skipped_warns_and_nothing_scored_exits_1(tiny_model, tmp_path, capsys):
    # every query past the model's 96 positions: the run exited 0 with a "-" row and no word on stderr
    long, short = tmp_path / "long.jsonl", tmp_path / "short.jsonl"
    long.write_text("".join(json.dumps({"document": "word " * 200, "summary": "s"}) + "\n" for _ in range(2)))
    short.write_text(json.dumps({"document": "a short text", "summary": "s"}) + "\n")
    base = ["evaluate", "--model", str(tiny_model), "--no-progress", "--data-dir", str(tmp_path)]
    warn = (
        "warning: task xsum: nothing scored, all 2 examples skipped as too long (a query, or a choice, past "
        "the model's maximum positions; the `skipped` records say which); use a model with more positions "
        "or shorter examples\n"
    )
    # one task of two scored nothing: a warning naming it, exit 0
    assert cli([*base, "--tasks", f"xsum={long},mlsum:de={short}"]) == 0
    out, err = capsys.readouterr()
    assert warn in err and "mlsum" not in err
    assert "| xsum | - | - | 0 | 2 | 0 |" in out
    # every task scored nothing: the reports are still written, exit 1
    assert cli([*base, "--tasks", f"xsum={long}", "--out", str(tmp_path / "ev")]) == 1
    assert warn in capsys.readouterr().err
    res = json.loads((tmp_path / "ev" / "metrics.json").read_text())["results"]["xsum"]
    assert res["num_scored"] == 0 and res["skipped_too_long"] == 2


def test_more_shots_than_demonstrations_is_an_error(tiny_model, shared_data, tmp_path, capsys):
    # copa's demonstrations come from train32 (32 examples): 33 shots cannot be honoured, and a run that
    # quietly used 32 while metrics.json said 33 would be a wrong record
    args = ["evaluate", "--model", str(tiny_model), "--tasks", "copa", "--limit", "1", "--no-progress",
            "--data-dir", str(shared_data), "--out", str(tmp_path / "ev")]  # fmt: skip
    assert cli([*args, "--shots", "33"]) == 2
    err = capsys.readouterr().err
    assert "copa" in err and "33 shots" in err and "only 32" in err
    assert not (tmp_path / "ev" / "metrics.json").exists()
    assert cli([*args, "--shots", "32"]) == 0
    rec = json.loads((tmp_path / "ev" / "predictions.jsonl").read_text().splitlines()[0])
    res = json.loads((tmp_path / "ev" / "metrics.json").read_text())["results"]["copa"]
    assert rec["num_demos"] + res["dropped_demos"] == 32


@pytest.mark.parametrize("spec", ["copa", "squad2", "xnli:de", "flores:en-de", "snips", "slurp", "xsid:de"])
def test_missing_data_dir_says_where_it_looked_and_what_to_do(spec, tmp_path, monkeypatch, capsys):
    from tandem.evaluation import tasks as T

    def offline(name, config, split):  # no network in tests: the Hugging Face fallback fails at once
        raise TandemError(f"could not load Hugging Face dataset {name}/{config} [{split}]: offline")

    monkeypatch.setattr(T, "hf_rows", offline)
    missing = tmp_path / "no-data"
    task, explicit = get_task(spec)
    with pytest.raises(TandemError) as e:
        task.load(missing, explicit)
    msg = str(e.value)
    assert str(missing) in msg and "--data-dir" in msg and "TANDEM_DATA" in msg, msg
    preds = tmp_path / "p.jsonl"
    preds.write_text('{"id": "0", "prediction": "0"}\n')  # a string: a number is an error for text tasks
    monkeypatch.chdir(tmp_path)  # a relative --data-dir is reported as the absolute path it resolves to
    assert cli(["evaluate", "--predictions", str(preds), "--task", spec, "--data-dir", "no-data"]) == 2
    err = capsys.readouterr().err
    assert str(missing) in err and "--data-dir" in err, err


def test_metrics_json_records_the_resolved_data_dir_and_versions(tmp_path, monkeypatch):
    import platform

    import tandem

    xs = tmp_path / "xsum.jsonl"
    xs.write_text(json.dumps({"id": "a", "document": "The cat sat.", "summary": "A cat sat."}) + "\n")
    preds = tmp_path / "p.jsonl"
    preds.write_text(json.dumps({"id": "a", "prediction": "A cat sat."}) + "\n")
    monkeypatch.delenv("TANDEM_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    rc = cli(["evaluate", "--predictions", str(preds), "--task", f"xsum={xs}", "--out", str(tmp_path / "ev")])
    assert rc == 0
    cfg = json.loads((tmp_path / "ev" / "metrics.json").read_text())["config"]
    # the flag was left to its default: the file still says which directory that was
    assert cfg["data_dir"] and Path(cfg["data_dir"]).is_absolute()
    env = cfg["environment"]
    assert env["tandem"] == tandem.__version__ and env["python"] == platform.python_version()
    assert {"torch", "sacrebleu", "rouge-score"} <= set(env) and cfg["date"][:2] == "20"
    assert cfg["task"] == f"xsum={xs}" and cfg["seed"] == 1234 and cfg["shots"] == 0 and "limit" in cfg


def test_flores_bleu_into_japanese_is_not_13a_and_reports_its_signature(tmp_path):
    rows = [{"id": "0", "src": "It is sunny today.", "tgt": "今日は晴れです"}]
    data = tmp_path / "en-ja.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    preds = tmp_path / "p.jsonl"
    preds.write_text(json.dumps({"id": "0", "prediction": "今日は晴れだ"}, ensure_ascii=False) + "\n")
    task, explicit = get_task(f"flores:en-ja={data}")
    rep = score_predictions(task, tmp_path, preds, explicit)
    # with sacreBLEU's 13a the sentence is one token and BLEU would be 0 for any imperfect output
    assert rep.metrics["bleu"] > 20
    sig = rep.summary()["signatures"]
    assert "tok:13a" not in sig["bleu"] and "sacreBLEU" in sig["chrf++"]
    task, _ = get_task("flores:en-de")
    assert "tok:13a" in task.signatures["bleu"]


@pytest.mark.parametrize("forced", [False, True])
def test_choices_too_long_for_the_decoder_are_recorded_skips(tiny_model, shared_data, forced):
    # A rank example whose verbalisation the decoder cannot hold is a skip, like a query the encoder cannot
    # hold: it has its own record in predictions.jsonl, and demonstrations dropped from its (unscored) prompt
    # are not counted as dropped. A forced first token (mBART-50's language code) takes one decoder position.
    from tandem.evaluation.runner import run_task
    from tandem.model import Seq2SeqLM
    from tandem.prompting.lm import EncoderDecoder
    from tandem.prompting.scoring import continuation_ids
    from tandem.tokenizer import Tokenizer

    model = Seq2SeqLM.from_pretrained(tiny_model)
    if forced:
        model.config.generation = {**(model.config.generation or {}), "forced_bos_token_id": 7}
    lm = EncoderDecoder(model, Tokenizer.load(tiny_model))
    task, _ = get_task("copa")
    docs = task.load(shared_data, None)[:6]
    # choices are tokenized after their prompt (whose end, the query, every fitted prompt keeps)
    longest = [max(len(continuation_ids(lm, c, task.prompt(d))) for c in task.choices(d)) for d in docs]
    lm.max_target_len = sorted(longest)[2]
    # room for the query and part of one demonstration: every prompt loses demonstrations, none is skipped
    lm.max_source_len = max(len(lm.source_ids("[CLM] " + task.prompt(d))) for d in docs) + 12
    rep = run_task(lm, task, shared_data, shots=2, limit=6, batch_size=2)
    too_long = {d["id"] for d, n in zip(docs, longest) if n + forced > lm.max_target_len}
    assert too_long and rep.num_scored == 6 - len(too_long) and rep.skipped_too_long == len(too_long)
    assert len(rep.records) == 6 and {r["id"] for r in rep.records if r.get("skipped")} == too_long
    scored = [r for r in rep.records if not r.get("skipped")]
    assert rep.dropped_demos == sum(2 - r["num_demos"] for r in scored) > 0


# ----------------------------------------------------------------------------- bad input through the CLI (audit)
_COPA = {"premise": "It rained.", "choice1": "I got wet.", "choice2": "I got rich.", "question": "effect"}


def _evaluate_err(capsys, *argv) -> str:
    """Run `tandem evaluate ARGV`, require exit 2, and return stderr (no model is ever loaded here)."""
    assert cli(["evaluate", "--no-progress", *argv]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_task_file_with_invalid_utf8_names_file_and_line(tmp_path, capsys):
    bad = tmp_path / "copa.jsonl"
    bad.write_bytes(json.dumps({**_COPA, "label": 0}).encode() + b"\n" + b'{"premise": "caf\xe9"}\n')
    err = _evaluate_err(capsys, "--predictions", str(bad), "--task", f"copa={bad}")
    assert f"{bad} line 2: not valid UTF-8" in err
    squad = tmp_path / "dev.json"
    squad.write_bytes(b'{"data": [\n"\xff"]}')
    with pytest.raises(TandemError, match=r"dev.json line 2: not valid UTF-8"):
        get_task(f"squad2={squad}")[0].load(tmp_path, str(squad))


def test_task_file_missing_a_template_field_names_line_and_field(tmp_path, capsys):
    f = tmp_path / "copa.jsonl"
    rows = [{**_COPA, "label": 0}, {k: v for k, v in _COPA.items() if k != "choice2"} | {"label": 1}]
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    preds = tmp_path / "p.jsonl"
    preds.write_text('{"id": "0", "prediction": 0}\n')
    err = _evaluate_err(capsys, "--predictions", str(preds), "--task", f"copa={f}")
    assert f"{f} line 2: field 'choice2' missing" in err
    f.write_text(json.dumps({**_COPA, "label": "yes"}) + "\n")
    with pytest.raises(TandemError, match=r"line 1: label 'yes' is not one of 0, 1"):
        get_task(f"copa={f}")[0].load(tmp_path, str(f))


def test_squad_question_without_id_is_an_error_naming_it(tmp_path):
    f = tmp_path / "dev.json"
    f.write_text(json.dumps({"data": [{"paragraphs": [{"context": "c", "qas": [{"question": "q?"}]}]}]}))
    with pytest.raises(TandemError, match=r"dev.json \(question 1\): field 'id' missing"):
        get_task(f"squad2={f}")[0].load(tmp_path, str(f))


def test_empty_task_file_is_an_error_not_an_empty_score(tmp_path, capsys):
    f = tmp_path / "copa.jsonl"
    f.write_text("\n")
    preds = tmp_path / "p.jsonl"
    preds.write_text('{"id": "0", "prediction": 0}\n')
    err = _evaluate_err(capsys, "--predictions", str(preds), "--task", f"copa={f}")
    assert "task copa: no evaluation examples in" in err and str(f) in err


def test_tasks_naming_nothing_or_an_empty_file_are_errors(tmp_path, capsys):
    model = str(tmp_path / "no-model")  # never loaded: the specs fail first
    assert "names no task" in _evaluate_err(capsys, "--model", model, "--tasks", " , ")
    assert "no file after '='" in _evaluate_err(capsys, "--model", model, "--tasks", "copa=")


def test_out_that_is_a_file_fails_before_any_work(tmp_path, capsys):
    out = tmp_path / "results.txt"
    out.write_text("keep me\n")
    preds = tmp_path / "p.jsonl"
    preds.write_text('{"id": "0", "prediction": 0}\n')
    for target in (out, out / "sub"):
        err = _evaluate_err(capsys, "--predictions", str(preds), "--task", "copa", "--out", str(target))
        assert "is a file, not a directory" in err
    assert out.read_text() == "keep me\n"


def test_out_that_cannot_be_written_fails_before_any_work(tmp_path, capsys, monkeypatch):
    """--out on a read-only filesystem (or /proc/x) was found only when the reports were written, after the
    whole evaluation; it is refused first, and a folder made to find out is removed again."""
    import tempfile

    from tandem.evaluation.runner import check_out_dir

    def read_only(*args, **kwargs):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)
    model = str(tmp_path / "no-model")  # never loaded: --out fails first
    out = tmp_path / "new" / "eval"
    err = _evaluate_err(capsys, "--model", model, "--tasks", "copa", "--out", str(out))
    assert err.startswith(f"error: --out {out}: cannot write there: Read-only file system"), err
    assert not (tmp_path / "new").exists()
    monkeypatch.undo()
    check_out_dir(out)  # writable: nothing left behind either
    assert not (tmp_path / "new").exists()


def test_line_aligned_files_split_only_at_newlines(tmp_path):
    # U+2028 inside a sentence is text, not a line break: splitlines() would shift every later line
    (tmp_path / "flores200").mkdir()
    (tmp_path / "flores200" / "eng_Latn.devtest").write_text("one\u2028still one\ntwo\n", encoding="utf-8")
    (tmp_path / "flores200" / "deu_Latn.devtest").write_text("eins\r\nzwei\r\n", encoding="utf-8")
    docs = get_task("flores:en-de")[0].load(tmp_path, None)
    assert [(d["src"], d["tgt"]) for d in docs] == [("one\u2028still one", "eins"), ("two", "zwei")]


def test_bad_task_file_fails_before_the_model_is_loaded(tmp_path, capsys):
    f = tmp_path / "copa.jsonl"
    f.write_text(json.dumps({"premise": "p", "label": 0}) + "\n")
    model = tmp_path / "model"  # a config but no weights: loading it would fail, so it is never loaded
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"model_type": "tandem", "d_model": 32}))
    err = _evaluate_err(capsys, "--model", str(model), "--tasks", f"copa={f}")
    assert f"{f} line 1: field 'choice1' missing" in err and "weights" not in err


def test_malformed_predictions_files_are_errors_naming_the_line(tmp_path, capsys):
    squad = tmp_path / "dev.json"
    qas = [{"id": "q1", "question": "Who?", "answers": [{"text": "Ann", "answer_start": 0}]}]
    squad.write_text(json.dumps({"data": [{"paragraphs": [{"context": "Ann came.", "qas": qas}]}]}))
    preds = tmp_path / "p.jsonl"
    preds.write_text('{"id": "q1", "prediction": ["Ann"]}\n')  # was scored as the text "['Ann']"
    err = _evaluate_err(capsys, "--predictions", str(preds), "--task", f"squad2={squad}")
    assert f"{preds} line 1: task squad2 predicts text, but 'prediction' is a list" in err
    preds.write_text('{"id": "q1", "prediction": "Ann"}\n\n{"id": "q1", "prediction": ""}\n')  # last one won
    err = _evaluate_err(capsys, "--predictions", str(preds), "--task", f"squad2={squad}")
    assert f"{preds} line 3: a second prediction for id 'q1' (first on line 1)" in err


def test_hugging_face_fallback_reads_the_cache_only_unless_asked(monkeypatch):
    # with the Hub unreachable, `datasets` retried with back-off for ~25 s per missing task file
    datasets = pytest.importorskip("datasets")
    hf_config = pytest.importorskip("datasets.config")
    from tandem.evaluation import tasks as T

    seen = []

    def fake_load(name, config, split):
        seen.append(hf_config.HF_HUB_OFFLINE)
        return [{"x": 1}]

    monkeypatch.setattr(datasets, "load_dataset", fake_load)
    monkeypatch.delenv("TANDEM_HF_DOWNLOAD", raising=False)
    before = hf_config.HF_HUB_OFFLINE
    assert T.hf_rows("super_glue", "copa", "validation") == [{"x": 1}]
    monkeypatch.setenv("TANDEM_HF_DOWNLOAD", "1")
    T.hf_rows("super_glue", "copa", "validation")
    assert seen == [True, before] and hf_config.HF_HUB_OFFLINE == before


def test_rank_predictions_map_verbalisations_and_reject_unknown_labels(tmp_path, capsys):
    mrc = tmp_path / "multirc.jsonl"
    answers = [{"text": "Ann", "label": 1, "idx": 0}, {"text": "Bob", "label": 0, "idx": 1}]
    passage = {"text": "Ann came.", "questions": [{"question": "Who came?", "answers": answers, "idx": 0}]}
    mrc.write_text(json.dumps({"idx": 0, "passage": passage}) + "\n")
    preds = tmp_path / "p.jsonl"
    preds.write_text('{"id": "0-0-0", "prediction": "yes"}\n{"id": "0-0-1", "prediction": " No"}\n')
    task, explicit = get_task(f"multirc={mrc}")
    report = score_predictions(task, tmp_path, preds, explicit)  # "yes" was int("yes"): a ValueError
    assert report.metrics == {"f1a": 100.0, "em": 100.0}
    preds.write_text('{"id": "0-0-0", "prediction": "maybe"}\n')
    err = _evaluate_err(capsys, "--predictions", str(preds), "--task", f"multirc={mrc}")
    assert f"{preds} line 1: prediction 'maybe' is not a label of task multirc (0, 1)" in err


def _multirc_file(path, passages):
    path.write_text("".join(json.dumps(p) + "\n" for p in passages))
    return path


def test_multirc_without_idx_fields_keeps_questions_apart(tmp_path):
    # without idx fields every question was grouped as "None-None" (one question for EM) with ids
    # "None-None-None": EM over two questions, one right and one wrong, was 0 instead of 50
    def passage(text):
        answers = [{"text": "yes", "label": 1}, {"text": "no", "label": 0}]
        return {"passage": {"text": text, "questions": [{"question": "q?", "answers": answers}]}}

    f = _multirc_file(tmp_path / "mrc.jsonl", [passage("a"), passage("b")])
    task, explicit = get_task(f"multirc={f}")
    docs = task.load(tmp_path, explicit)
    assert len({d["qid"] for d in docs}) == 2 and len({d["id"] for d in docs}) == 4
    assert task.metric(docs, [1, 0, 0, 0]) == {"f1a": pytest.approx(200 / 3), "em": 50.0}


def test_limit_keeps_whole_multirc_questions(tmp_path):
    # EM needs every answer option of a question right. --limit 4 cut the second question after its first
    # option, which the prediction gets right: EM counted it as a right question (EM 100, F1a 100) on one of
    # its three options; over whole questions (6 options scored) EM is 50, the official per-question EM
    opts = [{"text": f"o{i}", "label": int(i == 0), "idx": i} for i in range(3)]
    questions = [{"question": f"q{q}?", "answers": opts, "idx": q} for q in range(2)]
    f = _multirc_file(tmp_path / "mrc.jsonl", [{"idx": 0, "passage": {"text": "t", "questions": questions}}])
    preds = tmp_path / "p.jsonl"
    right, wrong = {"0-0-0": 1, "0-0-1": 0, "0-0-2": 0, "0-1-0": 1}, {"0-1-1": 1, "0-1-2": 0}
    preds.write_text(
        "".join(json.dumps({"id": k, "prediction": v}) + "\n" for k, v in {**right, **wrong}.items())
    )
    task, explicit = get_task(f"multirc={f}")
    report = score_predictions(task, tmp_path, preds, explicit, limit=4)
    assert report.num_scored == 6 and report.metrics == {"f1a": pytest.approx(100 * 4 / 5), "em": 50.0}
    assert score_predictions(task, tmp_path, preds, explicit, limit=3).metrics["em"] == 100.0  # q0 whole
    assert (
        len(first_docs(task.load(tmp_path, explicit), 1)) == 3
        and first_docs([{"id": 0}] * 5, 2) == [{"id": 0}] * 2
    )


def test_limit_keeps_a_multirc_question_whole_when_its_options_are_apart(tmp_path):
    # one row per option (the Hugging Face layout), question 0's options not adjacent: --limit 2 kept
    # 0-0-0 and 0-1-0 only, so EM scored question 0 on one of its two options (right there: EM 100); the
    # question is kept whole wherever its options are, in file order
    def row(q, a, label):
        idx = {"paragraph": 0, "question": q, "answer": a}
        return {"paragraph": "t", "question": f"q{q}?", "answer": f"o{a}", "label": label, "idx": idx}

    f = _multirc_file(tmp_path / "mrc.jsonl", [row(0, 0, 1), row(1, 0, 1), row(1, 1, 0), row(0, 1, 0)])
    task, explicit = get_task(f"multirc={f}")
    kept = first_docs(task.load(tmp_path, explicit), 2)
    assert [d["id"] for d in kept] == ["0-0-0", "0-1-0", "0-1-1", "0-0-1"]
    preds = tmp_path / "p.jsonl"
    answers = {"0-0-0": 1, "0-1-0": 1, "0-1-1": 0, "0-0-1": 1}  # question 0's second option wrong
    preds.write_text("".join(json.dumps({"id": k, "prediction": v}) + "\n" for k, v in answers.items()))
    report = score_predictions(task, tmp_path, preds, explicit, limit=2)
    assert report.num_scored == 4 and report.metrics["em"] == 50.0
    assert [d["id"] for d in first_docs(task.load(tmp_path, explicit), 1)] == ["0-0-0", "0-0-1"]


def test_multirc_em_over_no_whole_question_is_absent_not_zero(tmp_path):
    # every question lacks a prediction for an option: no question is scorable for EM. It was reported as
    # EM 0.0 (a score no model earned); now None in metrics.json and n/a in the table, with the count of
    # questions left out kept
    f = _two_question_multirc(tmp_path)
    p = tmp_path / "p.jsonl"
    p.write_text("".join(json.dumps({"id": k, "prediction": 1}) + "\n" for k in ("0-0-0", "0-1-0")))
    task, explicit = get_task(f"multirc={f}")
    report = score_predictions(task, tmp_path, p, explicit)
    assert report.metrics == {"f1a": 100.0, "em": None, "em_left_out_total": 2.0}
    assert "| multirc | f1a | 100.00 |" in markdown_table([report])
    assert "|  | em | n/a |" in markdown_table([report])
    out = write_reports([report], tmp_path / "out")
    assert json.loads(out["metrics"].read_text())["results"]["multirc"]["em"] is None


def _two_question_multirc(tmp_path):
    """Question 0 with options labelled 1, 0; question 1 with options labelled 1, 0, 0."""
    questions = [
        {"question": f"q{q}?", "answers": [{"text": f"o{i}", "label": int(i == 0), "idx": i} for i in range(n)],
         "idx": q}
        for q, n in ((0, 2), (1, 3))
    ]  # fmt: skip
    return _multirc_file(
        tmp_path / "mrc.jsonl", [{"idx": 0, "passage": {"text": "t", "questions": questions}}]
    )


@pytest.mark.parametrize(
    "preds, want",
    [
        # question 1 without a prediction for its third option: right on the other two, it was an exact question
        # (EM 100 on a question half-answered); left out of EM it is counted instead, and with no question
        # whole there is no EM (None, not 0)
        ({"0-1-0": 1, "0-1-1": 0}, {"f1a": 100.0, "em": None, "em_left_out_total": 1.0}),
        (
            {"0-0-0": 1, "0-0-1": 0, "0-1-0": 1, "0-1-1": 0},
            {"f1a": 100.0, "em": 100.0, "em_left_out_total": 1.0},
        ),
        (
            {"0-0-0": 0, "0-0-1": 0, "0-1-0": 1, "0-1-1": 0},
            {"f1a": 200 / 3, "em": 0.0, "em_left_out_total": 1.0},
        ),
        ({"0-0-0": 1, "0-0-1": 0, "0-1-0": 1, "0-1-1": 0, "0-1-2": 1}, {"f1a": 80.0, "em": 50.0}),
    ],
)
def test_multirc_em_leaves_out_questions_with_a_missing_option(tmp_path, preds, want):
    f = _two_question_multirc(tmp_path)
    p = tmp_path / "p.jsonl"
    p.write_text("".join(json.dumps({"id": k, "prediction": v}) + "\n" for k, v in preds.items()))
    task, explicit = get_task(f"multirc={f}")
    report = score_predictions(task, tmp_path, p, explicit)
    assert report.metrics == pytest.approx(want) and report.missing == 5 - len(preds)
    assert "em_left_out_total" not in markdown_table([report])  # a count, in metrics.json only


def test_multirc_em_leaves_out_a_question_whose_option_the_model_skipped(tiny_model, tmp_path):
    # an option too long for the model is a counted skip; its question was still scored for EM on its others
    from tandem.evaluation.runner import run_task
    from tandem.model import Seq2SeqLM
    from tandem.prompting.lm import EncoderDecoder
    from tandem.tokenizer import Tokenizer

    f = _two_question_multirc(tmp_path)
    row = json.loads(f.read_text())
    row["passage"]["questions"][1]["answers"][2]["text"] = "a long answer " * 60  # past 96 positions
    f.write_text(json.dumps(row) + "\n")
    lm = EncoderDecoder(Seq2SeqLM.from_pretrained(tiny_model), Tokenizer.load(tiny_model))
    task, explicit = get_task(f"multirc={f}")
    rep = run_task(lm, task, tmp_path, explicit, batch_size=2)
    assert rep.skipped_too_long == 1 and rep.num_scored == 4
    got = {r["id"]: (r["gold"], r["prediction"]) for r in rep.records if not r.get("skipped")}
    q0_exact = all(g == p for k, (g, p) in got.items() if k.startswith("0-0-"))
    assert rep.metrics["em"] == 100.0 * q0_exact and rep.metrics["em_left_out_total"] == 1.0


def test_multirc_answer_without_a_label_is_an_error(tmp_path):
    # a missing label was read as -1 and scored as a wrong option, silently
    answers = [{"text": "yes", "idx": 0}]
    row = {
        "idx": 0,
        "passage": {"text": "t", "questions": [{"question": "q?", "answers": answers, "idx": 0}]},
    }
    f = _multirc_file(tmp_path / "mrc.jsonl", [row])
    with pytest.raises(TandemError, match=r"mrc.jsonl line 1: field 'label' missing"):
        get_task(f"multirc={f}")[0].load(tmp_path, str(f))
    answers[0]["label"] = 2
    f = _multirc_file(tmp_path / "mrc.jsonl", [row])
    with pytest.raises(TandemError, match=r"line 1: answer label 2 is not 0 or 1"):
        get_task(f"multirc={f}")[0].load(tmp_path, str(f))


def test_record_query_without_gold_answers_is_an_error(tmp_path):
    # a query without answers (a test split) scored 0 whatever the prediction
    passage = {"text": "Ann met Bob.", "entities": [{"start": 0, "end": 2}, {"start": 8, "end": 10}]}
    row = {"idx": 0, "passage": passage, "qas": [{"query": "@placeholder came", "idx": 7}]}
    f = tmp_path / "record.jsonl"
    f.write_text(json.dumps(row) + "\n")
    with pytest.raises(TandemError, match=r"record.jsonl line 1: field 'answers' missing"):
        get_task(f"record={f}")[0].load(tmp_path, str(f))
    row["qas"][0]["answers"] = []
    f.write_text(json.dumps(row) + "\n")
    with pytest.raises(TandemError, match=r"record.jsonl line 1: ReCoRD query '7' has no gold answers"):
        get_task(f"record={f}")[0].load(tmp_path, str(f))


def test_non_text_gold_fields_are_errors_naming_file_line_and_field(tmp_path):
    # a null / list target or summary, or a null SQuAD answer, failed inside the metric with a TypeError
    preds = tmp_path / "p.jsonl"
    preds.write_text('{"id": "0", "prediction": "x"}\n')
    cases = [
        ("flores:en-de", {"id": "0", "src": "a", "tgt": None}, "field 'tgt' must be a string, got null"),
        ("xsum", {"id": "0", "text": "d", "summary": ["a", "b"]}, "field 'summary' must be a string"),
    ]
    for spec, row, message in cases:
        f = tmp_path / "task.jsonl"
        f.write_text(
            '{"id": "9", "src": "s", "tgt": "t", "text": "d", "summary": "s"}\n' + json.dumps(row) + "\n"
        )
        task, explicit = get_task(f"{spec}={f}")
        with pytest.raises(TandemError, match=f"task.jsonl line 2: {message}"):
            score_predictions(task, tmp_path, preds, explicit)
    squad = tmp_path / "dev.json"
    qas = [{"id": "q1", "question": "Who?", "answers": [{"text": None}]}]
    squad.write_text(json.dumps({"data": [{"paragraphs": [{"context": "c", "qas": qas}]}]}))
    with pytest.raises(TandemError, match=r"dev.json \(question 'q1'\): field 'text' must be a string"):
        get_task(f"squad2={squad}")[0].load(tmp_path, str(squad))
    squad.write_text(json.dumps({"data": [{"paragraphs": [{"context": "c", "qas": ["q1"]}]}]}))
    with pytest.raises(TandemError, match=r"dev.json \(question 1\): expected a JSON object"):
        get_task(f"squad2={squad}")[0].load(tmp_path, str(squad))


_SG_ROWS = {
    "boolq": {"passage": "p", "question": "q?", "label": True},
    "cb": {"premise": "p", "hypothesis": "h", "label": "entailment"},
    "copa": {**_COPA, "label": 0},
    "rte": {"premise": "p", "hypothesis": "h", "label": "not_entailment"},
    "wic": {"sentence1": "a b", "sentence2": "b c", "word": "b", "label": False},
    "wsc": {
        "text": "Tom said he won.",
        "target": {"span1_index": 0, "span1_text": "Tom", "span2_index": 2, "span2_text": "he"},
        "label": True,
    },
}


@pytest.mark.parametrize(
    ("task", "change", "message"),
    [
        # a traceback (AttributeError / TypeError in the template) before
        ("copa", {"premise": None}, "field 'premise' must be a string, got null"),
        ("copa", {"choice2": 5}, "field 'choice2' must be a string, got 5"),
        ("wsc", {"text": 5}, "field 'text' must be a string, got 5"),
        # read into the prompt as "{}" / "None" / "5", silently, before
        ("rte", {"hypothesis": {}}, "field 'hypothesis' must be a string, got {}"),
        ("boolq", {"passage": None}, "field 'passage' must be a string, got null"),
        ("wic", {"word": 5}, "field 'word' must be a string, got 5"),
        (
            "wsc",
            {"target": {"span1_text": "Tom", "span2_text": None}},
            "field 'target.span2_text' must be a string, got null",
        ),
        # a yes/no label of another type was read as bool(label): 5 true, "maybe" false, null false
        ("boolq", {"label": 5}, "label 5 is not a boolean"),
        ("wic", {"label": "maybe"}, "label 'maybe' is not a boolean"),
        ("wsc", {"label": None}, "label None is not a boolean"),
        ("copa", {"label": True}, r"label True is not one of 0, 1"),  # True == 1
    ],
)
def test_superglue_fields_of_the_wrong_type_are_named(tmp_path, task, change, message):
    f = tmp_path / f"{task}.jsonl"
    f.write_text(json.dumps(_SG_ROWS[task]) + "\n" + json.dumps({**_SG_ROWS[task], **change}) + "\n")
    with pytest.raises(TandemError, match=f"{task}.jsonl line 2: {message}"):
        get_task(f"{task}={f}")[0].load(tmp_path, str(f))


def test_superglue_boolean_labels_in_their_spellings_load(tmp_path):
    f = tmp_path / "boolq.jsonl"
    labels = [True, False, 1, 0, "True", "false", "yes", "NO", "1", "0"]
    f.write_text("".join(json.dumps({**_SG_ROWS["boolq"], "label": x}) + "\n" for x in labels))
    assert len(get_task(f"boolq={f}")[0].load(tmp_path, str(f))) == len(labels)


def test_record_and_multirc_fields_of_the_wrong_type_are_named(tmp_path):
    """A null or a number where a list or a string belongs was a TypeError traceback (ReCoRD's qas and entities,
    an entity offset), or read as text (MultiRC's passage, question, answer)."""
    passage = {"text": "Ann met Bob.", "entities": [{"start": 0, "end": 2}, {"start": 8, "end": 10}]}
    good = {
        "idx": 0,
        "passage": passage,
        "qas": [{"query": "@placeholder came", "answers": [{"text": "Ann"}]}],
    }
    f = tmp_path / "record.jsonl"
    for row, message in [
        ({**good, "qas": 5}, "field 'qas' must be a list, got 5"),
        ({**good, "passage": {**passage, "entities": 5}}, "field 'entities' must be a list, got 5"),
        (
            {**good, "passage": {**passage, "entities": [{"start": None, "end": 2}]}},
            "an entity's 'start' and 'end' must be integers",
        ),
        ({**good, "passage": {**passage, "text": None}}, "field 'text' must be a string, got null"),
        ({**good, "qas": [{"query": 3, "answers": [{"text": "Ann"}]}]}, "field 'query' must be a string"),
    ]:
        f.write_text(json.dumps(good) + "\n" + json.dumps(row) + "\n")
        with pytest.raises(TandemError, match=f"record.jsonl line 2: {message}"):
            get_task(f"record={f}")[0].load(tmp_path, str(f))
    q = {"question": "q?", "answers": [{"text": "yes", "label": 1}]}
    good = {"idx": 0, "passage": {"text": "t", "questions": [q]}}
    for row, message in [
        ({"passage": {"text": None, "questions": [q]}}, "field 'text' must be a string, got null"),
        ({"passage": {"text": "t", "questions": 5}}, "field 'questions' must be a list, got 5"),
        (
            {"passage": {"text": "t", "questions": [{**q, "question": [1]}]}},
            "field 'question' must be a string",
        ),
        (
            {"passage": {"text": "t", "questions": [{**q, "answers": [{"text": 4, "label": 0}]}]}},
            "field 'text' must be a string, got 4",
        ),
    ]:
        f = _multirc_file(tmp_path / "mrc.jsonl", [good, row])
        with pytest.raises(TandemError, match=f"mrc.jsonl line 2: {message}"):
            get_task(f"multirc={f}")[0].load(tmp_path, str(f))


def test_unreadable_flores_spm_fails_when_the_task_is_built(tmp_path):
    # --flores-spm was only opened by the metric, after the model had translated the whole devtest
    with pytest.raises(TandemError, match=r"spBLEU: cannot load SentencePiece model .*missing.model"):
        get_task("flores:en-de", str(tmp_path / "missing.model"))


def _wsc_row(idx, span2_index, label, text="Tom told Bill that he would win because he trained hard."):
    target = {"span1_index": 0, "span1_text": "Tom", "span2_index": span2_index, "span2_text": "he"}
    return {"text": text, "target": target, "label": label, "idx": idx}


def test_wsc_prompt_marks_which_pronoun_occurrence_is_meant(tmp_path):
    # "he" occurs twice: the two examples differ only in span2_index, and their prompts must differ too
    f = tmp_path / "wsc.jsonl"
    rows = [_wsc_row(0, 4, True), _wsc_row(1, 8, False), _wsc_row(2, 7, False)]  # idx 2: index one word off
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    task, _ = get_task(f"wsc={f}")
    p = [task.prompt(d) for d in task.load(tmp_path, str(f))]
    assert p[0].startswith("Tom told Bill that *he* would win because he trained hard. Question:")
    assert p[1].startswith("Tom told Bill that he would win because *he* trained hard. Question:")
    assert p[2] == p[1]  # the nearest matching word, as in validation idx 42
    assert "does the pronoun '*he*' refer to 'Tom'? Answer:" in p[0]


def test_wsc_validation_prompts_determine_their_label(shared_data):
    # 27 of the 104 passages hold their pronoun more than once; unmarked, "the master" / "he" in one passage
    # gave the same prompt with labels True and False
    task, _ = get_task("wsc")
    labels: dict[str, set] = {}
    for d in task.load(shared_data, None):
        labels.setdefault(task.prompt(d), set()).add(d["label"])
    assert len(labels) == 101 and all(len(v) == 1 for v in labels.values())


def _xnli_file(tmp_path):
    rows = [
        (f"Premise {p}.", f"Hypothesis {p}{h}.", lab)
        for p in "ABCD"
        for h, lab in zip("xyz", ["entailment", "neutral", "contradiction"])
    ]
    f = tmp_path / "xnli.tsv"
    f.write_text("".join("\t".join(r) + "\n" for r in rows))
    return f


def test_eval_split_demonstrations_skip_the_querys_premise_siblings(tmp_path):
    from tandem.evaluation.runner import build_prompts
    from tandem.prompting.templates import PromptFormat

    f = _xnli_file(tmp_path)
    task, explicit = get_task(f"xnli:en={f}")
    docs = task.load(tmp_path, explicit)
    # each premise has one hypothesis per label: a sibling demonstration gives the query's label away
    prompts, kept, _ = build_prompts(task, docs, docs, True, 9, 0, PromptFormat(), len, None)
    for d, p in zip(docs, prompts):
        assert kept == [9] * 12 and p.count(d["premise"]) == 1, p  # only the query's own
    from tandem.evaluation.runner import check_shots, demonstrations_available

    assert demonstrations_available(task, docs, docs, True) == 9
    check_shots(task, 9, 9, True)
    with pytest.raises(TandemError, match="10 shots asked for but only 9"):
        check_shots(task, 10, demonstrations_available(task, docs, docs, True), True)


def test_demonstrations_never_repeat_the_querys_input(tmp_path):
    from tandem.evaluation.runner import build_prompts
    from tandem.prompting.templates import PromptFormat

    # a duplicated example (xSID, SQuAD 2.0 and SLURP have some) shows the query's own gold answer
    f = tmp_path / "mt.jsonl"
    srcs = ["Hello.", "Good day.", "Hello.", "Thanks.", "Bye.", "See you."]
    f.write_text(
        "".join(json.dumps({"id": str(i), "src": s, "tgt": f"T{i}"}) + "\n" for i, s in enumerate(srcs))
    )
    task, explicit = get_task(f"flores:en-de={f}")
    docs = task.load(tmp_path, explicit)
    for seed in range(5):
        prompts, kept, _ = build_prompts(task, docs, docs, True, 4, seed, PromptFormat(), len, None)
        assert kept == [4] * 6
        for i in (0, 2):
            assert prompts[i].count("Sentence: Hello.") == 1, prompts[i]
    from tandem.evaluation.runner import demonstrations_available

    assert demonstrations_available(task, docs, docs, True) == 4


def test_copa_choices_keep_the_pronoun_i_capitalised(tmp_path):
    f = tmp_path / "copa.jsonl"
    row = {
        "premise": "My body cast a shadow.",
        "choice1": "I stood up.",
        "choice2": "Ice melted.",
        "question": "cause",
    }
    f.write_text(json.dumps({**row, "label": 0, "idx": 0}) + "\n")
    task, explicit = get_task(f"copa={f}")
    d = task.load(tmp_path, explicit)[0]
    assert task.prompt(d) == "My body cast a shadow because"
    assert task.choices(d) == [" I stood up.", " ice melted."] and task.target(d) == " I stood up."


@pytest.mark.parametrize(
    "device,want",
    [
        ("nope", "--device 'nope' is not a torch device (cpu, cuda, cuda:0, mps)"),
        ("cuda:99", "--device 'cuda:99' is not available here"),
        ("mps", "--device 'mps' is not available here"),
    ],
)
def test_a_device_that_is_not_there_is_a_one_line_error(device, want, tmp_path, capsys):
    # was torch's traceback from inside the model load ("Expected one of cpu, cuda, ..." or "Torch not
    # compiled with CUDA enabled", "PyTorch is not linked with support for mps devices"), after the data had
    # been read
    import torch

    if device == "mps" and torch.backends.mps.is_available():
        pytest.skip("this machine has an MPS device")
    err = _evaluate_err(capsys, "--model", str(tmp_path), "--tasks", "copa", "--device", device)
    assert err.startswith(f"error: {want}") and err.count("\n") == 1


def test_out_holding_the_predictions_file_being_scored_is_an_error(tmp_path, capsys):
    # `--predictions run/predictions.jsonl --out run` scored the file, then replaced it with an empty
    # predictions.jsonl: the run's predictions, every task's, were gone
    run = tmp_path / "run"
    run.mkdir()
    preds = run / "predictions.jsonl"
    text = "".join(json.dumps({"task": "copa", "id": str(i), "prediction": 0}) + "\n" for i in range(3))
    preds.write_text(text)
    for out in (run, tmp_path / "." / "run"):
        err = _evaluate_err(capsys, "--predictions", str(preds), "--task", "copa", "--out", str(out))
        assert "is the --predictions file" in err and "give --out another directory" in err
    assert preds.read_text() == text


@pytest.mark.parametrize(
    "tasks", ["copa,copa", "copa,copa=other.jsonl", "flores:en-de,flores:eng_Latn-deu_Latn"]
)
def test_a_task_named_twice_in_tasks_is_an_error(tasks, tmp_path, capsys):
    # metrics.json (keyed by task name) kept only the second run's scores, with nothing said, and
    # predictions.jsonl held both under one name
    err = _evaluate_err(capsys, "--model", str(tmp_path), "--tasks", tasks)
    assert "twice" in err and "run of its own" in err and err.count("\n") == 1
