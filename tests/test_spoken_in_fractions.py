"""hi/mr/ta/te: a half, a quarter and three quarters said with words of their own (`fraction.spoken`).

Spoken Hindi says 2.5 lakh as "ढाई लाख", not "two point five lakh"; Marathi, Tamil and Telugu have the
same kind of words. The expected strings are the common spoken forms, written out here by hand.
"""

from __future__ import annotations

import pytest

from tandem.spoken import to_spoken
from tandem.spoken.rules import rules_for


@pytest.mark.parametrize(
    "lang,text,want",
    [
        # before a scale word: .5, .25 and .75
        ("hi", "2.5 लाख", "ढाई लाख"),
        ("hi", "1.5 हज़ार", "डेढ़ हज़ार"),
        ("hi", "3.5 करोड़", "साढ़े तीन करोड़"),
        ("hi", "12.5 लाख", "साढ़े बारह लाख"),
        ("hi", "1.25 लाख", "सवा लाख"),
        ("hi", "2.25 करोड़", "सवा दो करोड़"),
        ("hi", "1.75 करोड़", "पौने दो करोड़"),
        ("hi", "2.75 लाख", "पौने तीन लाख"),
        ("hi", "2.50 लाख", "ढाई लाख"),  # trailing zero
        ("hi", "1.5-2.5 लाख", "डेढ़ से ढाई लाख"),
        ("mr", "2.5 लाख", "अडीच लाख"),
        ("mr", "3.5 लाख", "साडेतीन लाख"),
        ("mr", "1.25 कोटी", "सव्वा कोटी"),
        ("mr", "3.25 लाखांचा", "सव्वातीन लाखांचा"),
        ("mr", "1.75 लाख", "पावणेदोन लाख"),
        ("ta", "2.5 லட்சம்", "இரண்டரை லட்சம்"),
        ("ta", "1.25 லட்சம்", "ஒன்றே கால் லட்சம்"),
        ("ta", "2.75 கோடி", "இரண்டே முக்கால் கோடி"),
        ("te", "1.5 లక్షలు", "ఒకటిన్నర లక్షలు"),
        ("te", "3.5 కోట్ల", "మూడున్నర కోట్ల"),
        ("te", "22.5 లక్షలు", "ఇరవై రెండున్నర లక్షలు"),
        # a currency amount with a scale word, the scale and currency after the number
        ("hi", "₹2.5 लाख", "ढाई लाख रुपये"),
        ("hi", "$2.5 मिलियन", "ढाई मिलियन डॉलर"),
        ("hi", "₹1.5-2.5 लाख", "डेढ़ से ढाई लाख रुपये"),  # was "एक दशमलव पाँच रुपये से ..."
        ("mr", "₹1.5 कोटी", "दीड कोटी रुपये"),
        ("ta", "₹1.5 கோடி", "ஒன்றரை கோடி ரூபாய்"),
        ("te", "₹2.5 కోట్లు", "రెండున్నర కోట్ల రూపాయలు"),
        # a half before a time word or unit, or kilos and litres
        ("hi", "2.5 घंटे", "ढाई घंटे"),
        ("hi", "1.5 साल", "डेढ़ साल"),
        ("hi", "2-2.5 घंटे", "दो से ढाई घंटे"),
        ("hi", "2.5 min", "ढाई मिनट"),
        ("hi", "2.5 kg", "ढाई किलोग्राम"),
        ("hi", "1.5-2 kg", "डेढ़ से दो किलोग्राम"),
        ("mr", "2.5 तास", "अडीच तास"),
        ("ta", "11.5 ஆண்டுகள்", "பதினொன்றரை ஆண்டுகள்"),
        ("ta", "2.5 மணி நேரம்", "இரண்டரை மணி நேரம்"),
        ("ta", "2.5 kg", "இரண்டரை கிலோகிராம்"),
        ("te", "2.5 గంటలు", "రెండున్నర గంటలు"),
        ("te", "2.5 kg", "రెండున్నర కిలోగ్రాములు"),
        # mixed numbers (FLORES-200 devtest line 405: "24½ इंच बटा 29¾")
        ("hi", "24½ इंच", "साढ़े चौबीस इंच"),
        ("hi", "29¾", "पौने तीस"),
        ("hi", "3 1/4", "सवा तीन"),
        ("mr", "२९ ३/४ इंच ते २४ १/२ इंच", "पावणेतीस इंच ते साडेचोवीस इंच"),
        ("ta", "29 3/4 அங்குலங்களுக்கு", "இருபத்து ஒன்பதே முக்கால் அங்குலங்களுக்கு"),
        ("ta", "24 1/2 அங்குலங்கள்", "இருபத்து நான்கரை அங்குலங்கள்"),
        ("te", "24½ inches", "ఇరవై నాలుగున్నర inches"),
    ],
)
def test_half_and_quarters_are_said_with_their_own_words(lang: str, text: str, want: str) -> None:
    assert to_spoken(text, lang) == want


@pytest.mark.parametrize(
    "lang,text,want",
    [
        # plain decimals elsewhere: a magnitude, percentages, other units, before no listed word
        ("hi", "भूकंप 6.5 की", "भूकंप छह दशमलव पाँच की"),
        ("hi", "3.5%", "तीन दशमलव पाँच प्रतिशत"),
        ("hi", "2.5 km", "दो दशमलव पाँच किलोमीटर"),
        ("hi", "2.5 लोग", "दो दशमलव पाँच लोग"),
        # quarters only before a scale word; no form for 0.5 or from 100 on ("साढ़े तीन सौ" is 350)
        ("hi", "1.25 घंटे", "एक दशमलव दो पाँच घंटे"),
        ("hi", "0.5 लाख", "शून्य दशमलव पाँच लाख"),
        ("hi", "150.5 लाख", "एक सौ पचास दशमलव पाँच लाख"),
        ("hi", "2.05 लाख", "दो दशमलव शून्य पाँच लाख"),
        ("hi", "-2.5 लाख", "माइनस दो दशमलव पाँच लाख"),
        # a range keeps its decimals where one of them has no form
        ("hi", "1.5-1.8 लाख", "एक दशमलव पाँच से एक दशमलव आठ लाख"),
        ("hi", "1.25-1.5 घंटे", "एक दशमलव दो पाँच से एक दशमलव पाँच घंटे"),
        ("hi", "1.5-1.8 kg", "एक दशमलव पाँच से एक दशमलव आठ किलोग्राम"),
        # times and other fractions keep their readings
        ("hi", "3:30", "तीन बजकर तीस मिनट"),
        ("hi", "3 1/3", "तीन सही एक बटा तीन"),
        ("hi", "1/2", "एक बटा दो"),
        ("mr", "३.५%", "तीन पूर्णांक पाच टक्के"),
        ("ta", "2.5 km", "இரண்டு புள்ளி ஐந்து கிலோமீட்டர்"),
        # te: no quarters; no half of a number ending in "ై" (ఇరవై) or of 1.5 km
        ("te", "1.25 లక్షలు", "ఒకటి పాయింట్ రెండు ఐదు లక్షలు"),
        ("te", "20.5 లక్షలు", "ఇరవై పాయింట్ ఐదు లక్షలు"),
        ("te", "1.5 కిలోమీటర్లు", "ఒకటి పాయింట్ ఐదు కిలోమీటర్లు"),
        ("te", "29¾", "ఇరవై తొమ్మిది మూడు బై నాలుగు"),
        # other languages
        ("en", "2.5 million", "two point five million"),
        ("en", "3½ hours", "three and a half hours"),
    ],
)
def test_other_decimals_and_fractions_stay(lang: str, text: str, want: str) -> None:
    assert to_spoken(text, lang) == want


@pytest.mark.parametrize(
    "lang,text,want",
    [
        # the first amount of a range before a scale word shares the scale and the currency (it was said
        # with the currency alone: "one point five dollars to two point five million dollars")
        ("en", "$1.5-2.5 million", "one point five to two point five million dollars"),
        ("hi", "₹1.5-1.8 लाख", "एक दशमलव पाँच से एक दशमलव आठ लाख रुपये"),
    ],
)
def test_first_decimal_amount_of_a_range_shares_the_scale(lang: str, text: str, want: str) -> None:
    assert to_spoken(text, lang) == want


@pytest.mark.parametrize("lang", ["hi", "mr", "ta", "te"])
def test_every_half_from_1_to_99_before_a_scale_has_its_form(lang: str) -> None:
    """n.5 before a scale word is said without the decimal word for every n from 1 to 99, but in Telugu
    for 20, 30, ..., 90 (ఇరవై, ముప్పై, ...: no "న్నర" form is given for a word ending in "ై")."""
    r = rules_for(lang)
    scale = next(iter(r.money_scales))
    decimal = [n for n in range(1, 100) if r.v.point in to_spoken(f"{n}.5 {scale}", lang)]
    assert decimal == (list(range(20, 100, 10)) if lang == "te" else [])
