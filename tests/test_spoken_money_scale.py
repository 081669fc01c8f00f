"""A scale word after an amount of money with a currency sign: said between the number and the currency.

The same amount written with the scale word and then the currency word is already read in this order
(es "5 millones de euros" *cinco millones de euros*, it "3 miliardi di euro", pt "5 milhões de reais"); a
currency sign before the number was said before the scale (pt "R$ 1,5 milhão" *um vírgula cinco reais
milhão*, en "₹5 lakh" *five rupees lakh*), and one after a scale word was said without the preposition
(fr "5 milliards €" *cinq milliards euros*, "3 M€" *trois m euros*). The expected strings are written out by
hand from each language's grammar:

- es/pt: a noun of a large number takes "de" before the noun it counts (RAE, Nueva gramática §21.2: *un
  millón de euros*; pt *um milhão de reais*); "mil" is a numeral, not a noun: no "de", and the number is one
  numeral agreeing with the currency (*cinco mil reais*, *doscientas mil libras*, like "£200.000").
- it: *milione*/*miliardo* are nouns and take "di" (*tre miliardi di euro*); "mila" is part of the numeral
  (*cinquemila euro*, as 5000 is written).
- fr: *million*/*milliard* are nouns and take "de", elided before a vowel (*trois millions d'euros*, *cinq
  millions de dollars*); "mille" is a numeral (*cinq mille euros*); the noun is singular below 2 (*1,5
  million*), so the abbreviations "M", "Md" take the form of the integer part, as pt "mi", "bi" (*um vírgula
  cinco milhão*); the scale words written in full are kept as written.
- de: *Million*/*Milliarde* are feminine nouns followed by the currency without a preposition (*eine
  Million Euro*, *zwei komma fünf Millionen Euro*), as "1,5 Mio. €" already was.
- en: a scale word is said before the currency with no preposition, as "$5 million" already was; Indian
  English *lakh* and *crore* are said the same way, invariable (*five lakh rupees*).
"""

from __future__ import annotations

import pytest

from tandem.spoken import to_spoken


@pytest.mark.parametrize(
    "lang,text,want",
    [
        # pt: "de" after milhão/milhões, none after "mil"; the scale word as written
        ("pt", "R$ 1,5 milhão", "um vírgula cinco milhão de reais"),
        ("pt", "R$ 2 milhões", "dois milhões de reais"),
        ("pt", "US$ 1 milhão", "um milhão de dólares"),
        ("pt", "R$5 mil", "cinco mil reais"),
        ("pt", "£ 200 mil", "duzentas mil libras"),
        ("pt", "R$ 2,5 bi", "dois vírgula cinco bilhões de reais"),
        ("pt", "R$ 1,5 mi", "um vírgula cinco milhão de reais"),
        # es
        ("es", "€2,5 millones", "dos coma cinco millones de euros"),
        ("es", "US$ 3 millones", "tres millones de dólares"),
        ("es", "€ 1 millón", "un millón de euros"),
        ("es", "US$ 3 mil millones", "tres mil millones de dólares"),
        ("es", "$5 mil", "cinco mil dólares"),
        ("es", "£200 mil", "doscientas mil libras"),
        ("es", "5-10 millones €", "cinco a diez millones de euros"),
        ("es", "-€5 millones", "menos cinco millones de euros"),
        # it
        ("it", "€ 3 miliardi", "tre miliardi di euro"),
        ("it", "€ 1 milione", "un milione di euro"),
        ("it", "€ 2,5 mld", "due virgola cinque miliardi di euro"),
        ("it", "€ 5 mila", "cinquemila euro"),
        # fr
        ("fr", "3 M€", "trois millions d'euros"),
        ("fr", "5 milliards €", "cinq milliards d'euros"),
        ("fr", "5 millions $", "cinq millions de dollars"),
        ("fr", "1,5 M€", "un virgule cinq million d'euros"),
        ("fr", "1 million €", "un million d'euros"),
        ("fr", "5 k€", "cinq mille euros"),
        # de
        ("de", "€ 2,5 Mio.", "zwei komma fünf millionen euro"),
        ("de", "$ 1 Million", "eine million dollar"),
        ("de", "mit € 1 Mio.", "mit einer million euro"),
        # en
        ("en", "₹5 lakh", "five lakh rupees"),
        ("en", "₹1.5 crore", "one point five crore rupees"),
        ("en", "Rs 2-3 crore", "two to three crore rupees"),
        # a currency abbreviation after the scale word, as "₹5 लाख" *पाँच लाख रुपये* (was *पाँच लाख रु*)
        ("hi", "5 लाख रु.", "पाँच लाख रुपये"),
        ("pt", "5 mil R$", "cinco mil reais"),  # was *cinco mil r dólares*
    ],
)
def test_scale_word_of_an_amount_with_a_currency_sign(lang, text, want):
    assert to_spoken(text, lang) == want


@pytest.mark.parametrize(
    "lang,text,want",
    [
        # already right before, and unchanged: the written-out order, and en/de with the sign
        ("es", "5 millones de euros", "cinco millones de euros"),
        ("it", "3 miliardi di euro", "tre miliardi di euro"),
        ("pt", "5 milhões de reais", "cinco milhões de reais"),
        ("de", "3 Mrd. €", "drei milliarden euro"),
        ("de", "1,5 Mio. €", "eins komma fünf millionen euro"),
        ("en", "$5m", "five million dollars"),
        ("en", "$5bn", "five billion dollars"),
        ("en", "€3.2 million", "three point two million euros"),
        ("fr", "5 milliards de dollars", "cinq milliards de dollars"),
        ("fr", "1,5 million d'euros", "un virgule cinq million d'euros"),
    ],
)
def test_scale_word_written_before_the_currency_word_stays(lang, text, want):
    assert to_spoken(text, lang) == want
