"""An amount of money whose currency is written twice, and a whole amount ending in a noun of a large number.

The currency sign before the number and the currency word after the amount name one currency: it is said once
(es "€2,5 millones de euros" was *dos coma cinco millones de euros de euros*, pt "R$ 5 mil reais" *cinco mil
reais reais*), in the form the language uses for that amount, with the preposition below where the grammar
wants it even if it was not written ("€2,5 millones euros"). The expected strings are written out by hand:

- es/pt: a noun of a large number takes "de" before the noun it counts (RAE, Nueva gramática §21.2: *un
  millón de euros*, *mil millones de dólares*; pt *um milhão de reais*), also when the amount is written in
  digits ("1.000.000 €"); an amount that ends in a numeral takes none (*un millón quinientos mil euros*,
  *cinco mil reais*); the cents follow the major unit (pt *um milhão de reais e cinquenta centavos*).
- it: *milione*/*miliardo* are nouns and take "di" (*un milione di euro*); *mila* is part of the numeral.
- fr: *million*/*milliard* are nouns and take "de", elided before a vowel (Grevisse, Le Bon usage §594:
  *un million d'euros*, *deux millions de livres*); "1 500 000 $" ends in the numeral *mille*: *un million
  cinq cent mille dollars*.
- de/en: the scale word is followed by the currency with no preposition (*zwei Millionen Euro*, *five
  million dollars*); the currency is said once.
"""

from __future__ import annotations

import pytest

from tandem.spoken import to_spoken


@pytest.mark.parametrize(
    "lang,text,want",
    [
        ("es", "€2,5 millones de euros", "dos coma cinco millones de euros"),
        ("es", "€2,5 millones euros", "dos coma cinco millones de euros"),
        ("es", "US$ 3 millones de dólares", "tres millones de dólares"),
        ("es", "$5 mil dólares", "cinco mil dólares"),
        ("pt", "R$ 5 mil reais", "cinco mil reais"),
        ("pt", "R$ 2 milhões de reais", "dois milhões de reais"),
        ("pt", "R$ 2 milhões reais", "dois milhões de reais"),
        ("it", "€ 3 miliardi di euro", "tre miliardi di euro"),
        ("it", "€ 5 mila euro", "cinquemila euro"),
        ("fr", "$5 millions de dollars", "cinq millions de dollars"),
        ("fr", "€ 5 millions d'euros", "cinq millions d'euros"),
        ("de", "€ 2 Mio. Euro", "zwei millionen euro"),
        ("de", "$ 1 Million Dollar", "eine million dollar"),
        ("en", "$5 million dollars", "five million dollars"),
        ("en", "₹5 lakh rupees", "five lakh rupees"),
        ("en", "$5 dollars", "five dollars"),
        # another currency after the amount is kept as written
        ("en", "$5 million euros", "five million dollars euros"),
    ],
)
def test_currency_written_twice_is_said_once(lang, text, want):
    assert to_spoken(text, lang) == want


@pytest.mark.parametrize(
    "lang,text,want",
    [
        ("fr", "1 000 000 €", "un million d'euros"),
        ("fr", "2 000 000 €", "deux millions d'euros"),
        ("fr", "1 000 000 000 €", "un milliard d'euros"),
        ("fr", "2 000 000 £", "deux millions de livres"),
        ("fr", "1 500 000 $", "un million cinq cent mille dollars"),
        ("fr", "3 000 €", "trois mille euros"),
        ("es", "1.000.000 €", "un millón de euros"),
        ("es", "1.000.000.000 €", "mil millones de euros"),
        ("es", "£2.000.000", "dos millones de libras"),
        ("es", "1.500.000 €", "un millón quinientos mil euros"),
        ("pt", "R$ 1.000.000", "um milhão de reais"),
        ("pt", "R$ 1.000.000,50", "um milhão de reais e cinquenta centavos"),
        ("pt", "R$ 1.500.000", "um milhão e quinhentos mil reais"),
        ("it", "1.000.000 €", "un milione di euro"),
        ("it", "€ 2.000.000", "due milioni di euro"),
        ("it", "€ 1.500.000", "un milione e cinquecentomila euro"),
        # no preposition in en/de
        ("en", "$1,000,000", "one million dollars"),
        ("de", "1.000.000 €", "eine million euro"),
    ],
)
def test_whole_amount_ending_in_a_large_number_noun(lang, text, want):
    assert to_spoken(text, lang) == want
