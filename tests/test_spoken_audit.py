"""Defects found by an audit of tandem.spoken, each checked against num2words or the documented rule."""

from __future__ import annotations

import re

import pytest
from num2words import num2words

from tandem.spoken.rules import rules_for

N2W = {"pt": "pt_BR"}


def _words(n: int, lang: str) -> str:
    return " ".join(re.sub(r"[-,]", " ", num2words(n, lang=N2W.get(lang, lang))).split())


@pytest.mark.parametrize("lang", ["en", "de", "fr", "pt", "ar", "ja"])
@pytest.mark.parametrize(
    "huge",
    [
        "7" * 5000,  # a unit, a percentage, money: int() of over 4300 digits raised
        "7" + ",777" * 1700,  # grouped
        "7" + " 777" * 1700,
    ],
    ids=["run", "commas", "spaces"],
)
@pytest.mark.parametrize("template", ["${n}", "{n} km", "{n}%", "{n}/2", "1/{n}", "{n}th", "{n} million"])
def test_huge_numbers_are_read_digit_by_digit_and_leave_the_line_normalised(
    lang: str, huge: str, template: str
) -> None:
    """A number of thousands of digits raised ValueError (int's 4300-digit limit) in the money, unit,
    percent, fraction, ordinal and scale rules: the whole line fell back to a plain clean-up (the "$5" of
    the same line lost its currency word) and an internal error was printed."""
    seven = _words(7, lang)
    text = "5 " + template.replace("{n}", huge)
    out = rules_for(lang).normalize(text)  # the strict path: an internal error fails the test
    assert out.startswith(_words(5, lang))
    assert out.count(seven) >= huge.count("7") and not re.search(r"\d", out)


@pytest.mark.parametrize("lang", ["en", "de", "ar", "ja"])
def test_huge_superscript_runs_do_not_raise(lang: str) -> None:
    out = rules_for(lang).normalize("x" + "²" * 5000 + " 10⁻³")
    assert out.count(_words(2, lang)) >= 5000 and not re.search(r"\d", out)


def test_huge_number_keeps_the_rest_of_the_line() -> None:
    from tandem.spoken import to_spoken

    out = to_spoken("It costs $5, code " + "7" * 100_000, "en")
    assert out == "it costs five dollars code " + " ".join(["seven"] * 100_000)


@pytest.mark.parametrize("lang", ["en", "de", "fr", "it", "ar"])
def test_dotted_capital_i_lowercases_to_plain_i(lang: str) -> None:
    """ "İstanbul" was "i̇stanbul": str.lower() of U+0130 is "i" + a combining dot above (U+0307), a
    character pair no ASR transcript holds and that a tokenizer splits off the word."""
    from tandem.spoken import to_spoken

    for text in ("İstanbul", "I\u0307stanbul", "İZMİR"):
        out = to_spoken(text, lang)
        assert "\u0307" not in out and out in ("istanbul", "izmir")


def test_latin_ligatures_are_their_letters() -> None:
    """ "ﬁve ﬂoors" (ligatures of PDF text) stayed "ﬁve ﬂoors"; the reference is Unicode's own compatibility
    decomposition of each ligature (NFKC)."""
    import unicodedata

    from tandem.spoken import to_spoken

    for lig in map(chr, range(0xFB00, 0xFB07)):
        text = f"a{lig}x"
        assert to_spoken(text, "en") == unicodedata.normalize("NFKC", text).lower()
    assert to_spoken("ﬁve ﬂoors", "en") == "five floors"


@pytest.mark.parametrize(
    "text",
    ["in the 1990's", "the 1800's", "the 80's", "mid-1990's", "the 1960's and 1970's", "the early 2000’s"],
)
def test_decade_written_with_apostrophe_s_is_the_decade(text: str) -> None:
    """ "the 1990's" was *the nineteen ninety s*: the apostrophe form of the documented decade `1990s`
    (*nineteen nineties*) is read as that decade."""
    from tandem.spoken import to_spoken

    plain = text.replace("'s", "s").replace("’s", "s")
    assert to_spoken(text, "en") == to_spoken(plain, "en")
    assert " s " not in f" {to_spoken(text, 'en')} "


def test_year_with_apostrophe_s_elsewhere_is_its_possessive() -> None:
    """ "2020's budget" was *twenty twenty s budget*; the possessive keeps its apostrophe on the year as the
    README keeps it inside words ("john's"); the year's words are num2words' year reading."""
    from tandem.spoken import to_spoken

    year = num2words(2020, lang="en", to="year").replace("-", " ")
    assert to_spoken("2020's budget was big.", "en") == f"{year}'s budget was big"


def test_cli_refuses_text_that_is_not_utf8(tmp_path, monkeypatch, capsys) -> None:
    """A Latin-1 file was read with errors="replace" and its accented letters dropped without a word
    ("café" -> "caf"); it is refused naming the file and line, as every other tandem reader does."""
    import io
    import sys

    from tandem.cli import main

    raw = "Il a 3 chats.\ncafé 5\n".encode("latin-1")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # the reference: not UTF-8
    src = tmp_path / "latin1.txt"
    src.write_bytes(raw)
    assert main(["normalize", "--lang", "fr", str(src), "-o", str(tmp_path / "out.txt")]) == 2
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]  # (after the progress bar)
    assert last.startswith(f"error: {src} line 2: not valid UTF-8") and "Traceback" not in err
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8"))
    assert main(["normalize", "--lang", "fr"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "il a trois chats\n" and captured.err.startswith("error: stdin line 2:")
    src.write_bytes("\ufeffcafé 5\r\n".encode())  # UTF-8 with a byte-order mark and CRLF: fine
    assert main(["normalize", "--lang", "fr", str(src), "-o", str(tmp_path / "out.txt")]) == 0
    assert (tmp_path / "out.txt").read_text(encoding="utf-8") == "café cinq\n"
