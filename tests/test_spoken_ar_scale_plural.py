"""Arabic: a scale word written after a number in digits counted like any noun.

The expected strings are written out by hand. *ألف*, *مليون* and *مليار* are nouns, and after the numbers
3 to 10 a noun is plural (in the genitive: Ryding, A Reference Grammar of Modern Standard Arabic, ch. 15:
*ثلاثة آلاف*, *خمسة ملايين*, *عشرة مليارات*); after 11 to 99 and 100 it is singular (*أحد عشر مليون*,
*مائة ألف*), and a number above 100 counts by its last two digits (*مائة و ثلاثة آلاف*). The digits
"5000000" are already said *خمسة ملايين*; "5 مليون" is said the same. A decimal keeps the word written
("3.7 مليون").
"""

from __future__ import annotations

import pytest

from tandem.spoken import to_spoken


@pytest.mark.parametrize(
    "text,want",
    [
        ("5 مليون", "خمسة ملايين"),
        ("5 ألف", "خمسة آلاف"),
        ("5 مليار", "خمسة مليارات"),
        ("5 مليون كم", "خمسة ملايين كيلومتر"),
        ("5 ألف كم", "خمسة آلاف كيلومتر"),
        ("5 مليون دولار", "خمسة ملايين دولار"),
        ("$5 مليون", "خمسة ملايين دولار"),
        ("10 مليار دولار", "عشرة مليارات دولار"),
        ("5 مليون شخص", "خمسة ملايين شخص"),
        ("في 10 مليون دولار", "في عشرة ملايين دولار"),
        ("3-5 مليون", "ثلاثة إلى خمسة ملايين"),
        ("103 ألف", "مائة و ثلاثة آلاف"),
        ("11 آلاف", "أحد عشر ألف"),  # a plural written after 11: the singular
    ],
)
def test_scale_word_plural_after_three_to_ten(text: str, want: str) -> None:
    assert to_spoken(text, "ar") == want


@pytest.mark.parametrize(
    "text,want",
    [
        ("5000000 كم", "خمسة ملايين كيلومتر"),  # the digits, as before
        ("11 مليون", "أحد عشر مليون"),
        ("45 مليون دولار", "خمسة و أربعون مليون دولار"),
        ("100 ألف", "مائة ألف"),
        ("3.7 مليون نسمة", "ثلاثة فاصلة سبعة مليون نسمة"),
        ("5 ملايين", "خمسة ملايين"),
    ],
)
def test_scale_word_singular_elsewhere(text: str, want: str) -> None:
    assert to_spoken(text, "ar") == want


# After 1 a counted noun is said alone (*مليون*, not *واحد مليون*) and after 2 in the dual (Ryding ch. 15):
# nominative *مليونان*, after a preposition or a governing verb *مليونين*, before the noun it counts the
# construct *مليونا دولار* / *مليوني دولار*. The grouped digits "2,000,000" are already said so; "2 مليون" is
# said the same in each context.
@pytest.mark.parametrize(
    "text,want",
    [
        ("1 مليون", "مليون"),
        ("1 ألف", "ألف"),
        ("1 مليار", "مليار"),
        ("2 مليون", "مليونان"),
        ("2 ألف", "ألفان"),
        ("2 مليار", "ملياران"),
        ("2 آلاف", "ألفان"),  # the plural written after 2: the dual
        ("في 2 مليون", "في مليونين"),
        ("بلغ 2 مليار", "بلغ مليارين"),
        ("2 مليون شخص", "مليونا شخص"),
        ("في 2 ألف شخص", "في ألفي شخص"),
        ("2 مليار دولار", "مليارا دولار"),
        ("$2 مليون", "مليونا دولار"),
        ("$1 مليار", "مليار دولار"),
        ("1 مليون كم", "مليون كيلومتر"),
        ("حوالي 1 مليون نسمة", "حوالي مليون نسمة"),
        ("2 مليون و 500 ألف", "مليونان و خمسمائة ألف"),
        ("عام 2 ألف", "عام ألفين"),
        ("ب2 مليون", "بمليونين"),
    ],
)
def test_scale_word_alone_after_one_and_two(text: str, want: str) -> None:
    assert to_spoken(text, "ar") == want


@pytest.mark.parametrize(
    "number,digits",
    [(n, f"{n * v:,}") for n in (1, 2) for v in (1000, 10**6, 10**9)],
)
@pytest.mark.parametrize("context", ["{}", "في {}", "{} شخص", "في {} دولار", "${}", "{} كم"])
def test_scale_word_after_one_and_two_as_digits(number: int, digits: str, context: str) -> None:
    scale = {4: "ألف", 7: "مليون", 10: "مليار"}[len(digits.replace(",", ""))]
    written = to_spoken(context.format(f"{number} {scale}"), "ar")
    assert written == to_spoken(context.format(digits), "ar")


@pytest.mark.parametrize(
    "text,want",
    [
        # the second number of a pair: the scale counts both, the number is kept
        ("1-2 مليون", "واحد إلى اثنين مليون"),
        ("1 أو 2 مليون", "واحد أو اثنان مليون"),
        ("بين 1 و 2 مليون", "بين واحد و اثنين مليون"),
        ("1.2 مليون", "واحد فاصلة اثنان مليون"),
        ("12 مليون", "اثنا عشر مليون"),
    ],
)
def test_scale_word_after_one_and_two_kept(text: str, want: str) -> None:
    assert to_spoken(text, "ar") == want


# A comma with one or two digits after it, right before a scale word, is a decimal comma ("1,5 مليون" one and
# a half million, as "1.5 مليون" and "1٫5 مليون" are read): the number is one decimal and the scale word stays
# as written, as after "3.7". Three digits after the comma are a group ("1,500 مليون"), a comma before a space
# separates a list ("1, 5 مليون").
@pytest.mark.parametrize(
    "text,want",
    [
        ("1,5 مليون", "واحد فاصلة خمسة مليون"),
        ("2,5 مليون دولار", "اثنان فاصلة خمسة مليون دولار"),
        ("بلغ 1,5 مليار", "بلغ واحد فاصلة خمسة مليار"),
        ("25,3 ألف", "خمسة و عشرون فاصلة ثلاثة ألف"),
        ("12,75 مليار", "اثنا عشر فاصلة سبعة خمسة مليار"),
        ("$1,5 مليار", "واحد فاصلة خمسة مليار دولار"),
        ("1,2 ألف", "واحد فاصلة اثنان ألف"),
        ("5,3 ملايين", "خمسة فاصلة ثلاثة ملايين"),
        # kept: a group of three digits, a list, a comma before no scale word
        ("1,500 مليون", "ألف و خمسمائة مليون"),
        ("1, 5 مليون", "واحد خمسة ملايين"),
        ("1,5 كم", "واحد خمسة كيلومترات"),
    ],
)
def test_decimal_comma_before_scale_word(text: str, want: str) -> None:
    assert to_spoken(text, "ar") == want


@pytest.mark.parametrize("number", ["1,5", "2,5", "25,3", "3,75", "10,1"])
@pytest.mark.parametrize(
    "context", ["{} مليون", "{} ألف", "بلغ {} مليار", "{} مليون دولار", "${} مليار", "في {} ألف كم"]
)
def test_decimal_comma_before_scale_word_as_point(number: str, context: str) -> None:
    point = number.replace(",", ".")
    assert to_spoken(context.format(number), "ar") == to_spoken(context.format(point), "ar")
