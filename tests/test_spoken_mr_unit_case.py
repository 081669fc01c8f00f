"""Marathi case endings written on a unit abbreviation or "%" after a number: the unit said in full in the
form the ending needs, the ending kept on it.

Marathi postpositions are suffixes on the oblique stem of a noun (Dhongde & Wali, *Marathi*, 2009, on case:
*घर* -> *घराला*, *घरात*; plural *घरां-* -> *घरांना*, *घरांनी*). The expected strings are written out by
hand from that grammar:

- the metric and other borrowed unit nouns ending in a consonant (*किलोमीटर*, *मीटर*, *किलोग्रॅम*,
  *सेल्सिअस*) take the ending on the unchanged word, as written in full ("५ किलोमीटरवर", "१०० किलोमीटरच्या
  वेगाने"); the locative *-त* needs a vowel before it: *-ात* after a consonant (*किलोमीटरात*, as
  *घरात*), *-त* after a vowel (*जीबीत*).
- *टक्का* (percent) has the plural oblique *टक्क्यां-* and the singular oblique *टक्क्या-*; *मिनिट* has
  *मिनिटां-*, *मिनिटा-*; *मैल* has *मैलां-* (FLORES devtest: "मैलांवर"). After a plural oblique the
  instrumental is *-नी* and the dative *-ना* (*टक्क्यांनी*, *टक्क्यांना*), the singular keeps *-ने*.
- 0.5 alone before a postposition is the oblique *अर्ध्या* (as "0.5 किलोमीटरवर" already was).
"""

from __future__ import annotations

import pytest

from tandem.spoken import to_spoken


@pytest.mark.parametrize(
    "text, spoken",
    [
        ("5 किमीवर", "पाच किलोमीटरवर"),
        ("5 kmच्या", "पाच किलोमीटरच्या"),
        ("5 किमीपर्यंत", "पाच किलोमीटरपर्यंत"),
        ("5 किमीपासून", "पाच किलोमीटरपासून"),
        ("5 किमीमध्ये", "पाच किलोमीटरमध्ये"),
        ("10 किमीला", "दहा किलोमीटरला"),
        ("10 किमीने", "दहा किलोमीटरने"),
        ("5-10 किमीवर", "पाच ते दहा किलोमीटरवर"),
        ("0.5 किमीवर", "अर्ध्या किलोमीटरवर"),
        ("20 mचे", "वीस मीटरचे"),
        ("5 km²वर", "पाच चौरस किलोमीटरवर"),
        ("2 kgची", "दोन किलोग्रॅमची"),
        ("30 °Cला", "तीस अंश सेल्सिअसला"),
        ("10 GBचे", "दहा जीबीचे"),
        # the locative -त: *-ात* after a consonant (*घरात*), as written on a vowel
        ("5 किमीत", "पाच किलोमीटरात"),
        ("5 kgत", "पाच किलोग्रॅमात"),
        ("10 GBत", "दहा जीबीत"),
    ],
)
def test_unchanged_unit_takes_the_ending(text: str, spoken: str) -> None:
    assert to_spoken(text, "mr") == spoken


@pytest.mark.parametrize(
    "text, spoken",
    [
        ("50%ने", "पन्नास टक्क्यांनी"),
        ("50%नी", "पन्नास टक्क्यांनी"),
        ("50%वर", "पन्नास टक्क्यांवर"),
        ("50%ला", "पन्नास टक्क्यांना"),
        ("50%च्या", "पन्नास टक्क्यांच्या"),
        ("1%ने", "एका टक्क्याने"),  # *एका*: see test_spoken_mr_oblique_speed.py
        ("10-20%ने", "दहा ते वीस टक्क्यांनी"),
        ("-5%ने", "उणे पाच टक्क्यांनी"),
        ("10 minने", "दहा मिनिटांनी"),
        ("1 minत", "एका मिनिटात"),
        ("5 miवर", "पाच मैलांवर"),
    ],
)
def test_oblique_unit_takes_the_ending(text: str, spoken: str) -> None:
    assert to_spoken(text, "mr") == spoken


@pytest.mark.parametrize(
    "text, spoken",
    [
        ("2 किग्रॅचे", "दोन किलोग्रॅमचे"),
        ("35 मिमी आहे", "पस्तीस मिलिमीटर आहे"),
        ("5 से.मी.चा", "पाच सेंटीमीटरचा"),
        ("30°से. पेक्षा", "तीस अंश सेल्सिअस पेक्षा"),
    ],
)
def test_marathi_unit_abbreviations(text: str, spoken: str) -> None:
    """Marathi abbreviations of units: *किग्रॅ* (kilogram), *मिमी* (millimetre, FLORES "35 मिमी"), *से.मी.*
    (centimetre), *°से* (degrees Celsius, FLORES "+30°से.")."""
    assert to_spoken(text, "mr") == spoken


@pytest.mark.parametrize(
    "text, spoken",
    [
        ("5 किमी", "पाच किलोमीटर"),  # no ending: as before
        ("50% वाढ", "पन्नास टक्के वाढ"),
        # one-letter g and l are not units before an ending (Wi-Fi's 802.11g, 4g): as Tamil and Telugu
        ("802.11gचे", "आठशे दोन पूर्णांक एक एक gचे"),
        ("2 lला", "दोन lला"),
    ],
)
def test_without_a_case_ending(text: str, spoken: str) -> None:
    assert to_spoken(text, "mr") == spoken


@pytest.mark.parametrize(
    "text, spoken",
    [("5 किमी में", "पाँच किलोमीटर में"), ("0.5 किमी में", "आधे किलोमीटर में"), ("50% से", "पचास प्रतिशत से")],
)
def test_hindi_postpositions_written_apart(text: str, spoken: str) -> None:
    """Hindi writes its postpositions apart (*पाँच किलोमीटर में*): the unit rule reads them as before."""
    assert to_spoken(text, "hi") == spoken
