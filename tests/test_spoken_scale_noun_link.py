"""A number in digits that ends in a noun of a large number, before the noun it counts; a currency named
again after an amount with a sign, in the singular or by its code.

The expected strings are written out by hand:

- es/pt/it/fr: *millón*, *milhão*, *milione*, *million* (and *milliard*, *miliardo*, es *mil millones*) are
  nouns, and a noun of a large number takes a preposition before the noun it counts (RAE, Nueva gramática
  §21.2: *un millón de personas*, *mil millones de dólares*; pt *um milhão de reais*; it *un milione di
  euro*; Grevisse, Le Bon usage §594: *un million d'euros*, *deux millions de dollars*, elided before a
  vowel or a mute h: *un million d'heures*). Written in digits ("1.000.000 personas") the number is said
  the same way. It is added before a currency word or a counted noun of the language's table only; an
  amount that ends in a numeral takes none (*un millón quinientos mil euros*), "de" already written is not
  doubled, and another word (a verb: "2 000 000 ont") is left as it follows.
- fr/es/pt: the same preposition before any plural noun, or an adjective and its noun (Grevisse §594:
  *trois millions d'habitants*, *trois millions de nouveaux habitants*; RAE §21.2 *tres millones de
  votantes*; pt *dois milhões de eleitores*), not only before a noun of the table. Without a
  part-of-speech tagger the word is taken for one when it is written in lowercase with a plural ending
  (fr -s/-x, es/pt -s) and is not a listed function word, adverb or verb form: after "3 000 000" a verb
  ("ont voté"), a preposition ("dans") or an adverb ("plus tard", es "más", pt "mais") keeps none. fr
  *de* is not elided before an aspirated h (Grevisse, Le Bon usage, "h aspiré": *le héros*, *deux
  millions de héros*).
- es/pt/it/fr: a unit symbol after such a number is said as the unit's noun and takes the same preposition
  (Grevisse §594: the noun *million* takes *de* before whatever it counts, a measure included: *trois
  millions de kilomètres*, *d'* before a vowel: *un million d'onces*; RAE §21.2 *tres millones de
  kilómetros*; pt *dois milhões de quilômetros*; it *tre milioni di chilometri*); an amount that does not
  end in the noun (*un million cinq cent mille kilomètres*) or is not whole takes none.
- es/pt/it/fr: the same noun written as a word after a number ("3 millions", "2 millones") takes the same
  preposition before a unit symbol (said as its noun), a currency word, a counted noun or a plural word, as
  in digits (Grevisse §594; RAE §21.2); en/de, whose *million*/*Million* takes none, say the unit's noun.
  pt/es *mil* is a numeral: "200 mil lb" is *duzentas mil libras* as "200.000 lb".
- fr/es/pt: a capitalised plural word counts too (fr nouns of nationality are capitalised: *trois millions
  de Français*, Grevisse §100); a listed function word keeps none capitalised too ("Dans").
- es/pt/it/fr: the preposition written after the noun of a large number ("3 millions de km", it "3 milioni
  di km", "3 000 000 de km") is said once before the unit's noun (Grevisse §594 *trois millions de
  kilomètres*; RAE §21.2); a word there that is no unit ("de l'eau", es "de mi casa") is left as it is.
- fr/es/pt: a capitalised word with a plural ending that is the ending of a name is taken for one (fr
  *Paris*, *Louis*, *Thomas*, *Bordeaux*; es *París*, pt *Inglês*, singular), and takes no preposition.
- en: a singular currency word after the amount is a noun used as a modifier and stays singular (*a five
  dollar bill*, *a five million dollar budget*); a currency code after the amount that names the same
  currency as its sign is said once (*five million dollars*, not *five million dollars usd*).
"""

from __future__ import annotations

import pytest

from tandem.spoken import to_spoken


@pytest.mark.parametrize(
    "lang,text,want",
    [
        ("fr", "1 000 000 euros", "un million d'euros"),
        ("fr", "2 000 000 dollars", "deux millions de dollars"),
        ("fr", "1 000 000 000 euros", "un milliard d'euros"),
        ("fr", "Il y a 4 000 000 personnes.", "il y a quatre millions de personnes"),
        ("fr", "1 000 000 heures", "un million d'heures"),
        ("es", "1.000.000 euros", "un millón de euros"),
        ("es", "1.000.000.000 dólares", "mil millones de dólares"),
        ("es", "1.000.000 personas", "un millón de personas"),
        ("pt", "1.000.000 reais", "um milhão de reais"),
        ("pt", "2.000.000 pessoas", "dois milhões de pessoas"),
        ("it", "1.000.000 euro", "un milione di euro"),
        ("it", "3.000.000 persone", "tre milioni di persone"),
    ],
)
def test_large_number_noun_links_to_its_noun(lang: str, text: str, want: str) -> None:
    assert to_spoken(text, lang) == want


@pytest.mark.parametrize(
    "lang,text,want",
    [
        ("es", "1.500.000 euros", "un millón quinientos mil euros"),  # ends in a numeral
        ("es", "3.000.000 de euros", "tres millones de euros"),  # "de" written once
        ("fr", "2 000 000 de dollars", "deux millions de dollars"),
        ("fr", "2 000 000 ont voté", "deux millions ont voté"),  # a verb, not a counted noun
        ("es", "2.000 personas", "dos mil personas"),
    ],
)
def test_no_link_where_none_is_wanted(lang: str, text: str, want: str) -> None:
    assert to_spoken(text, lang) == want


@pytest.mark.parametrize(
    "lang,text,want",
    [
        ("fr", "3 000 000 habitants", "trois millions d'habitants"),
        ("fr", "3 000 000 nouveaux habitants", "trois millions de nouveaux habitants"),
        ("fr", "1 000 000 animaux", "un million d'animaux"),
        (
            "fr",
            "Ils étaient 4 000 000 électeurs inscrits.",
            "ils étaient quatre millions d'électeurs inscrits",
        ),
        ("fr", "2 000 000 héros", "deux millions de héros"),
        ("es", "3.000.000 votantes", "tres millones de votantes"),
        ("es", "2.000.000 nuevos votantes", "dos millones de nuevos votantes"),
        ("pt", "2.000.000 eleitores", "dois milhões de eleitores"),
        ("pt", "2.000.000 novos eleitores", "dois milhões de novos eleitores"),
    ],
)
def test_large_number_noun_links_to_a_plural_word(lang: str, text: str, want: str) -> None:
    assert to_spoken(text, lang) == want


@pytest.mark.parametrize(
    "lang,text,want",
    [
        ("fr", "3 000 000 ont voté", "trois millions ont voté"),
        ("fr", "3 000 000 dans le pays", "trois millions dans le pays"),
        ("fr", "3 000 000 plus tard", "trois millions plus tard"),
        ("fr", "3 000 000 de nouveaux habitants", "trois millions de nouveaux habitants"),
        ("fr", "2 500 000 habitants", "deux millions cinq cent mille habitants"),
        ("es", "3.000.000 más que antes", "tres millones más que antes"),
        ("es", "los 3.000.000 somos", "los tres millones somos"),
        ("pt", "2.000.000 mais do que", "dois milhões mais do que"),
    ],
)
def test_no_link_before_a_function_word_or_verb(lang: str, text: str, want: str) -> None:
    assert to_spoken(text, lang) == want


@pytest.mark.parametrize(
    "lang,text,want",
    [
        ("fr", "3 000 000 km", "trois millions de kilomètres"),
        ("fr", "1 000 000 m²", "un million de mètres carrés"),
        ("fr", "1 000 000 000 kg", "un milliard de kilogrammes"),
        ("fr", "1 000 000 oz", "un million d'onces"),
        ("fr", "2 000 000-3 000 000 km", "deux millions à trois millions de kilomètres"),
        ("es", "3.000.000 km", "tres millones de kilómetros"),
        ("es", "1.000.000 km²", "un millón de kilómetros cuadrados"),
        ("pt", "2.000.000 km", "dois milhões de quilômetros"),
        ("pt", "3.000.000 l", "três milhões de litros"),
        ("it", "3.000.000 km", "tre milioni di chilometri"),
        ("it", "1.000.000 h", "un milione di ore"),
    ],
)
def test_large_number_noun_links_to_a_unit(lang: str, text: str, want: str) -> None:
    assert to_spoken(text, lang) == want


@pytest.mark.parametrize(
    "lang,text,want",
    [
        ("fr", "1 500 000 km", "un million cinq cent mille kilomètres"),  # ends in a numeral
        ("fr", "3 000 000,5 km", "trois millions virgule cinq kilomètres"),  # not whole
        ("es", "2.500.000 km", "dos millones quinientos mil kilómetros"),
        ("it", "300.000 km", "trecentomila chilometri"),  # a numeral, not a noun
        ("en", "3,000,000 km", "three million kilometers"),  # en "million" is a numeral
    ],
)
def test_no_link_before_a_unit_where_none_is_wanted(lang: str, text: str, want: str) -> None:
    assert to_spoken(text, lang) == want


@pytest.mark.parametrize(
    "text,want",
    [
        ("a $5 dollar bill", "a five dollar bill"),
        ("a $5 million dollar budget", "a five million dollar budget"),
        ("$5 million USD", "five million dollars"),
        ("$5 USD", "five dollars"),
        ("$5 dollars", "five dollars"),
        ("$1 dollar", "one dollar"),
        # a code of another currency: the code names one currency, "$" several; the code is said, once
        ("$5 EUR", "five euros"),
        ("€5 USD", "five dollars"),
        ("$5 million EUR", "five million euros"),
        ("$2.50 GBP", "two pounds and fifty pence"),
    ],
)
def test_en_currency_named_after_the_amount(text: str, want: str) -> None:
    assert to_spoken(text, "en") == want


@pytest.mark.parametrize(
    "lang,text,want",
    [
        ("fr", "3 millions km", "trois millions de kilomètres"),
        ("fr", "1 million oz", "un million d'onces"),
        ("fr", "2-3 millions km", "deux à trois millions de kilomètres"),
        ("fr", "1 million euros", "un million d'euros"),
        ("fr", "2 milliards dollars", "deux milliards de dollars"),
        ("fr", "3 millions habitants", "trois millions d'habitants"),
        ("fr", "-3 millions euros", "moins trois millions d'euros"),
        ("es", "2 millones km", "dos millones de kilómetros"),
        ("es", "21 millones km", "veintiún millones de kilómetros"),
        ("es", "1 millón euros", "un millón de euros"),
        ("es", "2 millones personas", "dos millones de personas"),
        ("pt", "2 milhões km", "dois milhões de quilômetros"),
        ("pt", "1 milhão reais", "um milhão de reais"),
        ("pt", "200 mil lb", "duzentas mil libras"),  # mil: a numeral, as "200.000 lb"
        ("it", "2 milioni km", "due milioni di chilometri"),
        ("it", "1 milione euro", "un milione di euro"),
        ("en", "5 million km", "five million kilometers"),
        ("de", "1 Million km", "eine million kilometer"),
    ],
)
def test_large_number_noun_written_as_a_word(lang: str, text: str, want: str) -> None:
    assert to_spoken(text, lang) == want


@pytest.mark.parametrize(
    "lang,text,want",
    [
        ("fr", "3 millions ont voté", "trois millions ont voté"),
        ("fr", "1 million de personnes", "un million de personnes"),  # "de" written once
        ("fr", "2 millions l'an", "deux millions l'an"),  # "l'" is no litre
        ("fr", "3 millions dans le pays", "trois millions dans le pays"),
        ("it", "25-3 milioni anni", "venticinque a tre milioni anni"),  # a range, read as before
    ],
)
def test_large_number_noun_written_as_a_word_without_link(lang: str, text: str, want: str) -> None:
    assert to_spoken(text, lang) == want


@pytest.mark.parametrize(
    "lang,text,want",
    [
        ("fr", "3 000 000 Français", "trois millions de français"),
        ("fr", "3 millions Français", "trois millions de français"),
        ("fr", "3 000 000 Américains", "trois millions d'américains"),
        ("es", "3.000.000 Españoles", "tres millones de españoles"),
        ("pt", "3.000.000 Brasileiros", "três milhões de brasileiros"),
        ("fr", "3 000 000 Dans le pays", "trois millions dans le pays"),  # a function word
        ("fr", "3 000 000 USA", "trois millions usa"),  # in capitals: no plural word
    ],
)
def test_large_number_noun_links_to_a_capitalised_plural(lang: str, text: str, want: str) -> None:
    assert to_spoken(text, lang) == want


@pytest.mark.parametrize(
    "lang,text,want",
    [
        ("fr", "3 millions de km", "trois millions de kilomètres"),
        ("fr", "1 million d'oz", "un million d'onces"),
        ("fr", "1 million de oz", "un million d'onces"),  # elided as the noun asks
        ("fr", "2-3 millions de km", "deux à trois millions de kilomètres"),
        ("fr", "3 millions de t de CO2", "trois millions de tonnes de co deux"),
        ("fr", "3 000 000 de km", "trois millions de kilomètres"),
        ("es", "2 millones de km", "dos millones de kilómetros"),
        ("es", "2 millones de ha", "dos millones de hectáreas"),
        ("es", "3.000.000 de km", "tres millones de kilómetros"),
        ("pt", "3 milhões de km", "três milhões de quilômetros"),
        ("it", "3 milioni di km", "tre milioni di chilometri"),
        ("it", "2 milioni di km2", "due milioni di chilometri quadrati"),
    ],
)
def test_link_word_written_before_a_unit(lang: str, text: str, want: str) -> None:
    assert to_spoken(text, lang) == want


@pytest.mark.parametrize(
    "lang,text,want",
    [
        ("fr", "3 millions de l'eau", "trois millions de l'eau"),
        ("fr", "3 millions de t-shirts", "trois millions de t shirts"),
        ("es", "2 millones de mi casa", "dos millones de mi casa"),
        ("es", "2 millones de mi", "dos millones de mi"),
        ("it", "3 milioni di l'acqua", "tre milioni di l'acqua"),
        ("fr", "5 de km", "cinq de km"),  # no noun of a large number
        ("es", "1.500.000 de km", "un millón quinientos mil de km"),
        ("pt", "200 mil de km", "duzentos mil de km"),  # mil: a numeral
    ],
)
def test_link_word_written_before_no_unit(lang: str, text: str, want: str) -> None:
    assert to_spoken(text, lang) == want


@pytest.mark.parametrize(
    "lang,text,want",
    [
        ("fr", "3 000 000 Paris", "trois millions paris"),
        ("fr", "3 millions Paris", "trois millions paris"),
        ("fr", "3 000 000 Louis", "trois millions louis"),
        ("fr", "3 000 000 Thomas", "trois millions thomas"),
        ("fr", "3 000 000 Bordeaux", "trois millions bordeaux"),
        ("fr", "3 000 000 Marseille", "trois millions marseille"),  # no plural ending
        ("es", "3.000.000 París", "tres millones parís"),
        ("es", "3.000.000 Madrid", "tres millones madrid"),
        ("pt", "3.000.000 Inglês", "três milhões inglês"),
        ("pt", "3.000.000 Lisboa", "três milhões lisboa"),
    ],
)
def test_no_link_before_a_capitalised_name(lang: str, text: str, want: str) -> None:
    assert to_spoken(text, lang) == want


@pytest.mark.parametrize(
    "lang,text,want",
    [
        ("fr", "2 000 000 Parisiens", "deux millions de parisiens"),
        ("fr", "3 millions Parisiens", "trois millions de parisiens"),
        ("fr", "3 000 000 Chinois", "trois millions de chinois"),
        ("fr", "3 000 000 Hindous", "trois millions d'hindous"),
        ("fr", "3 000 000 amis", "trois millions d'amis"),  # lowercase: any plural ending
        ("es", "3.000.000 bebés", "tres millones de bebés"),
    ],
)
def test_link_before_a_capitalised_plural(lang: str, text: str, want: str) -> None:
    assert to_spoken(text, lang) == want
