"""Evaluation and generation inputs that were accepted silently: XNLI rows with extra columns or an empty
sentence, SNIPS/xSID tags that are not BIO, an xSID sentence without tokens, `--predictions` rows whose id or
prediction has the wrong type, `generate --prompt ""`. Each is an error naming the file, line and field."""

from __future__ import annotations

import pytest

from tandem.errors import TandemError
from tandem.evaluation.tasks import get_task

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
