"""Tamil and Telugu case suffixes written on a unit abbreviation or "%" after a number, and the native
abbreviations of units. Expected strings written out by hand from the grammar cited per test.

- Tamil (Lehmann, *A Grammar of Modern Tamil*, 1993, on case and sandhi): a case suffix joins the noun;
  a consonant-final noun takes a vowel-initial suffix on its final consonant (*கிலோமீட்டர்* + *-இல்* ->
  *கிலோமீட்டரில்*, + *-ஐ* -> *கிலோமீட்டரை*) and the dative as *-உக்கு* (*கிலோமீட்டருக்கு*); a noun in
  *-ம்* takes the oblique *-த்து-* (*சதவீதம்* -> *சதவீதத்துக்கு*, *சதவீதத்தில்*, *நிமிடத்தில்*); a final
  *-இ* takes the glide *ய்* (*அடியில்*), a final enunciative *-உ* drops before a vowel (*பவுண்டில்*).
  Writers put the locative after a vowel-final abbreviation as *-யில்* (*கிமீயில்*): the same suffix.
- Telugu (Krishnamurti & Gwynn, *A Grammar of Modern Telugu*, 1985, on nouns): a plural in *-లు* has the
  oblique *-ల* to which *-లో*, *-కు*, *-తో*, *-ను* attach (*కిలోమీటర్లలో*, *కిలోమీటర్లకు*); *-అం* nouns
  take the oblique *-ాని-* before the dative and accusative (*శాతానికి*, *శాతాన్ని*) but *-లో*, *-తో* on the
  nominative (*శాతంలో*); the colloquial dative *-కి* is the same case.
"""

from __future__ import annotations

import pytest

from tandem.spoken import to_spoken


@pytest.mark.parametrize(
    "text, spoken",
    [
        ("5 கி.மீ.க்கு", "ஐந்து கிலோமீட்டருக்கு"),
        ("5 kmஇல்", "ஐந்து கிலோமீட்டரில்"),
        ("5 கிமீயில்", "ஐந்து கிலோமீட்டரில்"),
        ("5 kmஐ", "ஐந்து கிலோமீட்டரை"),
        ("2 kgக்கு", "இரண்டு கிலோகிராமுக்கு"),
        ("30 °Cஇல்", "முப்பது டிகிரி செல்சியஸில்"),
        ("50%க்கும்", "ஐம்பது சதவீதத்துக்கும்"),
        ("50%இல்", "ஐம்பது சதவீதத்தில்"),
        ("1%க்கு", "ஒரு சதவீதத்துக்கு"),
        ("10 minஇல்", "பத்து நிமிடத்தில்"),
        ("5 ftஇல்", "ஐந்து அடியில்"),
        ("5 lbஇல்", "ஐந்து பவுண்டில்"),
        ("0.5 kmஇல்", "அரை கிலோமீட்டரில்"),
        ("5-10 kmஇல்", "ஐந்து முதல் பத்து கிலோமீட்டரில்"),
    ],
)
def test_tamil_unit_takes_the_case_suffix(text: str, spoken: str) -> None:
    assert to_spoken(text, "ta") == spoken


@pytest.mark.parametrize(
    "text, spoken",
    [
        ("5 కి.మీ.లో", "ఐదు కిలోమీటర్లలో"),
        ("5 kmకు", "ఐదు కిలోమీటర్లకు"),
        ("5 kmకి", "ఐదు కిలోమీటర్లకు"),
        ("5-10 kmలో", "ఐదు నుండి పది కిలోమీటర్లలో"),
        ("10 minలో", "పది నిమిషాలలో"),
        ("50%కి", "యాభై శాతానికి"),
        ("50%లో", "యాభై శాతంలో"),
        ("50%ను", "యాభై శాతాన్ని"),
    ],
)
def test_telugu_unit_takes_the_case_suffix(text: str, spoken: str) -> None:
    assert to_spoken(text, "te") == spoken


@pytest.mark.parametrize(
    "text, lang, spoken",
    [
        ("70 கி.மீ தடிமன்", "ta", "எழுபது கிலோமீட்டர் தடிமன்"),  # FLORES ta devtest 652
        ("6,387 கிமி", "ta", "ஆறாயிரத்து முந்நூற்று எண்பத்து ஏழு கிலோமீட்டர்"),  # FLORES ta 629
        ("100மீ, 200மீ", "ta", "நூறு மீட்டர் இருநூறு மீட்டர்"),  # FLORES ta 327
        ("35 மிமீ", "ta", "முப்பத்து ஐந்து மில்லிமீட்டர்"),  # FLORES ta 431
        ("80 కి.మీ (50 మైళ్ళు)", "te", "ఎనభై కిలోమీటర్లు యాభై మైళ్ళు"),  # FLORES te 733
        ("6,387 కిమీ", "te", "ఆరు వేల మూడు వందల ఎనభై ఏడు కిలోమీటర్లు"),  # FLORES te 629
        ("0.5 से.मी.वर", "mr", "अर्ध्या सेंटीमीटरवर"),  # से.मी. is cm: its half words apply
    ],
)
def test_native_unit_abbreviations(text: str, lang: str, spoken: str) -> None:
    """*கி.மீ*, *கிமி* (km), *மீ* (m), *மிமீ* (mm); te *కి.మీ*, *కిమీ* (km); mr *से.मी.* (cm), read as the
    unit they abbreviate, as in the FLORES-200 devtest lines cited."""
    assert to_spoken(text, lang) == spoken


@pytest.mark.parametrize(
    "text, lang, spoken",
    [
        ("5 மீண்டும்", "ta", "ஐந்து மீண்டும்"),  # a word starting like மீ is no unit
        ("5 kmஆக", "ta", "ஐந்து kmஆக"),  # -ஆக (on the nominative) not handled: as before
        ("802.11gతో", "te", "ఎనిమిది వందల రెండు పాయింట్ ఒకటి ఒకటి gతో"),  # g with a suffix: no unit
    ],
)
def test_left_as_before(text: str, lang: str, spoken: str) -> None:
    assert to_spoken(text, lang) == spoken
