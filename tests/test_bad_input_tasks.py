"""Evaluation and generation inputs that were accepted silently: XNLI rows with extra columns or an empty
sentence, SNIPS/xSID tags that are not BIO, an xSID sentence without tokens, `--predictions` rows whose id or
prediction has the wrong type, `generate --prompt ""`. Each is an error naming the file, line and field."""

from __future__ import annotations

import json

import pytest

from tandem.cli import main
from tandem.errors import TandemError
from tandem.evaluation.runner import score_predictions
from tandem.evaluation.tasks import get_task
from tandem.slu import bio_to_spans, load_snips, load_xsid


def _one_line_error(capsys) -> str:
    out, err = capsys.readouterr()
    assert "Traceback" not in err and err.startswith("error: ") and err.count("\n") == 1, err
    return err


# ------------------------------------------------------------------------------------------------------ XNLI
XNLI_GOOD = "A man sleeps.\tA man is awake.\tcontradiction\nA man sleeps.\tSomeone rests.\tentailment\n"


@pytest.mark.parametrize(
    "row, message",
    [
        # the fourth column was dropped: a tab inside a hypothesis lost the rest of the sentence
        (
            "A dog runs.\tAn animal\tmoves.\tentailment",
            "line 3: 4 tab-separated columns; expected 3, premise",
        ),
        ("A dog runs.\tAn animal moves.\tentailment\t", "line 3: 4 tab-separated columns; expected 3"),
        ("\tAn animal moves.\tentailment", "line 3: empty premise"),  # was the prompt " Question: ..."
        ("A dog runs.\t  \tneutral", "line 3: empty hypothesis"),
    ],
)
def test_xnli_rows_with_extra_columns_or_an_empty_sentence_are_named(tmp_path, row, message):
    f = tmp_path / "dev-xx.tsv"
    f.write_text(XNLI_GOOD + row + "\n", encoding="utf-8")
    task, explicit = get_task(f"xnli:xx={f}")
    with pytest.raises(TandemError, match=f"dev-xx.tsv {message}"):
        task.load(tmp_path, explicit)
    f.write_text(XNLI_GOOD, encoding="utf-8")
    assert [d["label"] for d in task.load(tmp_path, explicit)] == ["contradiction", "entailment"]


def test_every_shared_xnli_snips_and_xsid_file_still_loads(shared_data):
    for lang in ("ar", "de", "en", "es", "fr", "hi"):
        task, _ = get_task(f"xnli:{lang}")
        assert len(task.load(shared_data, None)) == 2490
    assert [len(load_snips(shared_data / "snips", s)) for s in ("train", "valid")] == [13084, 700]
    sizes = {
        lang: len(load_xsid(shared_data / "xsid" / f"{lang}.valid.conll"))
        for lang in "ar de en it ja".split()
    }
    assert sizes == {"ar": 300, "de": 300, "en": 300, "it": 300, "ja": 150}


# ------------------------------------------------------------------------------------------------ SLU tags
# read as bare slot names before (conlleval's fallback): `X-time` a slot "X-time", `ZZZ` a slot "ZZZ", `.` an O
BAD_TAGS = ["X-time", "ZZZ", ".", "o"]


@pytest.mark.parametrize("tag", BAD_TAGS)
def test_snips_tags_that_are_not_bio_are_named(tmp_path, tag):
    (tmp_path / "seq.in").write_text("play it\nwake me now\n")
    (tmp_path / "seq.out").write_text(f"O B-x\nO O {tag}\n")
    (tmp_path / "label").write_text("Play\nWake\n")
    with pytest.raises(TandemError, match=rf"seq.out line 2: tag {tag!r} is not a BIO tag; write B-<slot>"):
        load_snips(tmp_path)


@pytest.mark.parametrize("tag", BAD_TAGS)
def test_xsid_tags_that_are_not_bio_are_named(tmp_path, tag):
    p = tmp_path / "x.conll"
    p.write_text(f"# text = hi\n# intent = greet\n1\thi\tgreet\tO\n\n# intent = set\n1\twake\tset\t{tag}\n")
    with pytest.raises(TandemError, match=rf"x.conll line 6: tag {tag!r} is not a BIO tag"):
        load_xsid(p)


def test_i_after_o_is_accepted_and_starts_a_chunk_as_in_conlleval(tmp_path):
    """Not a load error: conlleval reads an I-x after O (or after another slot) as the start of an x chunk."""
    (tmp_path / "seq.in").write_text("wake me at seven am\n")
    (tmp_path / "seq.out").write_text("O O O I-time I-time\n")
    (tmp_path / "label").write_text("Wake\n")
    (ex,) = load_snips(tmp_path)
    assert ex.spans == bio_to_spans(None, ["O", "O", "O", "B-time", "I-time"]) == [("time", 3, 5)]
    assert ex.slots == [("time", "seven am")]


def test_xsid_sentence_comments_without_tokens_are_named(tmp_path):
    p = tmp_path / "x.conll"
    first = "# text = hi\n# intent = greet\n1\thi\tgreet\tO\n\n"
    # the second sentence lost its token lines: it was dropped without a word
    p.write_text(first + "# text = wake me\n# intent = alarm/set\n\n# intent = bye\n1\tbye\tbye\tO\n")
    with pytest.raises(
        TandemError, match=r"x.conll line 5: sentence with '# text' or '# intent' comments but no"
    ):
        load_xsid(p)
    p.write_text(first + "# text = wake me\n# intent = alarm/set\n")  # at the end of the file too
    with pytest.raises(TandemError, match=r"x.conll line 5: "):
        load_xsid(p)
    p.write_text("# newdoc\n\n" + first)  # a comment that is no sentence's stays allowed
    assert [x.intent for x in load_xsid(p)] == ["greet"]


XSID_FIRST = "# text = hi\n# intent = greet\n1\thi\tgreet\tO\n\n"


@pytest.mark.parametrize(
    "second, message",
    [
        # a fifth column was ignored: the tag read was the fourth, whatever the row meant
        (
            "# intent = set\n1\twake\tset\tO\tB-time\n",
            r"line 6: expected 4 tab-separated columns \(id, token, intent, tag\), got 5",
        ),
        ("# intent = set\n1\twake\tset\tO\t\n", r"line 6: expected 4 tab-separated columns .*got 5"),
        # a row's intent that is not the sentence's was ignored: the `# intent` line won
        (
            "# intent = alarm/set\n1\twake\talarm/set\tO\n2\tup\talarm/cancel\tO\n",
            r"line 7: intent column 'alarm/cancel' disagrees with the sentence's intent 'alarm/set' \(line 5\)",
        ),
        # without a `# intent` line the first row's intent was the sentence's, later rows ignored
        ("1\twake\tset\tO\n2\tup\tcancel\tO\n", r"line 6: intent column 'cancel' disagrees .*\(line 5\)"),
        # a second `# text` replaced the first without a word (a sentence run into the next, say)
        (
            "# text = wake up\n# intent = set\n# text = bye\n1\twake\tset\tO\n",
            r"line 7: a second '# text' comment in one sentence \(the first on line 5\)",
        ),
        ("# intent = set\n# intent = bye\n1\twake\tset\tO\n", r"line 6: a second '# intent' comment"),
    ],
)
def test_xsid_rows_that_were_silently_misread_are_named(tmp_path, second, message):
    p = tmp_path / "x.conll"
    p.write_text(XSID_FIRST + second, encoding="utf-8")
    with pytest.raises(TandemError, match=rf"x.conll {message}"):
        load_xsid(p)


def test_xsid_rows_that_agree_or_leave_the_intent_column_empty_load(tmp_path):
    p = tmp_path / "x.conll"
    # repeated comments other than id/text/intent (xSID's `# text-en`, `# slots`) are not read: allowed
    p.write_text(
        XSID_FIRST
        + "# text = wake up\n# slots = x\n# slots = y\n# intent = set\n1\twake\tset\tO\n2\tup\t\tO\n"
    )
    got = [(x.text, x.intent, x.tokens) for x in load_xsid(p)]
    assert got == [("hi", "greet", ["hi"]), ("wake up", "set", ["wake", "up"])]


# ---------------------------------------------------------------------------------------- --predictions rows
@pytest.fixture
def squad(tmp_path):
    f = tmp_path / "dev.json"
    qas = [
        {"id": "q1", "question": "Who?", "answers": [{"text": "Ann", "answer_start": 0}]},
        {"id": "7", "question": "When?", "answers": [{"text": "1999", "answer_start": 10}]},
    ]
    f.write_text(json.dumps({"data": [{"paragraphs": [{"context": "Ann came in 1999.", "qas": qas}]}]}))
    return f


def _score(tmp_path, spec, rows):
    preds = tmp_path / "p.jsonl"
    preds.write_text("".join(r if isinstance(r, str) else json.dumps(r) + "\n" for r in rows))
    task, explicit = get_task(spec)
    return score_predictions(task, tmp_path, preds, explicit)


@pytest.mark.parametrize(
    "line, message",
    [
        # a number was scored as its text: 1999 right, NaN the answer "nan"
        (
            '{"id": "7", "prediction": 1999}\n',
            r"'prediction' is a number \(1999\); give the predicted string",
        ),
        ('{"id": "7", "prediction": NaN}\n', r"'prediction' is a number \(NaN\)"),
        ('{"id": "7", "prediction": true}\n', r"'prediction' is a boolean \(true\)"),
        # skipped without a word (counted as missing)
        (
            '{"id": "7", "prediction": null}\n',
            "field 'prediction' is null; give the predicted string, or leave",
        ),
        # "no prediction matches an example id", naming no line
        ('{"id": 7.0, "prediction": "1999"}\n', "field 'id' must be a string \\(or an integer\\), got 7.0"),
        ('{"id": null, "prediction": "1999"}\n', "field 'id' must be a string .*got null"),
        ('{"id": ["7"], "prediction": "1999"}\n', "field 'id' must be a string .*got \\[\"7\"\\]"),
        ('{"id": true, "prediction": "1999"}\n', "field 'id' must be a string .*got true"),
    ],
)
def test_prediction_rows_of_the_wrong_type_are_named(tmp_path, squad, line, message):
    with pytest.raises(TandemError, match=f"p.jsonl line 2: .*{message}"):
        _score(tmp_path, f"squad2={squad}", ['{"id": "q1", "prediction": "Ann"}\n', line])


def test_prediction_ids_as_integers_and_our_own_skipped_records_still_score(tmp_path, squad):
    rows = [{"id": "q1", "prediction": "Ann"}, {"id": 7, "prediction": "1999"}]
    assert _score(tmp_path, f"squad2={squad}", rows).metrics["exact"] == 100.0
    skipped = {"id": "7", "prediction": None, "skipped": "query longer than the model maximum"}
    report = _score(tmp_path, f"squad2={squad}", [rows[0], skipped])  # as `tandem evaluate --out` writes it
    assert report.num_scored == 1 and report.missing == 1


def test_slu_and_record_predictions_must_be_strings(tmp_path, capsys):
    conll = tmp_path / "x.conll"
    conll.write_text("# intent = greet\n1\thi\tgreet\tO\n\n# intent = bye\n1\tbye\tbye\tO\n")
    preds = tmp_path / "p.jsonl"
    preds.write_text('{"id": "0", "prediction": "greet"}\n{"id": "1", "prediction": 5}\n')
    assert main(["evaluate", "--no-progress", "--predictions", str(preds), "--task", f"xsid:xx={conll}"]) == 2
    assert f"{preds} line 2: task xsid:xx predicts text, but 'prediction' is a number (5)" in _one_line_error(
        capsys
    )
    preds.write_text('{"id": "0", "prediction": "greet"}\n{"id": "1", "prediction": "bye"}\n')
    assert (
        score_predictions(get_task(f"xsid:xx={conll}")[0], tmp_path, preds, str(conll)).metrics["exact_match"]
        == 100
    )
    record = tmp_path / "record.jsonl"
    passage = {
        "text": "Ann met 5 friends. @highlight\nBob",
        "entities": [{"start": 0, "end": 2}, {"start": 8, "end": 8}],
    }
    qas = [{"idx": "r1", "query": "@placeholder came", "answers": [{"text": "5"}]}]
    record.write_text(json.dumps({"idx": 0, "passage": passage, "qas": qas}) + "\n")
    preds.write_text('{"id": "r1", "prediction": 6}\n')  # was scored as the text "6"
    task, explicit = get_task(f"record={record}")
    with pytest.raises(
        TandemError, match="p.jsonl line 1: task record predicts text, but 'prediction' is a number"
    ):
        score_predictions(task, tmp_path, preds, explicit)


# ------------------------------------------------------------------------------------------ generate --prompt
@pytest.mark.parametrize("prompt", ["", "  "])
def test_generate_refuses_an_empty_prompt_as_the_server_does(tmp_path, capsys, prompt):
    # ran: the encoder read EOS alone; /v1/generate answers 422 "inputs: empty string" and --input skips blanks.
    # Refused before the model is loaded (this one does not exist).
    args = ["generate", str(tmp_path / "no-model"), "--prompt", "hi", "--prompt", prompt]
    assert main(args) == 2
    assert "--prompt 2: empty; give the text to generate from" in _one_line_error(capsys)
