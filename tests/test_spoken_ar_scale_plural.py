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
