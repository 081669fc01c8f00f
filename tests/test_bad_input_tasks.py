"""Evaluation and generation inputs that were accepted silently: XNLI rows with extra columns or an empty
sentence, SNIPS/xSID tags that are not BIO, an xSID sentence without tokens, `--predictions` rows whose id or
prediction has the wrong type, `generate --prompt ""`. Each is an error naming the file, line and field."""

from __future__ import annotations

import pytest

from tandem.errors import TandemError
from tandem.evaluation.tasks import get_task
from tandem.slu import bio_to_spans, load_snips, load_xsid

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
