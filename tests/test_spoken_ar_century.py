"""tandem.spoken, Arabic: centuries as ordinals, and "ص"/"م" as am/pm after a clock time.

The expected strings follow Modern Standard Arabic grammar (not checked by a native speaker):
- a century is named by an ordinal adjective after القرن ("القرن التاسع عشر", "القرن الحادي و العشرون"),
  which agrees with it: masculine, definite, and in its case; القرن is genitive after a preposition, a
  clitic preposition (للقرن، بالقرن) or a noun whose second term it is (بداية، منتصف، أواخر ...), and the
  ordinal of the tens then ends in -ين like a sound masculine plural ("في القرن العشرين"); elsewhere it is
  left nominative (-ون), as after a verb whose subject it is ("شهد القرن العشرون");
- "ص" and "م" after a clock time h:mm are the usual Arabic abbreviations of صباحا and مساء (they are the
  am/pm designators of the Arabic locales); after a plain number "م" stays the metre or ميلادي.
"""

from __future__ import annotations

import pytest

from tandem.spoken import to_spoken


@pytest.mark.parametrize(
    "text,want",
    [
        ("القرن 19", "القرن التاسع عشر"),
        ("في القرن 19", "في القرن التاسع عشر"),
        ("القرن الـ21", "القرن الحادي و العشرون"),
        ("في القرن الـ21", "في القرن الحادي و العشرين"),
        ("للقرن 21", "للقرن الحادي و العشرين"),
        ("بداية القرن 20", "بداية القرن العشرين"),
        ("شهد القرن 20 حربين", "شهد القرن العشرون حربين"),
        ("القرن 5 ق.م", "القرن الخامس قبل الميلاد"),
        ("في القرن 1 م", "في القرن الأول ميلادي"),
    ],
)
def test_century_ordinal(text, want):
    assert to_spoken(text, "ar") == want


@pytest.mark.parametrize(
    "text,want",
    [
        ("القرن 45", "القرن خمسة و أربعون"),  # no ordinal in the table: a cardinal as before
        ("القرن 19-20", "القرن تسعة عشر إلى عشرين"),  # a range is left to the range rule
    ],
)
def test_century_left_alone(text, want):
    assert to_spoken(text, "ar") == want


@pytest.mark.parametrize(
    "text,want",
    [
        ("في الساعة 5:00 م", "في الساعة الخامسة مساء"),
        ("الساعة 5:30 ص", "الساعة الخامسة و النصف صباحا"),
        ("الساعة 5:00 مساءً", "الساعة الخامسة مساء"),
        # after a plain number "م" is not pm
        ("طوله 5 م", "طوله خمسة أمتار"),
        ("عام 1990 م", "عام ألف و تسعمائة و تسعين ميلادي"),
    ],
)
def test_clock_ampm_letters(text, want):
    assert to_spoken(text, "ar") == want
