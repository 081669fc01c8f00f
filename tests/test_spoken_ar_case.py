"""tandem.spoken, Arabic case: a number after a preposition or in construct with عام/سنة is genitive.

Modern Standard Arabic (standard grammar): the object of a preposition (في، من، إلى، على، عن، منذ، ب، ...) or
of an adverb or noun in construct (بعد، قبل، بين، مع، حوالي، نحو، لمدة، عام 2000) is genitive, the noun after
أنّ/إنّ accusative. Of the number words, only the sound-plural tens and the duals show it in unvowelled
writing: عشرون -> عشرين ... تسعون -> تسعين, اثنان/اثنتان -> اثنين/اثنتين, مئتان -> مئتين, ألفان -> ألفين,
مليونان -> مليونين, and the construct forms before a noun اثنا -> اثني, مئتا -> مئتي, ألفا -> ألفي. Each part
of a compound ("ألفان و عشرون") takes the case of the whole. Everywhere else the number stays nominative.
"""

from __future__ import annotations

import pytest
from num2words import num2words

from tandem.errors import TandemError
from tandem.spoken import to_spoken
from tandem.spoken.tables import _check_case

# the tens, nominative -> genitive/accusative, written out
_TENS = {
    "عشرون": "عشرين",
    "ثلاثون": "ثلاثين",
    "أربعون": "أربعين",
    "خمسون": "خمسين",
    "ستون": "ستين",
    "سبعون": "سبعين",
    "ثمانون": "ثمانين",
    "تسعون": "تسعين",
}


@pytest.mark.parametrize("n", range(20, 100))
def test_tens_after_a_preposition_are_genitive(n: int) -> None:
    nominative = " ".join(num2words(n, lang="ar").replace("-", " ").split())
    want = " ".join(_TENS.get(w, "اثنين" if w == "اثنان" else w) for w in nominative.split())
    assert any(w in _TENS for w in nominative.split())  # (num2words still says the nominative)
    assert to_spoken(f"في {n}", "ar") == f"في {want}"
    assert to_spoken(str(n), "ar") == nominative  # alone: nominative


@pytest.mark.parametrize(
    "text,want",
    [
        # after a preposition, an adverb or a particle of its kind (with و/ف on it, or ب written on the digits)
        ("في 2000", "في ألفين"),
        ("منذ 2011.", "منذ ألفين و أحد عشر"),  # a year: the year reading in the genitive
        ("من 20 إلى 30 شخصا", "من عشرين إلى ثلاثين شخصا"),
        ("بين 10 و 20", "بين عشرة و عشرين"),  # both numbers after بين
        ("إلى 2000000", "إلى مليونين"),
        ("على 12 للحصول", "على اثني عشر للحصول"),
        ("وحوالي 30", "وحوالي ثلاثين"),
        ("بـ 2", "باثنين"),  # the clitic joined to the number word
        ("ب20 دولار", "بعشرين دولار"),
        ("في 20.5", "في عشرين فاصلة خمسة"),  # the whole part only
        ("أن 20 شخصا", "أن عشرين شخصا"),  # accusative after أنّ: the same forms
        # in construct with عام/سنة (the year in the genitive), or after العام that follows a preposition
        ("في عام 2000", "في عام ألفين"),
        ("عام 2000 كان", "عام ألفين كان"),
        ("لعام 2016", "لعام ألفين و ستة عشر"),
        ("سنة 1200", "سنة ألف و مئتين"),
        ("في العام 2000", "في العام ألفين"),
        # after agreement with a counted noun, and in construct before a noun
        ("حوالي 22 ساعة", "حوالي اثنتين و عشرين ساعة"),
        ("في 12 مباراة", "في اثنتي عشرة مباراة"),
        ("في 200 شخص", "في مئتي شخص"),
        ("ومنذ 2 يوم", "ومنذ يومين"),  # the dual noun of 2 after a clitic and its preposition
        # units, currencies and percentages: the number, and a dual unit
        ("في 20 كم", "في عشرين كيلومترا"),
        ("في 2 كم", "في كيلومترين"),
        ("في $2.50", "في دولارين و خمسين سنتا"),
        ("في 20%", "في عشرين بالمئة"),
        ("في 10-20 كم", "في عشرة إلى عشرين كيلومترا"),
        # the second number of a range is said after إلى: genitive whatever the case of the first
        ("10-20", "عشرة إلى عشرين"),
        ("من 1644-1912", "من ألف و ستمائة و أربعة و أربعين إلى ألف و تسعمائة و اثني عشر"),
    ],
)
def test_arabic_oblique_case(text: str, want: str) -> None:
    assert to_spoken(text, "ar") == want


@pytest.mark.parametrize(
    "text,want",
    [
        ("2000", "ألفان"),  # alone
        ("20 شخصا وصلوا", "عشرون شخصا وصلوا"),  # a subject
        ("وصل 20 شخصا", "وصل عشرون شخصا"),  # after a verb (subject or object: not known)
        ("العام 2020 كان", "العام ألفان و عشرون كان"),  # العام: the case of العام, not known here
        ("10 و 20", "عشرة و عشرون"),
        ("كتاب20", "كتاب عشرون"),  # glued to a word that is no clitic
        ("في 012", "في صفر واحد اثنان"),  # digit by digit
        ("10:30", "العاشرة و النصف"),  # times are read on their own path
        ("الساعة 20 دقيقة", "الساعة عشرون دقيقة"),  # minutes, no clock hour
        ("2 ساعة", "ساعتان"),
    ],
)
def test_arabic_nominative_elsewhere(text: str, want: str) -> None:
    assert to_spoken(text, "ar") == want


def test_case_section_without_its_rules_is_a_clear_error() -> None:
    _check_case("xx", None)  # optional
    _check_case("xx", {"oblique": [], "after": []})
    with pytest.raises(TandemError, match=r'xx\.json: case needs "oblique"'):
        _check_case("xx", {"after": ["في"]})
    with pytest.raises(TandemError, match=r'xx\.json: case needs "oblique"'):
        _check_case("xx", ["في"])
    _check_case("xx", {"oblique": [], "after": [], "pronouns": ["ها"]})
    for bad in ("ها", ["ها", "-ه"], [3]):
        with pytest.raises(TandemError, match="case.pronouns must be a list"):
            _check_case("xx", {"oblique": [], "after": [], "pronouns": bad})


@pytest.mark.parametrize(
    "text,want",
    [
        # a number before a separate "و" (or "و" written on the next number) has no noun after it: not the
        # construct form ألفا/مئتا (ألفي/مئتي in the oblique case) but the standalone one
        ("2000 و 2020", "ألفان و ألفان و عشرون"),
        ("200 و 300", "مئتان و ثلاثمائة"),
        ("في 200 و 300", "في مئتين و ثلاثمائة"),
        ("بين 2000 و 2020", "بين ألفين و ألفين و عشرين"),
        ("بين 2000 و2020", "بين ألفين و ألفين و عشرين"),
        ("بين 200 و 300 شخص", "بين مئتين و ثلاثمائة شخص"),  # the noun follows the second number only
        # عامي/سنتي (the dual of عام/سنة) in construct: both numbers genitive
        ("عامي 2000 و 2001", "عامي ألفين و ألفين و واحد"),
        ("سنتي 1990 و 1991", "سنتي ألف و تسعمائة و تسعين و ألف و تسعمائة و واحد و تسعين"),
        # the first number of a range is followed by the range word; the second alone before no word
        ("200-300 شخص", "مئتان إلى ثلاثمائة شخص"),
        ("100-200", "مائة إلى مئتين"),
        ("200 و 300 كم", "مئتان و ثلاثمائة كيلومتر"),
        ("2000-3000%", "ألفان إلى ثلاثة آلاف بالمئة"),
        ("1000-2000", "ألف إلى ألفين"),
    ],
)
def test_arabic_number_before_and_stands_alone(text: str, want: str) -> None:
    assert to_spoken(text, "ar") == want


@pytest.mark.parametrize(
    "text,want",
    [
        # a noun right after the number: the construct form stays
        ("2000 شخص", "ألفا شخص"),
        ("في 200 شخص", "في مئتي شخص"),
        ("2000 وحدة", "ألفا وحدة"),  # a noun that starts with و is no "و"
        ("100-200 شخص", "مائة إلى مئتي شخص"),
        ("2000", "ألفان"),
    ],
)
def test_arabic_construct_form_before_a_noun(text: str, want: str) -> None:
    assert to_spoken(text, "ar") == want


@pytest.mark.parametrize(
    "text,want",
    [
        # a preposition, adverb or particle after the number (a word of case.after, or أو/ثم) is no counted
        # noun: the dual keeps its nun, nominative or, after a preposition, oblique
        ("2,000,000 في المدينة", "مليونان في المدينة"),
        ("يعيش 2,000,000 في المدينة", "يعيش مليونان في المدينة"),
        ("في 2,000,000 في المدينة", "في مليونين في المدينة"),
        ("2 مليون في المدينة", "مليونان في المدينة"),
        ("2000 من الناس", "ألفان من الناس"),
        ("من 2000 من الناس", "من ألفين من الناس"),
        ("200 من الطلاب", "مئتان من الطلاب"),
        ("2,000,000,000 على الأقل", "ملياران على الأقل"),
        ("2000 إلى 3000", "ألفان إلى ثلاثة آلاف"),
        ("2000 أو 3000", "ألفان أو ثلاثة آلاف"),
        ("2000 ثم 3000", "ألفان ثم ثلاثة آلاف"),
        ("2000 مع 3000", "ألفان مع ثلاثة آلاف"),
        ("2000 خلال العام", "ألفان خلال العام"),
        ("2000 منذ البداية", "ألفان منذ البداية"),
        # the preposition with a pronoun attached: a final ى written ي, one nun for two
        ("حضر 2000 منهم الحفل", "حضر ألفان منهم الحفل"),
        ("يوجد 2000 فيها", "يوجد ألفان فيها"),
        ("وصل 2,000,000 إليها", "وصل مليونان إليها"),
        ("حصل 2000 عليها", "حصل ألفان عليها"),
        ("2000 منا", "ألفان منا"),
        ("2000 لهم", "ألفان لهم"),
        ("200 بينهما", "مئتان بينهما"),
        # a counted noun after it keeps the construct form, also one that starts like such a word
        ("2000 شخص", "ألفا شخص"),
        ("2,000,000 فلسطيني", "مليونا فلسطيني"),
        ("2000 منزل", "ألفا منزل"),
        ("في 2000 معلم", "في ألفي معلم"),
        ("2000 منطقة", "ألفا منطقة"),
        ("2000 لهجة", "ألفا لهجة"),
        ("2000 عبري", "ألفا عبري"),  # no first-person ي: nisba adjectives ("عبري", "قبلي") count as nouns
        ("2000 قبلي", "ألفا قبلي"),
    ],
)
def test_arabic_dual_before_a_preposition_keeps_its_nun(text: str, want: str) -> None:
    assert to_spoken(text, "ar") == want
