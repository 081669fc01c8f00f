"""Loading the per-language rule tables (JSON data files in `tandem/spoken/languages/`).

Schema of `<lang>.json` (every string is NFC-normalised on load; templates use `str.format` fields):

- `numbers`: `engine` ("num2words" or "indic"), `num2words_lang`, `digits` (10 words), `point`, `minus`,
  `ordinal_engine` ("num2words", "rules" or "none"), `ordinal_exceptions` {n: word}, `ordinal_rules` and
  `ordinal_variants` {name: rules} (rules are [regex, replacement] pairs applied to the last word), `year`
  ({"mode": "cardinal" | "num2words" | "hundreds", "range", "template"}), `standalone_rules` (optional:
  rules for the last word of a year or of a number before no word, ar "ألفا" -> "ألفان"; a number before
  a word keeps the engine's form, ar "ألفا شخص"; `standalone_before`, optional: words after which it
  stands alone all the same, written apart or on a digit, ar "و" of "2000 و 2001", "2000 و2020"; the
  words of `case.after` too, ar "2000 من الناس" *ألفان من الناس*, also with a pronoun of `case.pronouns`
  attached, "2000 منهم"; ar leaves out the first person's ي, which would make nisba adjectives of some of
  the words, "قبلي" "عبري"), and for
  the indic engine `indic`
  (`below_100` or `ones` + `tens`, and `scales` [{value, word: [standalone, joining], table, rules}]: `rules`
  are applied to the multiplier with its scale word where `table` gives no form, ta "முப்பது ஆயிரம்" ->
  "முப்பதாயிரம்").
- `format`: `group` (regex of a grouped integer), `decimal` (regex of the decimal separator), optional
  `alt_decimal`, `long_digits` (digit strings at least this long are read digit by digit),
  `decimal_before_scale` (optional, a separator; ar ","): a whole number, it and one or two digits right
  before a word of `money_scales` are read as a decimal written with `decimal` (a one-character regex): ar
  "1,5 مليون" like "1.5 مليون"; "1,500 مليون" and "1, 5 مليون" are read as before.
- `plural`: `rules` [[lo, hi, form index(, modulus)]], `default`, `fraction` (index for non-integers).
- `measure`: `template` ("{n} {unit}") and `by_n` {n: template}; `percent` template.
- `noun_agreement` (optional): `feminine` and `neuter` [unit keys and currency codes], `m`, `f` and `n`
  rules applied to each number word before a masculine/feminine/neuter unit or currency (after the last
  `scale` word, a regex; `n` defaults to `m`, de neuters differ from masculines only in the accusative);
  `m_apart`/`f_apart`/`n_apart` replace them for a number not right before the noun (the "1" of "1-2 km");
  `m_single`/`f_single`/`n_single` are tried first on a number said in one word after the last scale word
  (ar feminine 1 "واحدة", but "إحدى" in 21 "إحدى و عشرون").
  Optional, for written nouns: `nouns` {"m": [...], "f": [...], "n": [...]} (counted nouns, singular and
  plural forms, one word each; en lists its plural counts under "m", with no rules), matched
  case-insensitively as the next word after a plain whole number or a range of them: the number agrees with
  the noun like with a unit of that gender ("2 horas" -> "duas horas", "21 años" -> "veintiún años",
  "1-2 horas" -> "una a dos horas") and is never read as a year ("1999 people"); decimals and digit strings
  stay as they are. `nouns_skip` [words]: words of the number that may stand before the noun (pt/es "mil":
  "2 mil pessoas" -> "duas mil"). `labels` [words]: a number right after one of these words (or it with a
  ".") is not a count (a label, "Seite 1 Zeile 2"; en a year, "in 1999 dollars", "the 2020 elections") and
  is read as if no noun followed. `after` {word: {"m": rules, "f": rules, "n": rules}}: a number right after
  that word (a preposition) uses these rules instead of `m`/`f`/`n` (a missing "n" takes "m"), before
  nouns, units and currencies (de dative "vor 1 Jahr" -> "vor einem Jahr", accusative "für 1 Tag" -> "für
  einen Tag"). `verbs` {"case": rules by gender, "forms", "after_subject", "subjects_before", "subjects_after",
  "phrases", "coordinators"}: the case after a transitive verb, added to `after` (de accusative "ich habe 1
  Hund" -> "einen Hund"): `forms` (never 3rd person singular) govern alone, written in lowercase ("Zahlen"
  may be a noun) and not before one of `coordinators` ("haben 1 Mann und 1 Frau" may be a plural subject);
  `forms` and `after_subject` (forms that may be 3rd person singular) govern after a pronoun of
  `subjects_before` ("er hat") and before one of `subjects_after` ("hat er"); `phrases` are two words as
  written ("es gibt"). `elision` {"before": regex, "rules": rules}: before a counted noun or a unit whose
  start matches `before`, the last number word is elided by `rules` and joined to it (it "1 ora", "1 h" ->
  "un'ora"). `noun_first` (ar) {"1": {"m": word, "f": word}, "duals": {singular noun: dual}}: "1" or "2"
  right before one of the singular nouns of `duals` is said with the noun, not before it: the noun and the
  word of its gender ("1 ساعة" -> "ساعة واحدة"), or the dual alone ("2 ساعة" -> "ساعتان"; in the oblique
  case by `case.nouns`, "بعد 2 يوم" -> "بعد يومين").
- `case` (optional, ar): `oblique` (rules for each number word of a whole part, after agreement and the
  standalone form: "عشرون" -> "عشرين", "ألفان" -> "ألفين", "مئتا" -> "مئتي"), `nouns` (rules for each word of
  a dual noun or unit said for 2: "كيلومتران" -> "كيلومترين"); a number (plain, a year, a count, a unit,
  currency or percent amount, either number of a range; not a time, date or digit string) is said in that
  case right after a word of `after` (prepositions, adverbs and particles of their kind), which may carry a
  clitic of `prefixes` ("وحوالي"); right after a clitic of `attached` written on its digits ("ب20"); after
  a noun of `construct` with an optional clitic of `construct_prefixes` ("عام 2000", "لعام 2016"); after a
  noun of `apposition` right after an `after` word ("في العام 2000"); as the second of two numbers joined by
  `between.and` after a word of `between.words` ("بين 10 و 20", "عامي 2000 و 2001"); and as the second number of a range whose
  range word is an `after` word ("10-20": "... إلى عشرين"). `verbs`: verbs whose number right after them
  is their object or measure, governing like `after` words (the accusative has the same forms: "تلقى 26"
  *تلقى ستة و عشرين*).
- `numbers_before_word` (optional, ta/te): `script` (a character range), `rules` (applied to the number words
  of a whole number right before a word of that script, also the second number of a range, a number before
  a `money_scales` word or a percent word said after it: its attributive form, ta "ஒரு", te "ఒక", "ఇరవై ఒక్క"), `not_before` [words] (conjunctions, postpositions), `labels` [words]
  (a number after them is a label) and `years` [lo, hi] (a number in this range that is no multiple of 100
  is taken for a year and keeps its form: "2001 జనాభా లెక్కల", the 2001 census).
- `currencies` {ISO code: {"major": forms, "minor": forms}}, `money` {"cents": template}.
- `units` {canonical unit: forms}; `scale_nouns` (optional) {written: forms}: nouns of large numbers read
  like units ("1 millón" -> "un millón"); `money_scales` (optional) {written: word or forms}: a scale after an
  amount with a currency sign, said before the currency ("$5 million", "$2bn", "3 M€"; the `scale_nouns`
  are such scales too, the number agreeing with their gender; one of two letters or more written between a
  number and a unit is said the same way, "5 million km" -> "five million kilometers"); `money_scale_link` (optional) {"word",
  "elided" (before a vowel), "thousand"}: the word said between the scale and the currency ("€2,5
  millones" -> "dos coma cinco millones de euros", fr "d'euros"), none after the `thousand` word, before
  which a whole amount is one number ("R$5 mil" -> "cinco mil reais"); also said after a whole amount
  ending in a noun of a large number ("1.000.000 €" -> "un millón de euros"), and by a whole number in
  digits ending in one before a currency word, a counted noun ("1.000.000 personas") or a unit
  symbol ("3.000.000 km" -> "tres millones de kilómetros"), and by such a noun written as a word after a
  number ("2 millones km", "1 million euros"); the word (or "elided") written there before a unit symbol
  is said once ("3 millions de km" -> "trois millions de kilomètres"), not before a unit of "not_units"
  (optional, es ["mi"]: "de mi casa"); "elided_before"
  (optional, a regex; default a vowel): the starts of a word before which "elided" is said (fr a vowel or
  a mute h: *un million d'heures*); "plural" (optional) {"ending": a regex, "except": [words],
  "capitalised_not": a regex}: the
  link is also said before a lowercase or capitalised word of three letters or more with that ending that is none of
  `except` (function words, adverbs, verb forms), taken for a plural noun or adjective (fr "3 000 000
  habitants" -> "trois millions d'habitants", "3 000 000 ont voté" keeps none); a capitalised word ending
  as "capitalised_not" says is taken for a name (fr "3 000 000 Paris" keeps none); `money_scale_integer_form`
  (optional, true): a decimal takes the scale's form of its integer part (fr "1,5 M€" -> "un virgule cinq
  million d'euros"); `money_scale_agree` (optional, true; ar): a scale of `money_scales` written after a whole
  number, whose forms hold it, is said in its form for the number by `plural` (ar "5 مليون" -> "خمسة ملايين",
  "11 آلاف" -> "أحد عشر ألف"), after 1 or 2 the scale alone like its digits ("2 مليون" -> "مليونان", "1 مليون"
  -> "مليون"), but not as the second of two numbers joined by a dash, a word of `range_words` or of
  `number_or` (optional; ar ["أو"]: "1 أو 2 مليون" keeps its number); `money_scale_cases`
  (optional, mr, ta, te) {"stems": {written stem: scale}, "endings": [...] or {written: said}, "currencies":
  {code: stem}, "rules": [[regex, replacement]]}: a scale written with a case ending, its ending said on the
  currency (its stem, else its first form, then `rules`): "₹5 लाखांचा" -> "पाच लाख रुपयांचा", ta "₹5
  லட்சத்தில்" -> "ஐந்து லட்சம் ரூபாயில்";
  `months` (12 names), `month_abbrevs` {abbrev: month number}.
- `unit_not_before` (optional; also in common.json, which a table's entries override) {written unit: regex}:
  the unit is none where the regex matches right after it (common.json "t" before "-" or an apostrophe,
  "5 t-shirts"; es/it "ha" before a word other than the link word, the verb of "1960 ha ottenuto").
- `unit_powers` (optional): `units` [base unit keys] and templates "2", "3" (optional "2f", "3f" for a
  feminine base) of "{u}", a base form: square and cubic units written "km²", "km^2" (and "km2" for the
  bases of common.json's `unit_power_ascii`), form by form where a template is a list (es ["{u} cuadrado",
  "{u} cuadrados"]); units the table or an alias gives already keep their forms. `powers` (optional):
  words said after a base with an exponent ("x²", "2³", "10⁻³", "10^3"): "2", "3" (optional) and "n" with
  "{e}", the exponent's number ("to the power of {e}").
- `date`: `order` ("dmy" | "mdy" | "ymd"), `day` ("ordinal" | "cardinal"), `day_variant`,
  `day_variant_after` {preceding word: variant, "" for the plain ordinal}, `day_overrides`, `connectors`,
  `dm_numeric_after` (words after which "3.5." is a day and month, de "am 3.5."),
  `day_suffixes` (marks after a day number read only in dates, e.g. "°" in "1° maggio"), and templates
  `dmy`, `dm`, `mdy`, `md`, `my`, `ymd`.
- `time`: templates `hm`, `hm_lt10`, `h`, `ampm`, `s`; `hour_words`, `hour_unit`, `minute_unit`,
  `second_unit`, `ampm_patterns` {"am": {"pattern", "word"}, "pm": ...}, `hour_after` (optional, ar: words
  after which an hour alone, 1-24, or two joined by a dash, is a clock hour said by `hour_words`: "الساعة 20"
  *الساعة العشرون*; not before a counted noun or a unit; `hour_after_prefixes`: a regex of clitics on them), `ampm_by_hour` [[hour, word]]
  (optional, hours 0-23 rising: the am/pm word of the time from that hour on, in place of the mark's `word`;
  one of these words written right before the time stands for the mark), `suffixes` (time words after a time, dropped
  or said by the template: "Uhr"; kept after a whole hour with am/pm whose `h_ampm` says the hour alone), `hour_suffixes` (those that make an hour alone a time, default
  `suffixes`), `h_sep`,
  `minute_agreement` (a unit key: minutes agree like it, see `noun_agreement`), `second_agreement` (a
  gender seconds agree with), `hm_by_m` / `s_by_s` {n: template} (the time or seconds template for n
  minutes/seconds, where the noun alone says the number: ar "و دقيقتان" for 2), `hm_named` {n: template}
  (a time without seconds with n minutes said as a part of the hour, "{hn}" the next hour: ar "و النصف",
  "{hn} إلا ربعا"), `h_by_h` {n: {template
  name: template}} (templates `h`, `h_ampm`, `hm`, `hm_lt10` of hour n: te one o'clock "ఒంటి గంట"),
  `fractions` (optional, hi/mr) {"template": "{f} बजे", "words": {"h:mm": words}}: a time of hour 1-12 and
  15, 30 or 45 minutes with a word of `suffixes`, am/pm or a word of `ampm_by_hour` written after it (or
  the other side of such a range), said with `fraction.spoken` ("3:30 बजे", "3:30 pm", "3:30 शाम"
  *साढ़े तीन बजे*, "3:45 बजे" *पौने चार बजे*; `words` first, "1:15" *सवा एक*),
  `clock_hour` {"words": {n: word}, "nouns", "day_parts", "day_part_nouns"} (the clock form of hour n said
  for a whole number right before one of `nouns`, or before one of `day_part_nouns` right after one of
  `day_parts`: te "1 గంటలకు", "మధ్యాహ్నం 1 గంటకు" -> "ఒంటి"; needs `numbers_before_word`), `inflected`
  {written word: {last word said: its form}} (time words with a case ending written after "h:mm": the
  last word of the time takes the case, ta "10:08 மணிக்கு" -> "... நிமிடத்துக்கு"; where that word has no
  form given, the written word is said after the time).
- `duration` (optional): `h`, `m`, `s` (a word, or forms by `plural`), `gender` {h/m/s: "m" | "f"}, `join`
  (between the parts), `after` {"h": [words], "m": [words]}: "m:ss.xx" / "h:mm:ss.xx" (and "m:ss" before an
  `after` word) is read as a duration, an `after` word written after it said once ("2:11.60 minutes");
  `inflected` {"m"/"h": {word: {part: word}}}: minute or hour words with a case ending, like `after` words,
  whose case goes to the unit of the part said last (mr "2:11.60 मिनिटांनी" -> "... सेकंदांनी"; the word's
  own part says it as written, "2:00 मिनिटांत" -> "दोन मिनिटांत"; a part not given keeps its plain unit).
- `ordinal_suffixes` {written suffix: variant name or ""}; `decades` {"rules", "suffixes" (default ["s"]),
  "append", "possessive"} (en 1990s; de 1990er, where `append` keeps the written ending; `possessive`
  {"suffix", "after"}: that suffix on a four-digit number is a decade only after a word of `after`, else
  the year's possessive, en "the 1990's" but "2020's budget").
- `dot_ordinals` (optional) {preceding word: variant or ""}: "N." right after one of these words is read as
  an ordinal with that case ending (de: "die 2. Auflage", "im 3. Jahr").
- `degree_ordinals` (optional) {preceding word: variant or ""}: "N°" right after one of these words is an
  ordinal, "°" written for "º" (it "al 2° piano"); elsewhere "°" is a degree.
- `roman` (optional): Roman numerals where conventional: `after` / `before` {word: "ordinal" | "cardinal" |
  "ordinal_to_10"} (es "siglo XXI", it "XXI secolo"), `suffixes` (ordinal suffixes read after I, V, X:
  fr "XXIe", "Ier").
- `phone_pairs` (optional): two-digit groups of a phone number are read as numbers (fr "01 23 45 67 89").
- `year_reading`: `always` [lo, hi], `context` [lo, hi], `context_words` (words that announce a year).
- `year_marks` (optional, ar): `marks` {written mark: word or [word, word after a feminine noun]} (era
  marks after a year: "1990م" -> "1990 ميلادي", read on by the number rules), `always` [marks that are
  always an era: "هـ"], `context_words` (more words that announce a year before the mark), `feminine_after`
  (words after which the second form is said: "سنة 622 م" *ميلادية*); another mark is an era only after a
  word of `year_reading.context_words` or `context_words`, after a month name, or on a year of
  `year_reading.context` that is no multiple of 100 ("1453م"); elsewhere it is left to the unit rule (ar
  "100 م", the metre).
- `fraction`: `template`, `names` {den: forms}, `den_ordinal_max`, `den_ordinal_rules` {"sg", "pl"},
  `numerator_one`, `mixed` (optional: {"template": "{w} and {f}", "half": "{w} and a half"} for "3 1/2"),
  `spoken` (optional, hi/mr/ta/te: a whole number from 1 to `max` with a half, a quarter or three quarters
  said with words of their own: `half`, `quarter`, `three_quarters`, each {"words": {n: word}, "template":
  "साढ़े {n}" ({next}: n + 1, "पौने {next}")} or {"rules": [[regex, replacement]]} on the number's words,
  ta "ு$" -> "ரை"; used for a mixed number, and for a decimal before a scale word of `money_scales` or
  `scales`, or, a half only, before a word of `half_before` or a unit of `half_units`; "x*" in a word list
  stands for every word that begins with "x"; `zero` {"half", "quarter", "three_quarters": words, "before":
  [[regex, {kind: word}]]}: 0.5, 0.25 and 0.75 alone, all three where a half is said, hi "0.5 लाख" *आधा
  लाख*, the form of the first `before` rule whose regex finds the next word, hi "0.5 घंटे" *आधे घंटे*;
  `half_units`, `half_before`: units and words before which 0.5 alone only is said, "0.5 km" *आधा
  किलोमीटर*, the unit in the singular).
- `range` (word between "10-20"), `range_between` (optional: {"words", "and", "prefixes", "articles"}: after
  one of `words`, with a clitic of the regex `prefixes` and an article of `articles` after it where given
  (fr "entre le 3-5 mai"), a dash between two numbers is said as `and`:
  en "between 10-20" *between ten and twenty*, ar "بين 10-20" *بين عشرة و عشرين*), `range_words` (optional: words written between two numbers that make a
  range before a counted noun, a unit or a currency, and are said as written: es "1 a 2 horas" -> "una a
  dos horas", de "1 bis 2 km" -> "ein bis zwei Kilometer"; `range_words_joined`: those of them also written
joined to the second number, ar "4 و5"), `range_marks` (optional: marks read as `range` between a word or
  number and a number, ja "10〜20"), `symbols` {char: word}, `symbols_before_digit` {char: word},
  `url` {dot, at, slash, dash, underscore, colon}, `version_dot` (optional: the word between the parts of
  "3.2.1", default `url.dot`), `abbreviations` {written: spoken},
  `abbreviations_before_number` {written: spoken}, `text` {apostrophes, join_cjk, char_map, letter_digits, keep}
  (`letter_digits` {digit: letter}: a native digit right after a letter or vowel sign written for the
  letter it looks like, te "౦" for the anusvara "ం" in "వి౦టు౦డడ౦"; `keep` [chars]: symbols or number letters
  the clean-up keeps, ja "〇").
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import cache
from importlib import resources
from typing import Any

from tandem.errors import TandemError
from tandem.langcodes import two_letter

SUPPORTED_LANGUAGES: tuple[str, ...] = (
    "ar",
    "de",
    "en",
    "es",
    "fr",
    "hi",
    "it",
    "ja",
    "mr",
    "pt",
    "ta",
    "te",
)

REQUIRED = ("numbers", "format", "plural", "measure", "percent", "currencies", "money", "units", "months",
            "date", "time", "fraction", "range", "symbols", "url", "text")  # fmt: skip


def _nfc(obj: Any) -> Any:
    if isinstance(obj, str):
        return unicodedata.normalize("NFC", obj)
    if isinstance(obj, list):
        return [_nfc(x) for x in obj]
    if isinstance(obj, dict):
        return {_nfc(k): _nfc(v) for k, v in obj.items()}
    return obj


def _read(name: str) -> dict[str, Any]:
    text = resources.files("tandem.spoken.languages").joinpath(name).read_text(encoding="utf-8")
    return _nfc(json.loads(text))


_TAG = re.compile(r"[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)*")  # as tandem.data.sampling.language_tag reads tags


def canonical_language(lang: str) -> str:
    """'en-US', 'pt_BR', 'EN', 'pt-Latn-BR', 'eng' -> the table of the language subtag ('en', 'pt'; a
    three-letter code read as its ISO 639-1 code, `tandem.langcodes`); raises TandemError for an empty or
    malformed tag and for languages without a table."""
    tag = lang.strip() if isinstance(lang, str) else ""
    if not tag:
        raise TandemError(
            f"spoken form: the language tag is empty ({lang!r}); give one of {', '.join(SUPPORTED_LANGUAGES)}"
        )
    if not _TAG.fullmatch(tag):
        raise TandemError(
            f'spoken form: {lang!r} is not a language tag; write one such as "en" or "pt-BR" (letters and '
            'digits, subtags joined by "-" or "_", no spaces)'
        )
    code = two_letter(tag.replace("_", "-").split("-")[0].lower())
    if code not in SUPPORTED_LANGUAGES:
        raise TandemError(
            f"spoken form: language {lang!r} is not supported; choose one of {', '.join(SUPPORTED_LANGUAGES)}"
        )
    return code


@cache
def common_table() -> dict[str, Any]:
    """The language-independent table (currency symbols, unit aliases, character folding)."""
    return _read("common.json")


@cache
def language_table(lang: str) -> dict[str, Any]:
    """The rule table of one language, checked for the required sections."""
    code = canonical_language(lang)
    table = _read(f"{code}.json")
    missing = [k for k in REQUIRED if k not in table]
    if missing:
        raise TandemError(f"tandem/spoken/languages/{code}.json: sections {missing} missing; add them")
    if len(table["months"]) != 12 or len(table["numbers"]["digits"]) != 10:
        raise TandemError(f"tandem/spoken/languages/{code}.json: need 12 months and 10 digit words")
    _check_nouns(code, table.get("noun_agreement", {}))
    _check_case(code, table.get("case"))
    _check_range_between(code, table.get("range_between"))
    return table


def _check_range_between(code: str, rb: Any) -> None:
    """`range_between`, where given: {"words": [words], "and": a word, "prefixes": a regex (optional)}."""
    if rb is None:
        return
    ok = (
        isinstance(rb, dict)
        and isinstance(rb.get("words"), list)
        and rb["words"]
        and all(isinstance(w, str) and w.strip() for w in rb["words"])
        and isinstance(rb.get("and"), str)
        and rb["and"].strip()
        and isinstance(rb.get("prefixes", ""), str)
        and isinstance(rb.get("articles", []), list)
        and all(isinstance(a, str) and a.strip() for a in rb.get("articles", []))
    )
    if not ok:
        raise TandemError(
            f'tandem/spoken/languages/{code}.json: range_between needs "words" (a list of words such as '
            '["between"]) and "and" (the word said for the dash after them), "prefixes" (a regex) and "articles" '
            "(a list of words) optional; "
            f"got {rb!r}"
        )


def _check_case(code: str, case: Any) -> None:
    """`case`, where given, must have its "oblique" rules and its "after" words; its optional "pronouns" must
    be a list of letters-only suffixes."""
    if case is not None and not (
        isinstance(case, dict)
        and isinstance(case.get("oblique"), list)
        and isinstance(case.get("after"), list)
    ):
        raise TandemError(
            f'tandem/spoken/languages/{code}.json: case needs "oblique" (a list of [regex, replacement] rules) '
            'and "after" (a list of words after which a number takes that case)'
        )
    pronouns = case.get("pronouns", []) if case is not None else []
    if not isinstance(pronouns, list) or not all(isinstance(p, str) and p.isalpha() for p in pronouns):
        raise TandemError(
            f"tandem/spoken/languages/{code}.json: case.pronouns must be a list of attached pronouns, each "
            f'letters only (ar ["ه", "ها", "هم"]); got {pronouns!r}'
        )


def _check_nouns(code: str, agreement: dict[str, Any]) -> None:
    """`noun_agreement.nouns` must give single words under "m", "f" (and "n"), each noun under one gender."""
    verbs = agreement.get("verbs")
    if verbs is not None and not isinstance(verbs.get("case") if isinstance(verbs, dict) else None, dict):
        raise TandemError(
            f'tandem/spoken/languages/{code}.json: noun_agreement.verbs needs a "case" object of rules '
            '{"m": [...], "f": [...], "n": [...]} for the numbers after its verbs'
        )
    where = f"tandem/spoken/languages/{code}.json: noun_agreement.nouns"
    seen: dict[str, str] = {}
    for gender, words in agreement.get("nouns", {}).items():
        if gender not in ("m", "f", "n") or not isinstance(words, list):
            raise TandemError(f'{where}: {gender!r} is not a gender; use "m", "f" or "n" with lists of nouns')
        for w in words:
            if not isinstance(w, str) or not w.isalpha():
                raise TandemError(
                    f"{where}.{gender}: {w!r} is not one word of letters; write one form per entry"
                )
            if seen.setdefault(w.lower(), gender) != gender:
                raise TandemError(f"{where}: {w!r} is listed as both genders; keep it under one")
