"""Marathi and Hindi speed units written in Devanagari, the Marathi oblique *एका* before a unit with a case
ending, and the fraction words before a unit word with a case ending. Expected strings written by hand.

- Speed: *किमी/तास* (mr, FLORES-200 devtest "70किमी/तास", "५६-६४ किमी/तास") and *किमी/घंटा* (hi, FLORES
  "70 किमी/घंटा") are the Devanagari spellings of km/h, *कि.मी.* the dotted abbreviation of km: each is said
  with the wording the language's table gives "km/h" (mr *किलोमीटर प्रतितास*, hi *किलोमीटर प्रति घंटा*) or "km".
- Oblique *एका*: Marathi postpositions go on the oblique stem, and a number qualifying the noun takes the
  oblique too where it has one; *एक* (one) has the oblique *एका* (Dhongde & Wali, *Marathi*, 2009, on
  numerals; "एका मिनिटानंतर", FLORES mr devtest line 248), also before the unit written in full with its
  ending (*एका किलोमीटरमध्ये*). The other cardinals (*दोन*, *तीन*, ...) are written unchanged before a
  postposition in standard Marathi and stay as they are.
- Fraction words: a half after a whole number is said *दीड*, *अडीच*, *साडे-* before the unit words of
  `fraction.spoken.half_before` (*२.५ किलोग्रॅम* *अडीच किलोग्रॅम*); a case ending on the word (*-चे*,
  *-ला*, *-मध्ये*) is part of the same noun and keeps that reading.
"""

from __future__ import annotations

import pytest

from tandem.spoken import to_spoken


@pytest.mark.parametrize(
    "text, spoken",
    [
        ("70किमी/तास पर्यंत", "सत्तर किलोमीटर प्रतितास पर्यंत"),
        ("५६-६४ किमी/तास", "छप्पन्न ते चौसष्ट किलोमीटर प्रतितास"),
        ("100 कि.मी./तास", "शंभर किलोमीटर प्रतितास"),
        ("5 कि.मी. अंतर", "पाच किलोमीटर अंतर"),
        ("5 कि.मी.वर", "पाच किलोमीटरवर"),
    ],
)
def test_marathi_speed_and_dotted_km(text: str, spoken: str) -> None:
    assert to_spoken(text, "mr") == spoken


@pytest.mark.parametrize(
    "text, spoken",
    [
        ("70 किमी/घंटा तक", "सत्तर किलोमीटर प्रति घंटा तक"),
        ("100 कि.मी./घंटा", "एक सौ किलोमीटर प्रति घंटा"),
        ("100 कि.मी. प्रति घंटा", "एक सौ किलोमीटर प्रति घंटा"),
        ("0.5 कि.मी. में", "आधे किलोमीटर में"),
    ],
)
def test_hindi_speed_and_dotted_km(text: str, spoken: str) -> None:
    assert to_spoken(text, "hi") == spoken


def test_speed_reads_like_latin_km_h() -> None:
    """The Devanagari spellings say exactly what "km/h" says in each language."""
    assert to_spoken("70 किमी/तास", "mr") == to_spoken("70 km/h", "mr")
    assert to_spoken("70 किमी/घंटा", "hi") == to_spoken("70 km/h", "hi")


@pytest.mark.parametrize(
    "text, spoken",
    [
        ("1 किमीवर", "एका किलोमीटरवर"),
        ("1 kgचे", "एका किलोग्रॅमचे"),
        ("1 किमीपर्यंत", "एका किलोमीटरपर्यंत"),
        ("1 minत", "एका मिनिटात"),
        ("1%ने", "एका टक्क्याने"),
        ("-1 किमीवर", "उणे एका किलोमीटरवर"),
        ("1 किमीत", "एका किलोमीटरात"),
        # the unit written in full with its ending: the same oblique
        ("1 किलोमीटरमध्ये", "एका किलोमीटरमध्ये"),
        ("1 किलोमीटरवर", "एका किलोमीटरवर"),
        ("1 किलोमीटरात", "एका किलोमीटरात"),
        ("1 मिनिटात", "एका मिनिटात"),
        ("1 टक्क्याने", "एका टक्क्याने"),
    ],
)
def test_one_is_oblique_before_a_case_ending(text: str, spoken: str) -> None:
    assert to_spoken(text, "mr") == spoken


@pytest.mark.parametrize(
    "text, spoken",
    [
        ("1 किमी", "एक किलोमीटर"),  # no ending: the direct form
        ("1 किलोमीटर", "एक किलोमीटर"),
        ("1 किलोमीटर अंतरावर", "एक किलोमीटर अंतरावर"),  # the ending on another word
        ("1 मत", "एक मत"),  # a word ending in त that is no unit
        ("2 किलोमीटरमध्ये", "दोन किलोमीटरमध्ये"),
        ("2 किमीवर", "दोन किलोमीटरवर"),  # other cardinals unchanged
        ("21 किमीवर", "एकवीस किलोमीटरवर"),
        ("1-2 किमीवर", "एक ते दोन किलोमीटरवर"),  # a range: the first number is not before the noun
    ],
)
def test_other_numbers_keep_their_form(text: str, spoken: str) -> None:
    assert to_spoken(text, "mr") == spoken


@pytest.mark.parametrize(
    "text, spoken",
    [
        ("2.5 किलोग्रॅमचे", "अडीच किलोग्रॅमचे"),
        ("1.5 किलोला", "दीड किलोला"),
        ("3.5 लिटरमध्ये", "साडेतीन लिटरमध्ये"),
        ("2.5 किलोग्रॅम", "अडीच किलोग्रॅम"),  # without an ending, as before
        ("2.5 किलोमीटरवर", "दोन पूर्णांक पाच किलोमीटरवर"),  # not a unit of `half_before`: as before
    ],
)
def test_fraction_words_before_a_unit_word_with_a_case_ending(text: str, spoken: str) -> None:
    assert to_spoken(text, "mr") == spoken
