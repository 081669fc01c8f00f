"""hi/mr/ta/te: a rupee abbreviation ending in a dot written before the amount ("ரூ.5 லட்சம்", "रु.5").

The dot is the abbreviation's, not a decimal point: the amount is said as rupees, in the very words the
module already uses for the same amount written with "₹" (tests/test_spoken.py
`test_scale_word_after_a_currency_amount_is_said_before_the_currency`: ta "₹5 லட்சம்" *ஐந்து லட்சம் ரூபாய்*,
hi "₹5 लाख" *पाँच लाख रुपये*; tests/test_spoken_in_fractions.py: ta "₹1.5 கோடி" *ஒன்றரை கோடி ரூபாய்*). Each
case below is checked against the "₹" form as well as against the expected string written out by hand.
Before, ".5" after the vowel sign of "ரூ"/"रु" was read as 0.5 (ta "ரூ.5 லட்சம்" *ரூ அரை லட்சம்*, hi "रु.5"
*शून्य दशमलव पाँच रुपये*) and "ரூ", "రూ" and "रू" were not known as the rupee.
"""

from __future__ import annotations

import pytest

from tandem.spoken import to_spoken


@pytest.mark.parametrize(
    "lang,text,rupee_sign,want",
    [
        ("ta", "ரூ.5 லட்சம்", "₹5 லட்சம்", "ஐந்து லட்சம் ரூபாய்"),  # was "ரூ அரை லட்சம்"
        ("ta", "ரூ. 5 லட்சம்", "₹5 லட்சம்", "ஐந்து லட்சம் ரூபாய்"),  # was "ரூ ஐந்து லட்சம்"
        ("ta", "ரூ.500", "₹500", "ஐநூறு ரூபாய்"),
        ("ta", "ரூ 500", "₹500", "ஐநூறு ரூபாய்"),
        ("ta", "ரூ.1.5 கோடி", "₹1.5 கோடி", "ஒன்றரை கோடி ரூபாய்"),
        ("ta", "ரூ.5.25 லட்சம்", "₹5.25 லட்சம்", "ஐந்தே கால் லட்சம் ரூபாய்"),
        ("ta", "ரூ.5,00,000", "₹5,00,000", "ஐந்து லட்சம் ரூபாய்"),
        ("hi", "रु.5", "₹5", "पाँच रुपये"),  # was "शून्य दशमलव पाँच रुपये"
        ("hi", "रु.5.25 लाख", "₹5.25 लाख", "सवा पाँच लाख रुपये"),
        ("hi", "रू.500", "₹500", "पाँच सौ रुपये"),
        ("hi", "रू. 5 लाख", "₹5 लाख", "पाँच लाख रुपये"),
        ("hi", "रू.5 करोड़", "₹5 करोड़", "पाँच करोड़ रुपये"),  # was "रू आधा करोड़"
        ("mr", "रु.५ लाख", "₹5 लाख", "पाच लाख रुपये"),  # was "अर्धा लाख रुपये"
        ("mr", "रू.500", "₹500", "पाचशे रुपये"),
        ("te", "రూ.5 లక్షలు", "₹5 లక్షలు", "ఐదు లక్షల రూపాయలు"),  # was "రూ అర లక్షలు"
        ("te", "రూ. 500", "₹500", "ఐదు వందల రూపాయలు"),
        ("te", "రూ.5", "₹5", "ఐదు రూపాయలు"),
    ],
)
def test_rupee_abbreviation_with_a_dot_is_the_currency_not_a_decimal_point(
    lang: str, text: str, rupee_sign: str, want: str
) -> None:
    assert to_spoken(rupee_sign, lang) == want
    assert to_spoken(text, lang) == want


@pytest.mark.parametrize(
    "lang,text,want",
    [
        # any abbreviation's dot after a vowel sign is no decimal point (was "எண் பூஜ்ஜியம் புள்ளி ஐந்து")
        ("ta", "எண்.5", "எண் ஐந்து"),
        ("te", "నం.5", "నం ఐదు"),
        ("hi", "सं.5", "सं पाँच"),
        # guards: genuine decimals stay decimals
        ("hi", "0.5", "शून्य दशमलव पाँच"),
        ("hi", "5.25 लाख", "सवा पाँच लाख"),
        ("mr", "5.25 लाख", "सव्वापाच लाख"),
        ("ta", "0.5 லட்சம்", "அரை லட்சம்"),
        ("hi", "₹0.5 लाख", "आधा लाख रुपये"),
        ("hi", "कीमत .5 लाख", "कीमत आधा लाख"),
        ("en", ".5", "zero point five"),
    ],
)
def test_dot_after_a_vowel_sign_is_no_bare_fraction(lang: str, text: str, want: str) -> None:
    assert to_spoken(text, lang) == want
