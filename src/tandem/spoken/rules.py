"""The written-to-spoken rewrite for one language: an ordered list of regex rules built from its table.

Order matters and follows the NeMo text-normalisation taxonomy from the most specific pattern to the
most general: e-mails and URLs, dates, times, money, percentages, measures, phone numbers, ordinals,
fractions, ranges, then plain numbers; symbols and abbreviations after that; finally the text is
lowercased and stripped of punctuation. Every rule's output is words only, so no later rule (and no
second pass) rewrites it again.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Callable
from functools import cache, lru_cache
from typing import Any

from tandem.errors import TandemError
from tandem.spoken.numbers import Verbalizer, apply_rules
from tandem.spoken.tables import common_table, language_table

Forms = str | list[str]

_CJK = "\u3005-\u3007\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f"
_NEVER = r"(?!x)x"  # a pattern that never matches, for optional table entries that are absent


def _first_chars(keys: list[str]) -> str:
    """A look-ahead for the first characters of `keys` (a character class: the regex engine tries a long
    alternation of words only where one of them can start), or "" for no keys."""
    return f"(?=[{''.join(sorted({re.escape(k[0]) for k in keys if k}))}])" if all(keys) and keys else ""


def _alternation(keys: list[str], not_before: dict[str, str] | None = None) -> str:
    """Regex alternation of literal keys, longest first so that "km/h" wins over "km"; a key of
    `not_before` matches only where its regex does not match right after it."""
    keys = sorted(set(keys), key=lambda k: (-len(k), k))
    nb = not_before or {}
    return "|".join(re.escape(k) + (f"(?!{nb[k]})" if k in nb else "") for k in keys) if keys else _NEVER


@lru_cache(maxsize=1)
def _prepare_table() -> dict[int, str]:
    """Character folding shared by all languages: every Unicode decimal digit and full-width ASCII to
    ASCII (so that ١٢٣, १२३, ௧௨௩ and １２３ are read like 123), plus common.json's char_map."""
    table: dict[int, str] = {}
    for cp in range(0x80, 0x20000):
        c = chr(cp)
        if unicodedata.category(c) == "Nd":
            table[cp] = str(unicodedata.decimal(c))
    for cp in range(0xFF01, 0xFF5F):
        table[cp] = chr(cp - 0xFF01 + 0x21)
    # enclosed numbers and Roman numeral signs ("①", "⑴", "⒈", "Ⅻ") are their digits or letters; the
    # clean-up would drop them (exponents such as "²" are left to the unit and power rules)
    for cp in range(0x2150, 0x2800):
        c = chr(cp)
        folded = unicodedata.normalize("NFKC", c)
        if unicodedata.category(c) in ("No", "Nl") and re.fullmatch(r"\(?(?:\d+|[IVXLCDM]+)\)?\.?", folded):
            table[cp] = f" {folded} "
    # Latin ligatures ("ﬁ", "ﬂ" of text taken from PDFs) are their letters: ASR writes "find", never "ﬁnd"
    for cp in range(0xFB00, 0xFB07):
        table[cp] = unicodedata.normalize("NFKC", chr(cp))
    for k, v in common_table()["char_map"].items():
        table[ord(k)] = v
    return table


class _PrepTable(dict):
    """The `_prepare_table` folding as a str.translate table that keeps every other character, filled with
    them as they are met (str.translate is faster on a key it finds than on a missing one)."""

    def __missing__(self, cp: int) -> int:
        self[cp] = cp
        return cp


class _CleanTable(dict):
    """str.translate table for the final clean-up, filled lazily per character: letters and marks stay,
    punctuation and symbols become spaces, stray digits become words (a safety net)."""

    def __init__(self, digit_words: list[str], keep_apostrophe: bool):
        super().__init__()
        for i, w in enumerate(digit_words):
            self[48 + i] = f" {w} "
        self[ord("'")] = "'" if keep_apostrophe else " "
        self[0x200C] = "\u200c"  # ZWNJ / ZWJ shape Indic and Arabic words: keep them
        self[0x200D] = "\u200d"

    def __missing__(self, cp: int) -> str:
        cat = unicodedata.category(chr(cp))
        if cat[0] in "LM":
            out = chr(cp)
        elif cat == "Nd" and unicodedata.decimal(chr(cp), None) is not None:
            out = self[48 + unicodedata.decimal(chr(cp))]
        elif cat in ("Cf", "Co", "Cn"):
            out = ""
        else:  # P*, S*, Z*, Cc, other numbers
            out = " "
        self[cp] = out
        return out


# the top-level domains of a URL written without "://" or "www." ("example.com/page"); a URL has one of
# these three, the gate of the URL rule (a "." that starts the regex lets the engine skip ahead)
_URL_TLDS = "com|org|net|edu|gov|io|info|co|de|fr|es|it|pt|br|in|jp|uk|eu"
_RE_URL_TLD = re.compile(rf"\.(?:{_URL_TLDS})(?!\w)")


def _may_have_url(s: str) -> bool:
    return "." in s and ("://" in s or "www." in s or _RE_URL_TLD.search(s) is not None)


# a digit (any script's: what every rule but the power rule needs to match)
_RE_DIGIT = re.compile(r"\d")
# regexes of the callbacks, compiled once
_RE_NON_DIGIT = re.compile(r"\D")
_RE_DIGIT_RUN = re.compile(r"\d+")
_RE_SPELL_PIECE = re.compile(r"[A-Za-z]+|\d+|.")
_RE_LAST_WORD = re.compile(r"(\w+)\W*$")
_RE_TEMPLATE_LEAD = re.compile(r"\s*([^\s{]+)\s")
_RE_WORD_BEFORE_DATE = re.compile(r"(?<![\w.])(\w+),?\s+$")
_RE_PHONE_SIGN = re.compile(r"[+().-]")
_RE_LOOSE_APOSTROPHES = re.compile(r"(?<!\w)'+|'+(?!\w)")
# an apostrophe between a letter and a digit: an elided word before a number (it "l'11", "dell'800")
_RE_ELISION = re.compile(r"(?<=[^\W\d_])'(?=\d)")


# marks written by a rule before a number: joined to the next word at the end (it "l'11" -> "l'undici", ar
# "ب20" -> "بعشرين"), or the Arabic article said on the next word (`_clitic_digits`)
_JOIN = "\ue000"
_ARTICLE = "\ue001"
_RE_VERSION = re.compile(r"\d+(?:\.\d+){2,}")
# the word right before a number (with a "." after it: "Nr. 1"), for noun agreement: matched on the
# reversed text before the number, so that only its end is read
_RE_PREV_WORD_REVERSED = re.compile(r"\s+(\.?[^\W\d_]+)")
# ... and the word before it: "er hat" of "er hat 1 Hund"
_RE_PREV_WORDS_REVERSED = re.compile(_RE_PREV_WORD_REVERSED.pattern + r"(?:[^\S\r\n]+([^\W\d_]+)(?!\w))?")
# a word right after a number (on the same line): the number may be in construct with it (ar "مئتا شخص")
_RE_WORD_NEXT = re.compile(r"[^\S\r\n]*[^\W\d_]")


def _mark_ranges() -> str:
    """A regex character class body of the combining marks (Unicode M*) of the Basic Multilingual Plane."""
    out, start = [], None
    for cp in range(0x300, 0x10000):
        mark = unicodedata.category(chr(cp)).startswith("M")
        if mark and start is None:
            start = cp
        elif not mark and start is not None:
            out.append(f"\\u{start:04x}-\\u{cp - 1:04x}")
            start = None
    return "".join(out)


# the end of a word: no letter, digit or combining mark follows (vowel signs are no \w: "గంటల" does not end
# "గంటలో")
_MARKS = _mark_ranges()
_WORD_END = rf"(?![\w{_MARKS}])"
# a word that starts with a vowel (fr "d'euros", not "de yens")
_RE_VOWEL_START = re.compile("[aeiouàâäéèêëîïôöùûü]", re.IGNORECASE)
# punctuation around a written word ("(morning"), stripped to compare it with a word the rules would say
_EDGE_PUNCT = "()[]{}\"'«»“”‘’,.;:!?¿¡"
# a superscript exponent or a caret: the gate of the power rule ("x²", "10⁻³", "10^3")
_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
_RE_POWER_GATE = re.compile(f"[{_SUPERSCRIPTS}^]")
_SUPERSCRIPT_DIGITS = str.maketrans(_SUPERSCRIPTS, "0123456789")
# A number of this many digits or more (a digit run, maybe grouped by ",", "." or a space, or a run of
# superscripts) is read digit by digit before any other rule: int() refuses a string of over 4300 digits
# (640 at the least where a user lowers the limit), and every rule but the plain-number one would fail on it,
# leaving the whole line only cleaned; nobody says such a number any other way
HUGE_DIGITS = 500
_RE_HUGE_GATE = re.compile(rf"[\d,. {_SUPERSCRIPTS}]{{{HUGE_DIGITS},}}")
_RE_HUGE_NUMBER = re.compile(rf"\d++(?:[,. ]\d{{3}}(?!\d))*+|[{_SUPERSCRIPTS}]{{{HUGE_DIGITS},}}")
# signs around a power's letter run that make it a formula, not a footnote after a word ("E=mc²")
_FORMULA_OPS = "=+−×·*/<>≈≤≥"
# the word right after a number, to its end (vowel signs are no \w): what `fraction.spoken` looks at
_RE_NEXT_WORD = re.compile(r"[^\S\r\n]*([^\s\d.,;:!?()\[\]\"'/–—-]+)")
# the fraction digits of a decimal, and the proper fraction of a mixed number, that `fraction.spoken`
# says with words of their own: a half, a quarter, three quarters
_SPOKEN_DECIMALS = {"5": "half", "25": "quarter", "75": "three_quarters"}
# `_spoken_decimal`'s `half_only` for 0.5 alone only (`fraction.spoken.zero.half_before`, `half_units`)
_ZERO_HALF = "zero"
_SPOKEN_FRACTIONS = {(1, 2): "half", (1, 4): "quarter", (3, 4): "three_quarters"}
# cheap gates (a literal first character lets the regex engine skip ahead): a slash before a digit
_RE_SLASH_DIGIT = re.compile(r"/\s?\d")
# a day and month "3.5.": the gate of the de date rule for it
_RE_DOT_DAY_MONTH = re.compile(r"\.\d{1,2}\.(?![\d.])")


_RE_ROMAN = re.compile(r"(?=[MDCLXVI])M{0,3}(?:C[MD]|D?C{0,3})(?:X[CL]|L?X{0,3})(?:I[XV]|V?I{0,3})")
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}


def _roman(r: str) -> int | None:
    """ "XXI" -> 21; None for a string that is not a well-formed Roman numeral."""
    if not _RE_ROMAN.fullmatch(r):
        return None
    vals = [_ROMAN_VALUES[c] for c in r]
    return sum(-v if i + 1 < len(vals) and v < vals[i + 1] else v for i, v in enumerate(vals))


def _char_class(cps: list[int]) -> str:
    """A regex character class of the code points `cps`, as ranges."""
    out, cps = [], sorted(set(cps))
    i = 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        out.append(f"\\U{cps[i]:08x}" + (f"-\\U{cps[j]:08x}" if j > i else ""))
        i = j + 1
    return f"[{''.join(out)}]" if out else _NEVER


def _substring_gate(strings: list[str]) -> tuple[str, ...]:
    """The gate strings that contain none of the others (a text has one of `strings` exactly when it has
    one of these): "jan" makes "january" redundant."""
    keys = sorted(set(strings), key=len)
    out: list[str] = []
    for k in keys:
        if not any(o in k for o in out):
            out.append(k)
    return tuple(out)


def _search_gate(strings: tuple[str, ...]) -> Callable[[str], Any]:
    """A substring gate as one regex search (truthy where the text has one of `strings`): one scan in C
    rather than a Python loop of `in` tests."""
    return re.compile("|".join(re.escape(g) for g in strings) if strings else _NEVER).search


def _has_slash_digit(s: str) -> bool:
    return "/" in s and _RE_SLASH_DIGIT.search(s) is not None


def _has_dot_day_month(s: str) -> bool:
    return "." in s and _RE_DOT_DAY_MONTH.search(s) is not None


# the word before a decade ("the 1990's", "mid-1990's")
_RE_DECADE_PREV_WORD = re.compile(r"([^\W\d_]+)[\s-]*'?$")


def _before(m: re.Match[str]) -> str:
    """The text before a match (its last 40 characters), the context that decides agreement."""
    return m.string[max(0, m.start() - 40) : m.start()]


def _word_list(entries: list[str]) -> tuple[frozenset[str], tuple[str, ...]]:
    """A table's list of words, an entry ending in "*" standing for every word it begins: (the whole
    words, the beginnings), for `_in_word_list`."""
    return (
        frozenset(e for e in entries if not e.endswith("*")),
        tuple(e[:-1] for e in entries if e.endswith("*")),
    )


def _in_word_list(word: str, words: tuple[frozenset[str], tuple[str, ...]]) -> bool:
    return word in words[0] or word.startswith(words[1])


def _power_forms(forms: Forms, tpl: Forms) -> Forms:
    """A base unit's forms through a `unit_powers` template ("square {u}"; a list: form by form, the last
    one for the rest): ["mile", "miles"] -> ["square mile", "square miles"]."""
    if isinstance(forms, str) and isinstance(tpl, str):
        return tpl.format(u=forms)
    fl = [forms] if isinstance(forms, str) else forms
    tl = [tpl] if isinstance(tpl, str) else tpl
    return [tl[min(i, len(tl) - 1)].format(u=fl[min(i, len(fl) - 1)]) for i in range(max(len(fl), len(tl)))]


def _is_round_range(a: str, b: str) -> bool:
    """ "200", "2000": two whole hundreds (no leading zero), rising: a range ("200-2000 شخص"), where a
    subscriber number ("555-1234") is no such pair."""
    return a[0] != "0" and b[0] != "0" and int(a) % 100 == 0 and int(b) % 100 == 0 and int(a) < int(b)


def _with_pronouns(case: dict) -> list[str]:
    """The words of `case.after` with each attached pronoun of `case.pronouns` (ar "من" + "هم" -> "منهم"): a
    final alif maqsura is written ya before it ("على" -> "عليها") and a final nun meets a pronoun's nun once
    ("من" + "نا" -> "منا")."""
    out = []
    for word in case.get("after", []) if case.get("pronouns") else []:
        stem = word[:-1] + "ي" if word.endswith("ى") else word
        for pron in case["pronouns"]:
            out.append(stem + (pron[1:] if stem.endswith("ن") and pron.startswith("ن") else pron))
    return out


class LanguageRules:
    """Compiled rules for one language; `normalize(text)` is the spoken form."""

    def __init__(self, lang: str):
        t = language_table(lang)
        common = common_table()
        self.lang = lang
        self.t = t
        self.v = Verbalizer(lang, t)
        # a number before one of `numbers.standalone_before` stands alone: no noun follows it (ar "2000 و 2001"
        # *ألفان و ألفان و واحد*), the word apart or written on the next number ("و2020"), not on a word ("وحدة");
        # so does one before a word of `case.after`, a preposition or particle and no counted noun (ar
        # "2,000,000 في المدينة" *مليونان في المدينة*, not the construct *مليونا* of "مليونا شخص"), also with a
        # pronoun of `case.pronouns` attached ("2000 منهم" *ألفان منهم*, "عليها", "منا")
        case = t.get("case", {})
        sb = [*self.v.standalone_before, *case.get("after", []), *_with_pronouns(case)]
        self.re_standalone_next = re.compile(rf"[^\S\r\n]*(?:{_alternation(sb)})(?![^\W\d_])") if sb else None
        fmt = t["format"]
        dec = fmt["decimal"] + (f"|{fmt['alt_decimal']}" if fmt.get("alt_decimal") else "")
        # possessive digit runs: what follows a number never starts with a digit, so giving digits back
        # (a backtracking step per digit at every number) can never make a match
        num = rf"(?:{fmt['group']}|\d++)(?:(?:{dec})\d++)?"
        self.long_digits = int(fmt.get("long_digits", 9))
        self._num_parse = re.compile(rf"(?P<i>{fmt['group']}|\d+)(?:(?:{dec})(?P<f>\d+))?")
        self._grouped = re.compile(rf"{fmt['group']}")
        # ".5" / ",5" (no integer digits) is 0.5: written with its zero so that every rule reads it whole
        seps = "".join(
            x.replace("\\", "")
            for x in (fmt["decimal"], fmt.get("alt_decimal"))
            if x and len(x.strip("\\")) == 1
        )
        # (where the separator follows no letter, vowel sign, digit, "_", "." or ","; ta "ரூ.5" is an
        # abbreviation's dot, not 0.5; the separator first, then the look-behind, so that the regex engine
        # skips to the separators)
        sep_class = f"[{re.escape(seps)}]"
        self.re_bare_fraction = (
            re.compile(rf"{sep_class}(?<![\w{_MARKS}.,]{sep_class})(?=\d)") if seps else None
        )
        # the look-ahead lets the regex engine skip positions that cannot start a number quickly
        neg = r"(?=[-\d])(?:(?<![^\s(\[])(?P<neg>-))?"
        rx: Callable[[str], re.Pattern[str]] = re.compile

        # e-mails and URLs
        self.re_email = rx(
            r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w])"
        )
        self.re_url = rx(
            r"(?:https?://|www\.)[^\s]*[^\s.,;:!?)\]\"'>]"
            rf"|(?<![\w@.-])[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.(?:{_URL_TLDS})"
            r"(?:/[^\s]*[^\s.,;:!?)\]\"'>])?(?![\w])"
        )
        # abbreviations
        self.abbr = t.get("abbreviations", {})
        self.abbr_num = t.get("abbreviations_before_number", {})
        self.re_abbr = rx(rf"(?<![\w.])(?:{_alternation(list(self.abbr))}){_WORD_END}") if self.abbr else None
        self.re_abbr_num = (
            rx(rf"(?<![\w.])(?P<k>{_alternation(list(self.abbr_num))})\s?(?=\d)") if self.abbr_num else None
        )
        # their gates: the written forms alone (the regex engine skips to their first letters)
        self.re_abbr_gate = rx(_alternation(list(self.abbr))) if self.abbr else None
        self.re_abbr_num_gate = (
            rx(rf"(?:{_alternation(list(self.abbr_num))})\s?\d") if self.abbr_num else None
        )
        # dates
        d = t["date"]
        self.date = d
        months = t["months"]
        self.month_index = {m.lower(): i + 1 for i, m in enumerate(months)}
        self.month_abbr = {k: int(v) for k, v in t.get("month_abbrevs", {}).items()}
        # (the look-ahead of first letters is case-blind like the names, a superset for the abbreviations)
        first = _first_chars([*months, *self.month_abbr])
        first = f"(?i:{first})" if first else ""
        mon = rf"{first}(?P<mon>(?i:{_alternation(months)})|{_alternation(list(self.month_abbr))}){_WORD_END}\.?"
        sufs = self.ord_suffixes = t.get("ordinal_suffixes", {})
        suf = _alternation(list(sufs))
        conn = _alternation(d.get("connectors", []))
        # a day may also carry a date-only ordinal mark: "1° maggio" (° after a day before a month name)
        day_suf = _alternation(list(sufs) + d.get("day_suffixes", []))
        day = rf"(?P<d>\d{{1,2}})(?P<dsuf>{day_suf})?"
        self.re_date_iso = rx(r"(?<![\d-])(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?![\d-])")
        self.re_date_ymd = rx(
            r"(?<![\d./-])(?P<y>\d{4})(?P<sep>[./])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})(?!\d|(?P=sep)\d)"
        )
        self.re_date_num = rx(
            r"(?<![\d./-])(?P<a>\d{1,2})(?P<sep>[./-])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2})(?!\d|(?P=sep)\d)"
        )
        # de "am 3.5.": day and month without a year, a date only after a word that announces one
        dm_after = d.get("dm_numeric_after", [])
        self.dm_after = {w.lower() for w in dm_after}
        self.re_date_dm_num = rx(r"(?<![\d.])(?P<a>\d{1,2})\.(?P<b>\d{1,2})\.(?![\d.])") if dm_after else None
        dm = rf"{day}\.?\s+(?:(?:{conn})\s+)?{mon}(?:,?\s+(?:(?:{conn})\s+)?(?P<y>\d{{4}})(?!\d))?"
        md_y = r"(?!\d)(?:,?\s+(?P<y>\d{4})(?!\d))?"
        self.day_ranges = bool(d.get("day_range_words"))
        if self.day_ranges:  # where days are ordinals: "3.-5. Mai", "3rd to 5th March", "March 3-5"
            sep = rf"\s*(?P<sep>[-–—]|(?:{_alternation(d['day_range_words'])})(?=\s))\s*"
            d1 = rf"(?P<d1>\d{{1,2}})(?:{day_suf}|\.)?"
            self.re_date_dm = rx(rf"(?=\d)(?:(?<![\d.]){d1}{sep}|(?<!\d)){dm}")
            # after the month only a dash: "March 3 and 4 people" is a date and a count
            md_range = rf"(?:\s*(?P<sep>[-–—])\s*(?P<d2>\d{{1,2}})(?:{suf})?)?"
            self.re_date_md = rx(rf"{mon}\s+{day}{md_range}{md_y}")
        else:
            self.re_date_dm = rx(rf"(?=\d)(?<!\d){dm}")
            self.re_date_md = rx(rf"{mon}\s+{day}{md_y}")
        self.re_date_my = rx(rf"{mon}\s+(?:(?:{conn})\s+)?(?P<y>\d{{4}})(?!\d)")
        # ar "عام 1990م", "1441 هـ": an era mark after a year, written as its word ("1990 ميلادي") for the
        # rules that read the number; see `_year_mark`
        ym = self.year_marks = t.get("year_marks")
        self.re_year_mark = None
        self.year_mark_gate: Callable[[str], Any] | None = None
        if ym:
            self.re_year_mark = rx(
                rf"(?<![\d.,])(?P<n>\d{{1,4}})(?P<sp>[^\S\r\n]?)(?P<mark>{_alternation(list(ym['marks']))}){_WORD_END}"
            )
            self.year_mark_gate = rx(rf"\d[^\S\r\n]?{_first_chars(list(ym['marks']))}").search
            ctx = [*t.get("year_reading", {}).get("context_words", []), *ym.get("context_words", [])]
            self.re_year_mark_ctx = rx(
                rf"(?<!\w)(?:(?P<ctx>{_alternation(ctx)})|{mon}(?:\s+(?:{conn}))?)\s+\Z"
            )
            self.year_mark_feminine = set(ym.get("feminine_after", []))
        # ar "القرن 19" *القرن التاسع عشر*, "في القرن الـ21" *في القرن الحادي و العشرين*: a century after its
        # word is an ordinal, the masculine definite one of `date.day_overrides` (قرن is masculine like يوم),
        # in the genitive after a preposition, a clitic of `oblique_prefixes` on the word or a noun of
        # `construct_after` (the century word is then its second term); see `_century`
        cen = self.century = t.get("century")
        self.re_century = None
        if cen:
            marks = _alternation(list(ym["marks"])) if ym else _NEVER
            self.re_century = rx(
                rf"(?<!\w)(?P<w>(?:{cen.get('prefixes', '')})(?:{_alternation(cen['words'])}))[^\S\r\n]+"
                rf"{_ARTICLE}?(?P<n>\d{{1,2}})(?![\d.,:]|[^\S\r\n]?[-–—][^\S\r\n]?\d)"
                rf"(?:[^\S\r\n]?(?P<mark>{marks}){_WORD_END})?"
            )
            self.re_century_clitic = rx(cen["oblique_prefixes"])
            self.re_century_construct = rx(
                rf"(?<!\w)(?:{cen.get('prefixes', '')})(?:{_alternation(cen['construct_after'])})[^\S\r\n]+\Z"
            )
        # times
        tm = self.time = t["time"]
        ap = tm.get("ampm_patterns", {})
        self.has_ampm = bool(ap)
        ampm = (
            rf"(?:(?P<am>{ap['am']['pattern']})|(?P<pm>{ap['pm']['pattern']})){_WORD_END}" if ap else _NEVER
        )
        # (ar "5:00 م": marks of `after_minutes` stand for am/pm only after h:mm; "5 م" is five metres)
        hm_ap = {k: "|".join(x for x in (v["pattern"], v.get("after_minutes")) if x) for k, v in ap.items()}
        ampm_hm = rf"(?:(?P<am>{hm_ap['am']})|(?P<pm>{hm_ap['pm']})){_WORD_END}" if ap else _NEVER
        tsuf = _alternation(tm.get("suffixes", []))
        sep = r"(?::|h\s?)" if tm.get("h_sep") else ":"
        # time words with a case ending (`time.inflected`, ta "மணிக்கு", te "గంటలకు"): the case goes to the
        # last word of the time said ("... நிமிடத்துக்கு"), the written word is not said again
        self.time_cases: dict[str, dict[str, str]] = tm.get("inflected", {})
        tw = _alternation([*tm.get("suffixes", []), *self.time_cases])
        self.re_time = rx(
            rf"(?=\d)(?<![\d:.,])(?P<h>\d{{1,2}}){sep}(?P<m>\d{{2}})(?::(?P<s>\d{{2}}))?(?![\d:])"
            rf"(?:\s?{ampm_hm})?(?:\s?(?P<tw>{tw}){_WORD_END})?"
        )
        # (a time word written after it is said once, as after h:mm: hi "10 am बजे")
        self.re_time_ampm = (
            rx(rf"(?<![\d:.,])(?P<h>\d{{1,2}})\s?{ampm}(?:\s?(?P<tw>{tw}){_WORD_END})?") if ap else None
        )
        self.re_time_ampm_gate = rx(rf"\d\s?{ampm}") if ap else None  # (a part of it, skipping to digits)
        # (a word of `ampm_by_hour` written right before a time with am/pm stands for its mark: not said
        # again, te "రాత్రి 10:08 పి.యం." *రాత్రి పది ...*)
        self.day_part_words = {w.lower() for _, w in tm.get("ampm_by_hour", [])}
        # "14.30 Uhr", "2.30 pm", "1 Uhr": a "." between hour and minutes, or an hour alone, is a time
        # only where a time word or am/pm follows (elsewhere "14.30" is a number)
        # (`hour_suffixes`, default `suffixes`: the time words that make an hour alone a time; es "5 h" is
        # a duration, "14:30 h" a time)
        self.time_suffixes = tuple(tm.get("suffixes", []))
        hour_suffixes = tm.get("hour_suffixes", tm.get("suffixes", []))
        hsuf = _alternation(hour_suffixes)
        self.hour_words_gate = tuple({v for w in hour_suffixes for v in (w, w.lower(), w.capitalize())})
        # the gate: a dot between digits before am/pm or a time word (the regex starts with a literal ".")
        self.re_time_dot_gate = (
            rx(rf"\.(?<=\d\.)\d\d\s?(?i:{ampm}|{tsuf})") if ap or self.time_suffixes else None
        )
        self.re_time_marked = (
            rx(
                rf"(?=\d)(?<![\d:.,])(?P<h>\d{{1,2}})(?:\.(?P<m>\d{{2}})(?![\d.,])\s?(?:{ampm}|(?P<tw2>{tsuf}){_WORD_END})"
                rf"|(?![\d.,])\s?(?:{hsuf}){_WORD_END})"
            )
            if ap or self.time_suffixes
            else None
        )
        self.re_time_h = rx(r"(?<![\d:.,])(?P<h>\d{1,2})\s?h(?!\w)") if tm.get("h_sep") else None
        # ar "الساعة 8" *الساعة الثامنة*, "من الساعة 9-11": an hour alone (or a dash and a second one) right
        # after a word of `hour_after` (with a clitic of `hour_after_prefixes`) is a clock hour
        ha = self.hour_after = tm.get("hour_after", [])
        self.re_time_after = (
            rx(
                rf"(?<!\w)(?P<w>(?:{tm.get('hour_after_prefixes', '')})(?:{_alternation(ha)}))[^\S\r\n]+"
                r"(?P<h>\d{1,2})(?:[^\S\r\n]?[-–—][^\S\r\n]?(?P<h2>\d{1,2}))?(?![\d:]|[.,]\d)"
            )
            if ha
            else None
        )
        # a duration or race time "4:41.30", "1:02:03.5", hi "4: 41.30" (m:ss or h:mm:ss with a decimal
        # part after the seconds, which no clock time has, or before a minute or hour word: "2:11 minutes"):
        # read with the table's `duration` units, the word said once
        self.duration = t.get("duration")
        # (`duration_after`: the unit, "h" or "m", of each lowercased word of `duration.after`)
        self.duration_after: dict[str, str] = {}
        # (`duration_cases`: {lowercased inflected minute or hour word: {part: its unit in that case}})
        self.duration_cases: dict[str, dict[str, str]] = {}
        if self.duration:
            after = self.duration.get("after", {})
            inflected = self.duration.get("inflected", {})
            for k in ("m", "h"):  # a word under both is an hour word
                self.duration_after.update((w.lower(), k) for w in [*after.get(k, []), *inflected.get(k, {})])
                self.duration_cases.update((w.lower(), cases) for w, cases in inflected.get(k, {}).items())
            dur_words = [w for k in ("h", "m") for w in [*after.get(k, []), *inflected.get(k, {})]]
            self.re_duration = rx(
                r"(?=\d)(?<![\d:.,])(?:(?P<h>\d{1,2}): ?)?(?P<m>\d{1,2}): ?(?P<s>\d{2})(?:[.,](?P<f>\d{1,3}))?(?![\d:]|[.,]\d)"
                rf"(?:[^\S\r\n]?(?P<uw>(?i:{_alternation(dur_words)})){_WORD_END})?"
            )
        else:
            self.re_duration = None
        # a range of times ("9am-5pm", "10:30-11:45"): each side is read by the rules above
        one = "|".join(
            re.sub(r"\(\?P<\w+>", "(?:", r.pattern)
            for r in (self.re_time, self.re_time_ampm, self.re_time_h)
            if r is not None
        )
        # a dash, or a range mark of the table (ja "10:00〜11:00", "100〜250 m", "10〜20%")
        self.range_marks = t.get("range_marks", [])
        # "between 10-20" *between ten and twenty*: after a word of `range_between.words` (and an article of its
        # `articles`: fr "entre le 3-5 mai") a dash is said as its conjunction, not as `range` (*between ten to
        # twenty*)
        rb = t.get("range_between")
        self.re_range_between = (
            re.compile(
                rf"(?<!\w)(?:{rb.get('prefixes', '')})(?i:{_alternation(rb['words'])})[^\S\r\n]+"
                + (
                    rf"(?:(?i:{_alternation(rb['articles'])})(?:[^\S\r\n]+|(?<=')))?"
                    if rb.get("articles")
                    else ""
                )
                + r"[^\w\s]?$"
            )
            if rb
            else None
        )
        self.range_between_and = rb["and"] if rb else None
        dash = f"[-–—{''.join(re.escape(c) for c in self.range_marks)}]"
        self.re_time_range = rx(rf"(?=\d)(?P<a>{one})\s?{dash}\s?(?P<b>{one})")
        # a bare hour, a dash and a time with a time word or am/pm ("10-12 Uhr", "10-12 pm"): the range's
        # first side shares the second's mark (read as an hour, without the word)
        marked = "|".join(
            re.sub(r"\(\?P<\w+>", "(?:", r.pattern)
            for r in (self.re_time_marked, self.re_time_ampm, self.re_time_h)
            if r is not None
        )
        self.re_time_range_bare = (
            rx(rf"(?=\d)(?<![\d:.,\-–—])(?P<a>\d{{1,2}})\s?{dash}\s?(?=\d)(?P<b>{marked})")
            if marked
            else None
        )
        # money, percent, measures
        self.currencies = t["currencies"]
        syms = {k: v for k, v in common["currency_symbols"].items() if v in self.currencies}
        words = {k: v for k, v in common["currency_words"].items() if v in self.currencies}
        self.cur_code = {**syms, **words}
        cur = (
            rf"{_first_chars(list(self.cur_code))}"
            rf"(?P<cur>{_alternation(list(syms))}|(?<![^\W\d])(?:{_alternation(list(words))})(?![^\W\d]))"
        )
        # "$5 million", "$2.5bn": a scale word after the amount is read before the currency; the nouns of
        # `scale_nouns` are such words too (de "€ 2,5 Mio." *zwei komma fünf Millionen Euro*)
        self.scale_nouns = set(t.get("scale_nouns", {}))
        self.money_scales = {**t.get("scale_nouns", {}), **t.get("money_scales", {})}
        # es "€2,5 millones" *dos coma cinco millones de euros*: the word said between the scale and the
        # currency (fr elided before a vowel: *d'euros*), none after the thousand word (pt "R$5 mil")
        self.money_scale_link = t.get("money_scale_link")
        # (fr also elided before a mute h: *un million d'heures*)
        link_el = (self.money_scale_link or {}).get("elided_before")
        self.re_link_elided = re.compile(link_el, re.IGNORECASE) if link_el else _RE_VOWEL_START
        # fr "3 000 000 habitants" *trois millions d'habitants*: a lowercase word with a plural ending
        # (`plural.ending`, a regex) that is none of `plural.except` (function words, adverbs, verb forms)
        # is taken for the noun (or adjective) the number counts
        plural = (self.money_scale_link or {}).get("plural")
        self.re_link_plural = re.compile(f"(?:{plural['ending']})$") if plural else None
        self.link_plural_except = {w.lower() for w in plural.get("except", [])} if plural else set()
        # fr "3 000 000 Paris": a capitalised word with one of the endings of `plural.capitalised_not` (a
        # regex) is taken for a name (fr -is but not -ais/-ois, -as, -us but not -ous, -os, -x; es/pt an
        # accented vowel and -s: "París", "Tomás")
        name = (plural or {}).get("capitalised_not")
        self.re_link_plural_name = re.compile(f"(?:{name})$") if name else None
        # pt/fr "R$ 1,5 mi" *um vírgula cinco milhão*: a decimal takes the scale's form of its integer part
        self.money_scale_integer_form = bool(t.get("money_scale_integer_form"))
        # (a scale written in CJK needs no word boundary after it: ja "¥300億の")
        cjk_scales = [k for k in self.money_scales if re.match(f"[{_CJK}]", k[-1])]
        word_scales = [k for k in self.money_scales if k not in cjk_scales]
        # mr "₹5 लाखांचा": a scale word with a case ending (`money_scale_cases`), its case said on the currency
        msc = self.money_scale_cases = t.get("money_scale_cases")
        cased = (
            rf"|(?P<cstem>{_alternation(list(msc['stems']))})(?P<cend>{_alternation(list(msc['endings']))}){_WORD_END}"
            if msc
            else ""
        )
        scale = (
            rf"(?:\s?(?P<scale>(?:{_alternation(word_scales)}){_WORD_END}|{_alternation(cjk_scales)}{cased}))?"
            if self.money_scales
            else ""
        )
        cur_any = re.sub(r"\(\?P<\w+>", "(?:", cur)
        # "$5-10", "$5-$10": a range of amounts after one currency sign
        lo = rf"(?:(?P<lo>{num})\s?{dash}\s?(?:{cur_any})?\s?(?=\d))?"
        # "€2,5 millones de euros", "$5 million dollars": the currency named again after the amount (its
        # major forms in the table, after the link word of `money_scale_link` or none), said once
        self.cur_names: dict[str, str] = {}
        for c, names in self.currencies.items():
            for form in [names["major"]] if isinstance(names["major"], str) else names["major"]:
                self.cur_names.setdefault(form.lower(), c)
        # "$5 million USD": or its code, written in capitals
        self.cur_named_codes = {k: c for k, c in words.items() if re.fullmatch("[A-Z]{3}", k)}
        link = self.money_scale_link
        # (fr "d'" also written with a typographic apostrophe)
        elided = [link["elided"], link["elided"].replace("'", "’")] if link and "elided" in link else []
        link_words = (
            rf"(?i:{re.escape(link['word'])})[^\S\r\n]+" + (f"|{_alternation(elided)}" if elided else "")
            if link
            else ""
        )
        named = rf"(?:[^\S\r\n]+(?:{link_words})?(?P<named>(?i:{_alternation(list(self.cur_names))})|{_alternation(list(self.cur_named_codes))}){_WORD_END})?"
        self.re_money_pre = rx(
            rf"{_first_chars(['-', *self.cur_code])}(?:(?<![^\s(\[])(?P<neg>-))?{cur}\s?(?P<neg2>-(?=\d))?{lo}(?P<num>{num})(?!\d){scale}{named}"
        )
        # "5-10 €", "5-10 %", "10-20 km": a range before a quantity is read with it ("five to ten euros")
        # (the first number is parsed once: "(?P<num>..)" then an optional "-(?P<hi>..)"); before a unit or
        # currency, a range word of the table's `range_words` may stand for the dash ("1 bis 2 km")
        self.range_words = t.get("range_words", [])
        # (`range_words_joined`: those also written on the second number, ar "4 و5")
        joined = t.get("range_words_joined", [])
        self.re_range_word = (
            rf"(?:(?i:{_alternation(self.range_words)})(?=[^\S\r\n])|(?:{_alternation(joined)})(?=\d))"
        )
        rw = rf"[^\S\r\n]+(?P<rw>{self.re_range_word})[^\S\r\n]*" if self.range_words else None
        to_hi = rf"(?:\s?{dash}\s?(?P<hi>{num}))?"
        to_hi_w = rf"(?:(?:\s?{dash}\s?|{rw})(?P<hi>{num}))?" if rw else to_hi
        # "5 milliards €", "3 M€": a scale word between the amount and the currency, read as "€5 billion"
        scale_post = rf"(?:\s?(?P<scale>{_alternation(word_scales)}){_WORD_END})?" if word_scales else ""
        self.re_money_post = rx(rf"{neg}(?<!\d)(?P<num>{num}){to_hi_w}{scale_post}\s?{cur}")
        # mr "5 किमीवर", "50%ने": a case ending written on a unit or "%" (`unit_cases`), said on the unit's
        # form before it (*पाच किलोमीटरवर*, *पन्नास टक्क्यांनी*)
        uc = self.unit_cases = t.get("unit_cases")
        self.unit_case_endings: list[str] = list(uc["endings"]) if uc else []
        # (ta/te: `endings` maps each spelling to the ending said, "kmஇல்", "கிமீயில்" both "இல்")
        ends = uc["endings"] if uc else []
        self.unit_case_said: dict[str, str] = ends if isinstance(ends, dict) else {e: e for e in ends}
        uend = rf"(?:(?P<uend>{_alternation(uc['endings'])})(?![\w{_MARKS}]))?" if uc else ""
        self.re_percent = rx(rf"{neg}(?<!\d)(?P<num>{num}){to_hi}\s?%{uend}")
        # nouns of large numbers ("1 millón", "1 Million", "1,5 Mio."): the number agrees with them like a unit
        self.units = {**t["units"], **t.get("scale_nouns", {})}
        # (a language's own spellings of a unit too: mr "किमी/तास", hi "किमी/घंटा" are its "km/h")
        aliases = {
            k: v
            for k, v in {**common["unit_aliases"], **t.get("unit_aliases", {})}.items()
            if v in self.units
        }
        self.unit_key = {**{k: k for k in self.units}, **aliases}
        derived = self._derive_unit_powers(t, common)
        # "5ft3" may be 5 ft 3 in: these bases take a plain exponent only after a space ("5 ft3")
        self.spaced_powers = {f"{b}{e}" for b in common.get("unit_power_ascii_spaced", []) for e in "23"}
        self.units.update(derived)
        self.unit_key.update({k: k for k in derived})
        # mr "1 किलोमीटरमध्ये" *एका किलोमीटरमध्ये*: the words a unit (or "%") written in full with a case ending
        # is said as (`_unit_case`); a whole number right before one takes the form of `unit_cases.numbers`
        self.unit_case_words: set[str] = set()
        if uc and uc.get("numbers"):
            for k in [*self.units, "%"]:
                for e in set(self.unit_case_said.values()):
                    cased = self._unit_case(k, e)
                    self.unit_case_words.update([cased] if isinstance(cased, str) else cased or [])
        # a unit written as a short word is none before what its table's `unit_not_before` says (common.json
        # "t" before "-" or an apostrophe: "5 t-shirts"; es/it "ha" before a word: the verb of "1960 ha ottenuto")
        units = _alternation(
            list(self.unit_key), {**common.get("unit_not_before", {}), **t.get("unit_not_before", {})}
        )
        # a unit ends before no letter, "/" or exponent; Japanese runs on without a space ("5kmの距離")
        unit_end = rf"(?![/²³^{_MARKS}]|(?![{_CJK}])\w)"
        # "3 millions km" *trois millions de kilomètres*, "5 million km": a scale word of `money_scales` (two
        # letters or more) written between the number and the unit, said as before a currency (see `_unit`);
        # the unit not before an apostrophe or a dash there ("2 millions l'an")
        uscales = _alternation([k for k in word_scales if len(k) > 1]) if word_scales else None
        uscale = rf"(?:[^\S\r\n]+(?P<uscale>{uscales}){_WORD_END})?" if uscales else ""
        uscale_end = r"(?(uscale)(?![-'’]))" if uscales else ""
        # fr "3 millions de km" *trois millions de kilomètres*, it "3 milioni di km": the `money_scale_link`
        # word written after the scale word or a number in digits (said again by `_unit`, fr "d'" elided or
        # not as the unit's noun asks), the unit not before an apostrophe or a dash ("de l'eau") and none of
        # `money_scale_link.not_units` (es "de mi casa")
        msl = self.money_scale_link or {}
        written_links = [w for w in (msl.get("word"), msl.get("elided")) if w]
        links = [rf"{re.escape(w)}[^\S\r\n]+" for w in written_links if not w.endswith("'")]
        links += [rf"{re.escape(w[:-1])}['’]" for w in written_links if w.endswith("'")]
        not_units = rf"(?!(?:{_alternation(msl['not_units'])})(?!\w))" if msl.get("not_units") else ""
        ulink = rf"(?:[^\S\r\n]+(?P<ulink>{'|'.join(links)}){not_units})?" if links else ""
        ulink_end = r"(?(ulink)(?![-'’]))" if links else ""
        self.re_unit = rx(
            rf"{neg}(?<!\d)(?P<num>{num}){to_hi_w}{uscale}{ulink}\s?{_first_chars(list(self.unit_key))}(?P<unit>{units}){uend}{unit_end}{uscale_end}{ulink_end}"
        )
        # its gate: a unit right after a digit (a number ends with one), its scale word or its link word, the
        # regex engine skipping to digits
        gate_scale = rf"(?:[^\S\r\n]+(?:{uscales}))?" if uscales else ""
        gate_link = rf"(?:[^\S\r\n]+(?:{'|'.join(links)}))?" if links else ""
        self.re_unit_gate = rx(rf"\d{gate_scale}{gate_link}\s?{_first_chars(list(self.unit_key))}(?:{units})")
        # powers after the unit rule has read "5 m²": a superscript exponent after a number, a closing
        # parenthesis or a letter run ("2³", "(a+b)²", "x²"; a bare unit, "pro m²", is the unit's name, and
        # after a longer word it is a footnote mark, dropped), or "^" and digits after a letter or number
        self.powers = t.get("powers")
        self.re_power = (
            rx(
                # (superscripts are \w: "x³y²" has two bases)
                rf"(?:(?<=\d)|(?<=\))|(?<![^\W_{_SUPERSCRIPTS}])(?P<l>[^\W\d_{_SUPERSCRIPTS}]{{1,3}}))"
                rf"(?:(?P<sneg>⁻)?(?P<sup>[{_SUPERSCRIPTS}]+)|\^(?P<neg>-)?(?P<e>\d{{1,3}})(?!\d|[.,]\d))"
            )
            if self.powers
            else None
        )
        # phone numbers and long digit strings
        self.re_phone = rx(
            r"(?=[+(\d])(?<![A-Za-z0-9.,-])"
            # after "+" and a country code, a subscriber number of up to 10 digits ("+91-9876543210")
            r"(?:(?P<plus2>\+\s?)\d{1,4}(?:[\s.-]\d{1,10}){1,6}"
            r"|(?P<plus>\+\s?)?(?:\(\d{1,5}\)[\s.-]?)?\d{1,5}(?:[\s.-]\d{1,5}){1,6}"
            r"|0\d{1,4}\s\d{5,8})"  # area code with its trunk 0, then a subscriber number of 5-8 digits
            r"(?![A-Za-z0-9]|[.,-]\d)"
        )
        self.phone_pairs = bool(t.get("phone_pairs"))
        # version numbers "3.2.1" (three or more dotted parts, too few digits for a phone number; the phone
        # rule finds them, a regex of their own would cost a scan of every text with a ".")
        self.version_dot = t.get("version_dot") or t["url"]["dot"]
        # ordinals, decades, fractions, ranges, numbers
        # (a grouped number too: "1,000th", te "1,000వ")
        self.re_ordinal = rx(rf"(?<!\d)(?P<n>{fmt['group']}|\d+)(?P<suf>{suf}){_WORD_END}") if sufs else None
        # "N." after a determiner or a contracted preposition is an ordinal: "die 2. Auflage", "im 3. Jahr"
        # (dates such as "am 3. Mai" are read earlier; elsewhere "N." stays a number before a full stop)
        self.dot_ordinals = {k.lower(): v for k, v in t.get("dot_ordinals", {}).items()}
        words = _alternation(list(self.dot_ordinals))
        self.re_dot_ordinal = (
            rx(rf"(?<![\w.])(?P<w>(?i:{words}))\s+(?P<n>\d{{1,4}})\.(?![\d.–—-])")
            if self.dot_ordinals
            else None
        )
        # "N°" after an article is an ordinal where "°" also writes "º" (it "al 2° piano", es "el 3° lugar");
        # elsewhere it stays a degree ("30°")
        self.degree_ordinals = {k.lower(): v for k, v in t.get("degree_ordinals", {}).items()}
        self.re_degree_ordinal = (
            rx(
                rf"(?<![\w.])(?P<w>(?i:{_alternation(list(self.degree_ordinals))}))\s+(?P<n>\d{{1,4}})°"
                r"(?!\s?[CF](?!\w)|\w)"
            )
            if self.degree_ordinals
            else None
        )
        self.decades = t.get("decades")
        self.decade_suffixes = tuple(self.decades.get("suffixes", ["s"])) if self.decades else ()
        self.re_decade = (
            rx(
                rf"(?<![\d'])'?(?P<n>\d{{1,3}}0)(?P<suf>{_alternation(list(self.decade_suffixes))}){_WORD_END}"
            )
            if self.decades
            else None
        )
        self.fraction = t["fraction"]
        # fractions run before the unit rule (which would read "2 km" of "1/2 km" alone): "3/4", a fraction of
        # a unit ("3/4 mi"), and a whole number with a fraction ("3 1/2", "3½") where the table says how they
        # are joined
        self.mixed = self.fraction.get("mixed")
        # `fraction.spoken`: a half, a quarter and three quarters after a whole number said with words of
        # their own (hi "ढाई", "साढ़े तीन", "सवा", "पौने दो"; ta "இரண்டரை"): for a mixed number ("3 1/2",
        # "3½"), and for a decimal ("2.5") before a scale word (`money_scales` and `scales`) or, for a half
        # only, before a word of `half_before` or a unit of `half_units`
        sp = self.spoken_fractions = self.fraction.get("spoken")
        self.spoken_scales = _word_list([*self.money_scales, *sp.get("scales", [])] if sp else [])
        self.spoken_half_before = _word_list(sp.get("half_before", []) if sp else [])
        self.spoken_half_units = set(sp.get("half_units", [])) if sp else set()
        # (0.5 alone only, "आधा किलोमीटर", before the words and units of `zero.half_before`, `zero.half_units`)
        zero = sp.get("zero", {}) if sp else {}
        self.spoken_zero_half_before = _word_list(zero.get("half_before", []))
        self.spoken_zero_half_units = set(zero.get("half_units", []))
        whole = r"(?:(?<![\d/.,])(?P<w>\d{1,4})\s)?" if self.mixed or sp else ""
        self.re_fraction = rx(
            rf"{whole}(?<![\d/])(?P<n>\d+)\s?/\s?(?P<d>\d+)(?![\d/])(?:\s*(?P<unit>{units}){unit_end})?"
        )
        # the word after a plain number or range, where the table lists counted nouns: a look-ahead group
        # "w" that `_counted` looks up ("2 horas", "2 mil pessoas"), no second regex call per number
        na = t.get("noun_agreement", {})
        skip = rf"(?i:{_alternation(na['nouns_skip'])})[^\S\r\n]+" if na.get("nouns_skip") else ""
        noun = rf"(?:(?=[^\S\r\n]+(?:{skip})?(?P<w>[^\W\d_]+)(?!\w)))?" if na.get("nouns") else ""
        # a range word ("1 bis 2 Stunden") makes a range only before a counted noun (see `_range`)
        rw_sep = f"|{rw}" if rw and noun else ""
        self.re_range = rx(
            rf"(?=\d)(?<![\d.,-])(?P<a>{num})(?:-|\s?[–—]\s?{rw_sep})(?P<b>{num})(?!\d|-\d){noun}"
        )
        self.re_number = rx(rf"{neg}(?<!\d)(?P<num>{num})(?!\d){noun}")
        # ta "30 ஆயிரம்" *முப்பதாயிரம்*: a whole number (or a range of two) before a scale word written apart
        # that the number engine joins to its multiplier (`numbers.indic.scales` with `rules`)
        self.scale_stems = self.v.scale_stems() if self.v.engine == "indic" else []
        self.re_scale_apart = (
            rx(
                rf"(?=\d)(?<![\w.,-])(?:(?P<a>\d{{1,3}})\s?[-–—]\s?(?=\d))?(?P<num>\d{{1,3}})[^\S\r\n]+"
                rf"(?P<w>(?:{_alternation(self.scale_stems)})[^\s\d.,;:!?()\[\]\"'/–—-]*)"
            )
            if self.scale_stems
            else None
        )
        # ja "10〜20", "1990年〜1995年": a wave dash between a number (or its counter) and a number
        marks = t.get("range_marks", [])
        self.re_range_mark = rx(rf"(?<=\w)\s?(?:{_alternation(marks)})\s?(?=\d)") if marks else None
        yr = t.get("year_reading", {})
        self.year_always = yr.get("always", [0, -1])
        self.year_context = yr.get("context", [0, -1])
        ctx = _alternation(yr.get("context_words", []))
        self.re_year_ctx = rx(rf"(?i:\b(?:{ctx}))\s+$")
        # symbols and clean-up
        self.symbols = t["symbols"]
        self.re_symbols = rx(f"[{''.join(re.escape(s) for s in self.symbols)}]") if self.symbols else None
        self.sym_digit = t.get("symbols_before_digit", {})
        self.re_sym_digit = (
            rx(f"(?P<s>[{''.join(re.escape(s) for s in self.sym_digit)}])\\s?(?=\\d)")
            if self.sym_digit
            else None
        )
        self.url = t["url"]
        txt = t["text"]
        self.prep = _PrepTable(_prepare_table())
        for k, v in txt.get("char_map", {}).items():
            self.prep[ord(k)] = v
        # (a text with none of the characters it folds is left as it is: most texts)
        self.re_prep = rx(_char_class(list(self.prep)))
        self.keep_apostrophe = bool(txt.get("apostrophes"))
        # te "వి౦టు౦డడ౦": a native digit written inside a word for the letter it looks like (the zero ౦
        # for the anusvara ం) is that letter, not a number
        self.letter_digits = txt.get("letter_digits", {})
        self.re_letter_digit = rx(f"(?<=\\S)[{''.join(self.letter_digits)}]") if self.letter_digits else None
        self.clean = _CleanTable(self.v.digit_words, self.keep_apostrophe)
        for c in txt.get("keep", []):  # ja "〇" (a number letter) of "二〇二四年": written as it is
            self.clean[ord(c)] = c
        # Roman numerals where they are conventional: a century after or before its word (es "siglo XXI",
        # it "XXI secolo") and, where the table allows, with an ordinal suffix (fr "XXIe siècle", "Ier")
        rom = t.get("roman", {})
        self.roman_ctx = {k.lower(): v for k, v in {**rom.get("after", {}), **rom.get("before", {})}.items()}
        self.roman_gate = tuple({v for w in self.roman_ctx for v in (w, w.capitalize(), w.upper())})
        after, before = _alternation(list(rom.get("after", {}))), _alternation(list(rom.get("before", {})))
        self.re_roman_ctx = (
            rx(
                rf"(?<![\w.])(?P<w>(?i:{after}))\s+(?P<r>[IVXLC]+)(?!\w)"
                rf"|(?<!\w)(?P<r2>[IVXLC]+)\s+(?P<w2>(?i:{before}))(?!\w)"
            )
            if self.roman_ctx
            else None
        )
        self.re_roman_suf = (
            rx(rf"(?P<r>[IVX]+)(?P<suf>{_alternation(rom['suffixes'])})(?!\w)")
            if rom.get("suffixes")
            else None
        )
        # (the space first: the regex engine skips to the spaces, then looks behind it)
        self.re_cjk_space = rx(f" (?<=[{_CJK}] )(?=[{_CJK}])") if txt.get("join_cjk") else None
        self.plural = t["plural"]
        self.measure = t["measure"]
        self.feminine = set(na.get("feminine", []))
        self.neuter = set(na.get("neuter", []))
        # a square or cubic unit has its base unit's gender ("eine Quadratmeile", "una milla cuadrada")
        for k in derived:
            base = k.rstrip("23²³^")
            for genders in (self.feminine, self.neuter):
                if base in genders:
                    genders.add(k)
        # a neuter ("n", de) agrees like a masculine wherever the table gives it no rules of its own
        self.agreement = {"m": na.get("m", []), "f": na.get("f", [])}
        self.agreement["n"] = na.get("n", self.agreement["m"])
        self.agreement_apart = {g: na.get(f"{g}_apart", self.agreement[g]) for g in ("m", "f")}
        self.agreement_apart["n"] = na.get(
            "n_apart", self.agreement["n"] if "n" in na else self.agreement_apart["m"]
        )
        self.re_agree_scale = rx(na["scale"]) if na.get("scale") else None
        # fr "1 million euros" *un million d'euros*, es "2 millones personas": a noun of a large number written
        # after a number, before what `_links_to` takes for the noun it counts, takes the `money_scale_link`
        # word like the digits "1 000 000 euros" (see `_scale_word_link`)
        ag = self.re_agree_scale
        link_scales = (
            [k for k in word_scales if ag.fullmatch(k.rpartition(" ")[2])]
            if ag and self.money_scale_link
            else []
        )
        self.re_scale_link = (
            rx(
                # (not the second number of a range, "25-3 milioni": read by the range rule)
                r"(?<!\d-)(?<!\d[–—])(?<!\d\s[–—])(?<!\d[–—]\s)(?<!\d\s[–—]\s)"
                rf"{neg}(?<!\d)(?P<num>{num})(?!\d)[^\S\r\n]+(?P<scale>{_alternation(link_scales)}){_WORD_END}"
                r"(?=[^\S\r\n]+(?P<w>[^\W\d_]+)(?!\w))"
            )
            if link_scales
            else None
        )
        self.scale_link_gate = tuple(link_scales)
        # ar "5 مليون" *خمسة ملايين*: with `money_scale_agree`, a scale word of `money_scales` written after a
        # whole number, whose forms hold it, is said in its form for the number (`plural`: ar the plural after
        # 3-10, "103 ألف" *مائة و ثلاثة آلاف*); rewritten in place, before the rules that read the number
        agree_scales = (
            [k for k, v in self.money_scales.items() if isinstance(v, list) and k in v]
            if t.get("money_scale_agree")
            else []
        )
        self.re_scale_agree = (
            rx(rf"(?<!\d)(?P<num>{num})(?!\d)[^\S\r\n]+(?P<scale>{_alternation(agree_scales)}){_WORD_END}")
            if agree_scales
            else None
        )
        self.scale_agree_gate = tuple(agree_scales)
        # ar "2 مليون" *مليونان*, "1 مليون" *مليون*: after 1 or 2 the scale word alone is the number, so the two
        # are rewritten as the scale's value in grouped digits ("2,000,000"), said as those digits are in every
        # context (the dual, its construct and oblique forms, *مليونا دولار*, *في مليونين*); the value is the
        # power of 1000 said as the scale's first form, the separator the first that `format.group` takes. Not
        # the second of two numbers joined by a dash, a range word or one of `number_or` ("1-2 مليون", "1 أو 2
        # مليون": the scale counts both)
        sep = next((c for c in ",. \u00a0\u202f'" if self._grouped.fullmatch(f"1{c}000")), None)
        powers = {self.v.standalone(self.v.cardinal(10**k)): 10**k for k in range(3, 15, 3)}
        firsts = {k: self.money_scales[k][0] for k in agree_scales}
        self.scale_agree_values = {k: powers[w] for k, w in firsts.items() if sep is not None and w in powers}
        self.scale_agree_sep = sep or ","
        pair = [*self.range_words, *t.get("range_words_joined", []), *t.get("number_or", [])]
        pair_word = rf"|(?<![^\W\d_])(?:{_alternation(pair)})" if pair else ""
        self.re_scale_agree_pair = re.compile(
            rf"\d(?:[.,٫]|[^\S\r\n]*(?:[-–—/~]{pair_word})?[^\S\r\n]*)\Z"  # (or its decimal part: "1,2 ألف")
        )
        # ar "1,5 مليون" *واحد فاصلة خمسة مليون*: with `format.decimal_before_scale`, a whole number, that
        # separator and one or two digits right before a word of `money_scales` are a decimal, rewritten with
        # the `decimal` separator before the rules (read as "1.5 مليون" is); three digits are a group ("1,500
        # مليون"), a separator before a space a list ("1, 5 مليون")
        dbs = t["format"].get("decimal_before_scale")
        dec_char = t["format"]["decimal"].replace("\\", "")
        if dbs and (len(dec_char) != 1 or not self.money_scales):
            raise TandemError(
                f"tandem/spoken/languages/{lang}.json: format.decimal_before_scale needs a one-character "
                "format.decimal and words in money_scales; fix the table or drop decimal_before_scale"
            )
        self.re_decimal_before_scale = (
            rx(
                rf"(?<![\d.,٫])(?P<i>\d+){re.escape(dbs)}(?P<f>\d{{1,2}})"
                rf"(?=[^\S\r\n]+(?:{_alternation(list(self.money_scales))}){_WORD_END})"
            )
            if dbs
            else None
        )
        self.decimal_before_scale = (dbs, rf"\g<i>{dec_char}\g<f>")
        # rules for a number said in one word after the last scale word, tried first (ar feminine "واحدة"
        # for 1, but "إحدى" of 21 "إحدى و عشرون")
        self.agreement_single = {g: na.get(f"{g}_single", []) for g in ("m", "f", "n")}
        # counted nouns: a plain whole number right before one agrees with it ("duas horas", "un año")
        self.nouns = {w.lower(): g for g, ws in na.get("nouns", {}).items() for w in ws}
        self.noun_labels = {w.lower() for w in na.get("labels", [])}
        self.agree_after = {k.lower(): v for k, v in na.get("after", {}).items()}
        # transitive verbs: the counted noun right after one is its object (de accusative "habe 1 Hund" ->
        # "habe einen Hund"); a form that may also be 3rd person singular only after a subject pronoun ("er
        # hat 1 Hund", not "Gestern hat 1 Mann ...") or before one ("hat er 1 Hund"); keys of two words
        verbs = na.get("verbs", {})
        before = [
            f"{s} {v}"
            for s in verbs.get("subjects_before", [])
            for v in verbs.get("forms", []) + verbs.get("after_subject", [])
        ]
        after = [
            f"{v} {s}"
            for v in verbs.get("forms", []) + verbs.get("after_subject", [])
            for s in verbs.get("subjects_after", [])
        ]
        # (a one-word form counts only written in lowercase: "Zahlen", "Finden" may be nouns)
        self.verb_forms = {w.lower() for w in verbs.get("forms", [])}
        coord = _alternation(verbs.get("coordinators", []))
        self.re_coordination = rx(rf"[^\S\r\n]*(?:[^\W\d_]+[^\S\r\n]+)?(?i:{coord}){_WORD_END}")
        for k in [*verbs.get("forms", []), *before, *after, *verbs.get("phrases", [])]:
            self.agree_after.setdefault(k.lower(), verbs["case"])
        bw = t.get("numbers_before_word")
        self.before_word = (
            {
                "rules": bw["rules"],
                "not_before": set(bw.get("not_before", [])),
                "labels": set(bw.get("labels", [])),
                "years": bw.get("years", [0, -1]),
            }
            if bw
            else None
        )
        # te "1 గంటలకు" *ఒంటి గంటలకు*: the clock form of an hour before an hour noun (see `_before_word`)
        ch = tm.get("clock_hour")
        self.clock_hour = (
            {
                "words": ch["words"],
                "nouns": set(ch.get("nouns", [])),
                "day_parts": set(ch.get("day_parts", [])),
                "day_part_nouns": set(ch.get("day_part_nouns", [])),
            }
            if ch
            else None
        )
        # the word after a number, to its end (vowel signs are no \w: "புத்தகம்" is one word)
        self.re_word_after = rx(rf"[^\S\r\n]+([{bw['script']}][^\s\d.,;:!?()\[\]\"'/–—-]*)") if bw else None
        elision = na.get("elision")
        self.elision = (rx(elision["before"]), elision["rules"]) if elision else None
        # ar "1 ساعة" -> "ساعة واحدة", "2 ساعة" -> "ساعتان": 1 and 2 said with the noun, not before it
        nf = na.get("noun_first")
        self.noun_first = nf
        self.re_noun_first = (
            rx(
                rf"(?<![\w.,:/\-])(?P<num>[12])[^\S\r\n]+(?P<w>{_alternation(list(nf['duals']))})(?![\w\u064b-\u065f])"
            )
            if nf
            else None
        )
        # ar case: a number right after a preposition (or a particle of its kind), or in construct with a
        # noun ("عام 2000"), is said in the oblique case ("ألفين"); see `_oblique_before`
        cs = t.get("case")
        self.case_rules: list[list[str]] = cs["oblique"] if cs else []
        self.case_noun_rules: list[list[str]] = cs.get("nouns", []) if cs else []
        self.re_oblique = None
        if cs:
            pre = f"(?:{cs['prefixes']})?" if cs.get("prefixes") else ""
            gov = rf"{pre}(?:{_alternation([*cs['after'], *cs.get('verbs', [])])})"
            alts = [gov]
            if cs.get("construct"):
                alts.append(rf"(?:{cs.get('construct_prefixes', '')})(?:{_alternation(cs['construct'])})")
            if cs.get("apposition"):
                alts.append(rf"{gov}[^\S\r\n]+(?:{_alternation(cs['apposition'])})")
            att = rf"|(?<!\w)(?:{cs['attached']})" if cs.get("attached") else ""
            bw = cs.get("between")
            if bw:  # "بين 10 و 20": the second number too
                sp = r"[^\S\r\n]"
                ands = _alternation([bw["and"]])
                bpre = f"(?:{bw['prefixes']})" if bw.get("prefixes") else pre  # ar "لعامي 2000 و 2001"
                att += rf"|(?<!\w){bpre}(?:{_alternation(bw['words'])}){sp}+\d[\d.,]*{sp}+(?:{ands}){sp}*"
            self.re_oblique = rx(rf"(?:(?<!\w)(?:{'|'.join(alts)})[^\S\r\n]+{att})\Z")
        # ar "بـ 27", "ل15", "ال78", "بالـ5": a one-letter preposition or the article written on the digits
        # (or apart, with a tatweel) is joined to the first number word said ("بسبعة و عشرين"), the article
        # put on each part of the number ("الثمانية و السبعين"); marked before the digits by _JOIN (joined to
        # the next word at the end) or _ARTICLE (said "ال" on the next word)
        # ar "بالاسوبرامانيان -29 عاماً-": dashes written as brackets around a number and its words, no minus
        self.re_paired_dash = (
            rx(r"(?<![^\s(\[])-(?=\d[^\n-]{0,40}?[^\W\d_][^\s\d-]*-(?![\w-]))")
            if t.get("text", {}).get("paired_dashes")
            else None
        )
        self.re_clitic_digits = (
            rx(r"(?<!\w)(?P<c>[وف]?[بلك]?)(?P<al>ال|(?<=ل)ل)?[^\S\r\n]?(?=\d)")
            if cs and cs.get("join_attached")
            else None
        )
        self._build_digit_rules()

    def _derive_unit_powers(self, t: dict[str, Any], common: dict[str, Any]) -> dict[str, Forms]:
        """Square and cubic units made from the table's `unit_powers` ("km³" -> "cubic kilometers"): each
        base unit's forms through the template of its exponent (form by form where the template is a list;
        `2f`/`3f` for a feminine base), written with "²"/"³", "^2"/"^3" and, for the bases of common.json's
        `unit_power_ascii`, "2"/"3" ("cm3"; after a space only for `unit_power_ascii_spaced`: "5 ft3"). A unit the table or an alias already gives keeps its forms."""
        pw = t.get("unit_powers")
        if not pw:
            return {}
        feminine = set((t.get("noun_agreement") or {}).get("feminine", []))
        ascii_bases = set(common.get("unit_power_ascii", []))
        out: dict[str, Forms] = {}
        for base in pw["units"]:
            forms = self.units[base]
            for e, sup in (("2", "²"), ("3", "³")):
                written = [base + sup, f"{base}^{e}"] + ([base + e] if base in ascii_bases else [])
                known = next((self.unit_key[w] for w in written if w in self.unit_key), None)
                if known is not None:  # "m2" of the table: its forms ("घनमीटर")
                    made = self.units[known]
                else:
                    tpl = pw.get(f"{e}f") if base in feminine and pw.get(f"{e}f") else pw[e]
                    made = _power_forms(forms, tpl)
                out.update((w, made) for w in written if w not in self.unit_key)
        return out

    # -- helpers ---------------------------------------------------------------------------------
    def form(self, forms: Forms, n: int | None) -> str:
        """The form of a word after the amount `n` (None: a non-integer amount), by the plural rules."""
        if isinstance(forms, str):
            return forms
        p = self.plural
        idx = p.get("fraction", p.get("default", 0)) if n is None else None
        if idx is None:
            idx = p.get("default", 0)
            for rule in p.get("rules", []):
                value = n % rule[3] if len(rule) > 3 else n
                if rule[0] <= value <= rule[1]:
                    idx = rule[2]
                    break
        return forms[min(idx, len(forms) - 1)]

    def agree(self, words: str, key: str | None, before_noun: bool = True, prev: str | None = None) -> str:
        """Number words as said before the noun of unit or currency `key`: its gender's forms ("veintiún
        kilómetros", "doscientas libras", "eine Minute"), from the words after the last million-like scale
        word on ("dos millones" stays). `prev`: the word right before the number (see `agree_gender`)."""
        gender = "f" if key in self.feminine else "n" if key in self.neuter else "m"
        return self.agree_gender(words, gender, before_noun, prev)

    def agree_gender(self, words: str, gender: str, before_noun: bool = True, prev: str | None = None) -> str:
        """Number words as said before a noun of `gender` ("m", "f" or "n"); a preposition `prev` right
        before the number may ask for other forms (`noun_agreement.after`: de dative "vor einem Jahr",
        accusative "für einen Tag"; a neuter takes the masculine's forms where none are given)."""
        # not right before the noun (the first number of "1-2 km") a language may keep a form: es "uno a dos"
        rules = self.agreement[gender] if before_noun else self.agreement_apart[gender]
        if before_noun and prev is not None and self.agree_after:
            after = self.agree_after.get(prev.lower(), {})
            rules = after.get(gender, after.get("m", rules) if gender == "n" else rules)
        if not rules:
            return words
        parts = words.split()
        start = 0
        if self.re_agree_scale is not None:
            for j, w in enumerate(parts):
                if self.re_agree_scale.fullmatch(w):
                    start = j + 1
        if len(parts) == start + 1 and self.agreement_single[gender]:
            single = apply_rules(parts[start], self.agreement_single[gender])
            if single != parts[start]:
                return " ".join(parts[:start] + [single])
        return " ".join(parts[:start] + [apply_rules(w, rules) for w in parts[start:]])

    def amount(
        self,
        words: str,
        forms: Forms,
        n: int | None,
        key: str | None = None,
        prev: str | None = None,
        gender: str | None = None,
        oblique: bool = False,
    ) -> str:
        """ "<number words> <unit>" by the language's measure template (order, spacing, n-specific forms);
        whole amounts agree with the unit or currency `key` (see `agree`; `prev`: the word before), or
        with a noun of `gender` where given; `oblique`: the number words, and the unit's form for 2 (ar:
        its dual), in the oblique case (`case`)."""
        if n is not None:
            words = (
                self.agree_gender(words, gender, prev=prev) if gender else self.agree(words, key, prev=prev)
            )
        if oblique and self.case_rules:
            words = self.oblique(words)
        tpl = (
            self.measure.get("by_n", {}).get(str(n), self.measure["template"])
            if n is not None
            else self.measure["template"]
        )
        unit = self.form(forms, n)
        if oblique and n == 2 and not isinstance(forms, str):
            unit = self.oblique_noun(unit)
        if n is not None and tpl == "{n} {unit}":  # it "1 h" -> "un'ora", like a counted noun
            words = self.elide(words, unit)
        return tpl.format(n=words, unit=unit)

    def elide(self, words: str, noun: str) -> str:
        """Number words with their last word elided by `noun_agreement.elision` where `noun` starts as
        it says, marked to be joined to the noun ("una", "ora" -> "un'" + mark); else `words`."""
        if self.elision is None or not self.elision[0].match(noun):
            return words
        head, _, last = words.rpartition(" ")
        elided = apply_rules(last, self.elision[1])
        return words if elided == last else f"{head} {elided}\ue000".lstrip()

    def parse(self, s: str) -> tuple[str, str | None, bool]:
        """A matched number -> (integer digits, fraction digits or None, had group separators)."""
        m = self._num_parse.fullmatch(s)
        if m is None:  # cannot happen for strings the rules matched; read digits rather than fail
            return _RE_NON_DIGIT.sub("", s) or "0", None, False
        i = m.group("i")
        digits = _RE_NON_DIGIT.sub("", i)
        return digits, m.group("f"), digits != i

    def read_number(
        self,
        s: str,
        negative: bool = False,
        before: str = "",
        gender: str | None = None,
        before_noun: bool = True,
        prev: str | None = None,
    ) -> str:
        """A plain number as words: digit strings with a leading zero or many digits digit by digit,
        four-digit years as years, the rest as cardinals/decimals. `gender`: the number counts a noun
        of that gender after it ("2 horas"): it is no year, and a whole number agrees with the noun
        (`agree_gender` with `before_noun` and `prev`); decimals and digit strings stay as they are."""
        i, f, grouped = self.parse(s)
        if self._digit_string(i, f, grouped, negative):
            return self.v.digits(i)
        if f is None and not grouped and not negative:
            if len(i) == 4 and gender is None and self.is_year(int(i), before):
                return self.v.year(int(i))
        if self._absurdly_long(i):
            words = self.v.digits(i) + (f" {self.v.point} {self.v.digits(f)}" if f else "")
            return f"{self.v.minus} {words}" if negative else words
        if gender is not None and f is None:
            words = self.agree_gender(self.v.cardinal(int(i)), gender, before_noun, prev)
            return f"{self.v.minus} {words}" if negative else words
        return self.v.number(i, f, negative)

    @staticmethod
    def _prev_word(m: re.Match[str]) -> str | None:
        """The word right before a match, with a "." right after it ("Nr." of "Nr. 1"), or None."""
        p = _RE_PREV_WORD_REVERSED.match(_before(m)[::-1])
        return p.group(1)[::-1] if p else None

    def _case_word(self, m: re.Match[str]) -> str | None:
        """The key of `noun_agreement.after` that governs the case of a number match: the word right before
        it, or that word with the one before it ("er hat", "gibt es"), or None."""
        before = _before(m)
        p = _RE_PREV_WORDS_REVERSED.match(before[::-1])
        if p is None:
            return None
        prev = p.group(1)[::-1]
        # (a first word that reaches the start of the 40 characters read may be cut off: not used)
        if p.group(2) and (p.end(2) < len(before) or m.start() <= len(before)):
            two = f"{p.group(2)[::-1]} {prev}".lower()
            if two in self.agree_after:
                return two
        if prev.lower() in self.verb_forms:
            # a verb form alone: written in lowercase, and not before a coordination ("haben 1 Mann und 1
            # Frau" may be a plural subject)
            if not prev.islower() or self.re_coordination.match(m.string, m.end()):
                return None
        return prev

    def _counted(self, m: re.Match[str]) -> tuple[str, str, str | None] | None:
        """(gender, noun, word before the number) where a number match is followed by a counted noun of
        `noun_agreement.nouns` ("2 horas", "2 mil pessoas"), unless the number labels something ("Seite 1
        Zeile 2": the word before it is one of `noun_agreement.labels`); else None."""
        noun = m["w"]
        if noun is None:
            return None
        gender = self.nouns.get(noun.lower())
        if gender is None:
            return None
        prev = self._prev_word(m)
        if prev is not None and prev.rstrip(".").lower() in self.noun_labels:
            return None
        return gender, noun, self._case_word(m) if self.agree_after else prev

    def _clitic_digits(self, m: re.Match[str]) -> str:
        c, al = m.group("c"), m.group("al")
        if al:
            return c + _ARTICLE
        return c + _JOIN if c and c[-1] in "بلك" else m.group(0)

    def definite(self, words: str) -> str:
        """Number words with the article on each part joined by "و" (ar "ثمانية و سبعين" -> "الثمانية و
        السبعين", "خمسة عشر" -> "الخمسة عشر")."""
        parts = words.split(" و ")
        return " و ".join(p if p.startswith("ال") else f"ال{p}" for p in parts)

    def _oblique_before(self, before: str) -> bool:
        """Whether a number written after the text `before` is said in the oblique case (`case`): right
        after one of its `after` words, which may carry a clitic of `prefixes` ("في", "وحوالي", "ب" of
        "بـ 2"), or one of `attached` written on the digits ("ب20"); after a noun of `construct`, maybe with a
        clitic of `construct_prefixes` ("عام 2000", "لعام 2016"); after a noun of `apposition` that
        follows an `after` word ("في العام 2000"); or the second of two numbers joined by `between.and`
        after a word of `between.words` ("بين 10 و 20")."""
        if self.re_oblique is None:
            return False
        return self.re_oblique.search(before.rstrip(_JOIN + _ARTICLE)[-40:]) is not None

    def oblique(self, words: str) -> str:
        """Number words in the oblique case by `case.oblique`, each word of the whole part (the words
        after a decimal point are digits): ar "ألفان و عشرون" -> "ألفين و عشرين", "مئتا" -> "مئتي"."""
        head, sep, tail = words.partition(f" {self.v.point} ")
        return " ".join(apply_rules(w, self.case_rules) for w in head.split()) + sep + tail

    def oblique_noun(self, words: str) -> str:
        """A noun's words in the oblique case by `case.nouns`, each word (ar the dual "دقيقتان" -> "دقيقتين")."""
        return " ".join(apply_rules(w, self.case_noun_rules) for w in words.split())

    def _case(self, words: str, s: str, negative: bool, oblique: bool) -> str:
        """`words` of the written number `s` in the oblique case where `oblique` and where they are no
        digit-by-digit reading (see `read_number`); else as they are."""
        if not oblique or not self.case_rules:
            return words
        i, f, grouped = self.parse(s)
        if self._absurdly_long(i) or self._digit_string(i, f, grouped, negative):
            return words
        return self.oblique(words)

    def _absurdly_long(self, i: str) -> bool:
        """Whether the integer part `i` is too long for number words (`long_digits` + 6 digits or more): read
        digit by digit wherever it stands, in no case."""
        return len(i) >= self.long_digits + 6

    def _digit_string(self, i: str, f: str | None, grouped: bool, negative: bool) -> bool:
        """Whether `read_number` reads the parsed number (`parse`) as a digit string, digit by digit: a whole,
        ungrouped, non-negative number with a leading zero or of `long_digits` digits or more."""
        return (
            f is None
            and not grouped
            and not negative
            and (len(i) > 1 and i[0] == "0" or len(i) >= self.long_digits)
        )

    def is_year(self, n: int, before: str) -> bool:
        if self.year_always[0] <= n <= self.year_always[1]:
            return True
        return self.year_context[0] <= n <= self.year_context[1] and bool(
            self.re_year_ctx.search(before[-40:])
        )

    # -- rules -----------------------------------------------------------------------------------
    def _spell_token(self, s: str) -> str:
        out = []
        for piece in _RE_SPELL_PIECE.findall(s):
            if piece.isdigit():
                out.append(self.v.digits(piece))
            elif piece.isalpha():
                out.append(piece)
            else:
                word = {
                    ".": "dot",
                    "@": "at",
                    "/": "slash",
                    "-": "dash",
                    "_": "underscore",
                    ":": "colon",
                }.get(piece)
                if word:
                    out.append(self.url[word])
                elif piece in self.symbols and self.symbols[piece]:
                    out.append(self.symbols[piece])
        return f" {' '.join(out)} "

    def _email(self, m: re.Match[str]) -> str:
        return self._spell_token(m.group(0))

    def _url(self, m: re.Match[str]) -> str:
        if m.group(0) + "." in self.abbr:  # it "p.es." (per esempio) looks like a domain
            return m.group(0)
        return self._spell_token(re.sub(r"^https?://", "", m.group(0)))

    def _abbr_num(self, m: re.Match[str]) -> str:
        return f" {self.abbr_num[m.group('k')]} "

    def _abbr(self, m: re.Match[str]) -> str:
        return f" {self.abbr[m.group(0)]} "

    def _day(self, n: int, before: str = "", suffix: str | None = None) -> str:
        d = self.date
        if suffix in self.ord_suffixes and d.get("day") != "ordinal":  # ta "நவம்பர் 16ஆம்": as written
            return self.v.ordinal(n, self.ord_suffixes[suffix] or None)
        if str(n) in d.get("day_overrides", {}):
            return d["day_overrides"][str(n)]
        if d.get("day") == "ordinal":
            variant = d.get("day_variant")
            after = d.get("day_variant_after")
            if after:  # the word before the date decides the case ending: "der dritte", "am dritten"
                prev = _RE_LAST_WORD.search(before[-40:])
                if prev and prev.group(1).lower() in after:
                    variant = after[prev.group(1).lower()] or None
            return self.v.ordinal(n, variant)
        return self.v.cardinal(n)

    def _render_date(
        self,
        day: int | None,
        month: int,
        year: str | None,
        order: str,
        before: str = "",
        agree_before: str | None = None,
        suffix: str | None = None,
        written: str | None = None,
    ) -> str | None:
        """A date by the table's templates; `written`: the month's name as written, said as it is where
        `date.keep_month` (ar "آب", "شباط": the Levantine names of the Gregorian months)."""
        if not 1 <= month <= 12 or day is not None and not 1 <= day <= 31:
            return None
        key = order if day is not None else "my"
        if year is None:
            key = key.replace("y", "")
        d = self.date
        tpl = d.get(key) or d.get("dmy" if day is not None and year else "dm" if day is not None else "my")
        y = None if year is None else self.v.year(int(year)) if len(year) == 4 else self.v.cardinal(int(year))
        if y is not None and d.get("year_oblique") and self.case_rules:
            y = self.oblique(y)  # ar: the year in construct with the month (an implied عام/سنة)
        dw = ""
        if day is not None:
            dw = self._day(day, before if agree_before is None else agree_before, suffix)
            dw = self._day_case(dw, before, agree_before)
        out = tpl.format(
            day=dw,
            month=written if written and d.get("keep_month") else self.t["months"][month - 1],
            year=y or "",
        ).split()
        lead = _RE_TEMPLATE_LEAD.match(tpl)  # a template's own first word ("the {day} of {month}")
        prev = _RE_LAST_WORD.search(before)
        if lead and prev and prev.group(1).lower() == lead.group(1).lower():
            out = out[1:]  # already written before the date: "on the 3rd of March" has one "the"
        return f" {' '.join(out)} "

    def _day_case(self, words: str, *befores: str | None) -> str:
        """A day's words in the oblique case where `date.day_case` and one of the texts before it asks
        for it (ar "في 20 مارس" *في العشرين من مارس*, "3-20 مارس": the second day after إلى)."""
        if (
            self.date.get("day_case")
            and self.case_rules
            and any(b and self._oblique_before(b) for b in befores)
        ):
            return self.oblique(words)
        return words

    def _date_ymd(self, m: re.Match[str]) -> str:
        out = self._render_date(int(m.group("d")), int(m.group("m")), m.group("y"), "ymd", _before(m))
        return out if out else m.group(0).replace(m.group("sep") if "sep" in m.groupdict() else "-", " ")

    def _date_num(self, m: re.Match[str]) -> str:
        a, b = int(m.group("a")), int(m.group("b"))
        order = self.date.get("order", "dmy")
        day, month = (b, a) if order == "mdy" else (a, b)
        if month > 12 and day <= 12:  # the other order is the only valid reading
            day, month = month, day
        out = self._render_date(day, month, m.group("y"), "mdy" if order == "mdy" else "dmy", _before(m))
        return out if out else m.group(0).replace(m.group("sep"), " ")

    def _date_dm_num(self, m: re.Match[str]) -> str:
        before = _before(m)
        prev = _RE_WORD_BEFORE_DATE.search(before)
        if not prev or prev.group(1).lower() not in self.dm_after:
            return m.group(0)
        out = self._render_date(int(m.group("a")), int(m.group("b")), None, "dmy", before)
        return out or m.group(0)

    def _month_of(self, s: str) -> int:
        s = s.rstrip(".")
        return self.month_abbr.get(s) or self.month_index.get(s.lower(), 0)

    def _date_dm(self, m: re.Match[str]) -> str:
        if self.day_ranges and m.group("d1"):
            days = self._days_dm(m)
            if days is not None:
                return days
        day, month = int(m.group("d")), self._month_of(m.group("mon"))
        out = self._render_date(
            day, month, m.group("y"), "dmy", _before(m), suffix=m.group("dsuf"), written=m.group("mon")
        )
        # the first day of a pair that is no range of days ("5-5 mai", "45-3 mai") stays as written, its dash
        # said as a range's ("cinq au cinq mai"), not lost; a word between them stays too ("45 au 3 mai")
        if m.group("d1") and m.group("sep") in "-–—":
            word = self._range_word(m) if 1 <= int(m.group("d1")) <= 31 else self._dash_word(m)
            head = f"{m.group(0)[: m.start('sep') - m.start()].rstrip()} {word} "
        else:
            head = m.group(0)[: m.start("d") - m.start()]
        return head + out if out else m.group(0)

    def _date_md(self, m: re.Match[str]) -> str:
        if self.day_ranges and m.group("d2"):
            days = self._days_md(m)
            if days is not None:
                return days
        day, month = int(m.group("d")), self._month_of(m.group("mon"))
        if self.day_ranges and m.group("d2"):  # not a range of days ("March 5-5", "May 5-45"): the second
            # number stays as written, the dash said as a range's ("may fifth to forty five", not "minus")
            out = self._render_date(day, month, None, "mdy", _before(m), written=m.group("mon"))
            rest = m.group(0)[m.end("sep") - m.start() :].lstrip()
            return f"{out} {self._range_word(m)} {rest}" if out else m.group(0)
        out = self._render_date(
            day, month, m.group("y"), "mdy", _before(m), suffix=m.group("dsuf"), written=m.group("mon")
        )
        return out or m.group(0)

    def _range_word(self, m: re.Match[str]) -> str:
        """The word between the days of a range of days: a dash is said as `date.day_range` where the table
        has one (fr "3-5 mai" *trois au cinq mai*), else as any other range's dash; a word as written."""
        sep = m.group("sep")
        if sep not in "-–—":
            return sep.lower()
        word = self._dash_word(m)
        return self.date.get("day_range", word) if word == self.t["range"] else word

    def _dash_word(self, m: re.Match[str]) -> str:
        """The word said for a range's dash: the conjunction of `range_between` right after one of its words
        ("between 3-5 May" *between the third and the fifth of May*), else `range`."""
        if self.re_range_between is not None and self.re_range_between.search(_before(m)):
            return self.range_between_and
        return self.t["range"]

    def _days_dm(self, m: re.Match[str]) -> str | None:
        d1, d2, month = int(m.group("d1")), int(m.group("d")), self._month_of(m.group("mon"))
        before = _before(m)
        # a falling pair is a range across the month's start ("30-3 mai" *trente au trois mai*, 30 April to 3 May)
        if not 1 <= d1 <= 31 or d1 == d2 and m.group("sep") in "-–—":
            return None
        # the first day as the template says a day on its own: "the third" / "dritten" (no month)
        lead = _RE_TEMPLATE_LEAD.match(self.date.get("dm", "{day}"))
        prev = _RE_LAST_WORD.search(before)
        head = lead.group(1) if lead and not (prev and prev.group(1).lower() == lead.group(1).lower()) else ""
        day1 = f"{head} {self._day_case(self._day(d1, before), before)}".strip()
        conn = self._range_word(m)
        rest = self._render_date(
            d2, month, m.group("y"), "dmy", f"{day1} {conn} ", agree_before=before, written=m.group("mon")
        )
        return f" {day1} {conn}{rest}" if rest else None

    def _days_md(self, m: re.Match[str]) -> str | None:
        d1, d2, month = int(m.group("d")), int(m.group("d2")), self._month_of(m.group("mon"))
        if not (1 <= d1 <= 31 and 1 <= d2 <= 31) or d1 == d2:  # falling: across the month's start
            return None
        first = self._render_date(d1, month, None, "mdy", _before(m), written=m.group("mon"))
        if first is None:
            return None
        year = f" {self.v.year(int(m.group('y')))}" if m.group("y") else ""
        return f"{first}{self._range_word(m)} {self._day(d2, _before(m))}{year} "

    def _date_my(self, m: re.Match[str]) -> str:
        out = self._render_date(
            None, self._month_of(m.group("mon")), m.group("y"), "my", written=m.group("mon")
        )
        return out or m.group(0)

    def _year_mark(self, m: re.Match[str]) -> str:
        """ar "عام 1990م" -> "عام 1990 ميلادي", "سنة 1441 هـ" -> "سنة 1441 هجرية": an era mark of
        `year_marks.marks` after a number is said as its word (its second form after a word of
        `feminine_after`, a feminine noun) where the mark is one of `always`, or the number follows a word
        of `year_reading.context_words` or `year_marks.context_words` or a month name, or it is a year of
        `year_reading.context` that is no multiple of 100 ("1453م"; "100 م", "1500 م" stay metres)."""
        ym = self.year_marks
        n, mark = m.group("n"), m.group("mark")
        ctx = self.re_year_mark_ctx.search(_before(m))
        lo, hi = self.year_context
        if not (
            mark in ym["always"] or ctx is not None or len(n) == 4 and lo <= int(n) <= hi and int(n) % 100
        ):
            return m.group(0)
        words = ym["marks"][mark]
        fem = ctx is not None and ctx.group("ctx") in self.year_mark_feminine
        word = words if isinstance(words, str) else words[1 if fem and len(words) > 1 else 0]
        return f"{n} {word}"

    def _century(self, m: re.Match[str]) -> str:
        """ar "القرن 19" -> "القرن التاسع عشر", "في القرن 21" -> "في القرن الحادي و العشرين": the ordinal of
        a century after its word (`century`); a number with no ordinal form in the table is left as it is."""
        words = self.t["date"]["day_overrides"].get(str(int(m.group("n"))))
        if words is None:
            return m.group(0)
        w = m.group("w")
        before = _before(m)
        clitic = self.re_century_clitic.match(w) is not None
        if clitic or self.re_century_construct.search(before) or self._oblique_before(before):
            words = self.oblique(words)
        mark = m.group("mark")
        if mark:
            said = self.year_marks["marks"][mark]
            words += " " + (said if isinstance(said, str) else said[0])
        return f"{w} {words}"

    def _render_time(
        self, h: int, mi: int, s: int | None, ap: str | None, before: str = "", body: str | None = None
    ) -> str:
        """The time h:mi(:s) with its am/pm mark `ap`, by the table's templates (`body`: the time as said
        instead, `_clock_fraction`); the am/pm word is not said again right after the same word written
        before the time (`before`: ta "காலை 07:19 a.m.")."""
        tm = self.time
        hw = tm.get("hour_words", {}).get(str(h)) or self.v.cardinal(h)
        hu = self.form(tm.get("hour_unit", ""), h)
        mw = self.v.cardinal(mi)
        if tm.get("minute_agreement"):  # minutes agree like this unit: French "une heure une" (minute)
            mw = self.agree(mw, tm["minute_agreement"])
        mu = self.form(tm.get("minute_unit", ""), mi)
        # ar "في الساعة 11:35" *في الساعة الحادية عشرة و خمس و ثلاثين دقيقة*: the hour after a preposition is
        # genitive, and the minutes joined to it with it (a dual minute unit too: "و دقيقتين")
        oblique = bool(tm.get("case")) and self.case_rules and self._oblique_before(before)
        if oblique:
            hw, mw = self.oblique(hw), self.oblique(mw)
            if mi == 2:
                mu = self.oblique_noun(mu)
        # (the next hour, for a time said as the next hour less a part: ar 3:45 "الرابعة إلا ربعا"; 12 am/pm
        # and 24 are followed by 1)
        hn = 1 if h == 24 or ap and h == 12 else h + 1
        hnw = tm.get("hour_words", {}).get(str(hn)) or self.v.cardinal(hn)
        if oblique:
            hnw = self.oblique(hnw)
        fields = {"h": hw, "hn": hnw, "hu": hu, "m": mw, "mu": mu}
        out = body if body is not None else self._time_template(h, mi, ap, bool(s)).format(**fields)
        if s:
            sw = self.v.cardinal(s)
            if tm.get("second_agreement"):
                sw = self.agree_gender(sw, tm["second_agreement"])
            su = self.form(tm.get("second_unit", ""), s)
            if oblique:
                sw = self.oblique(sw)
                su = self.oblique_noun(su) if s == 2 else su
            out += " " + tm.get("s_by_s", {}).get(str(s), tm.get("s", "{s}")).format(s=sw, su=su)
        if ap:
            ap_word = self._day_part(h, ap)
            said = ap_word.lower().split()
            written = [w.strip(_EDGE_PUNCT) for w in before.lower().split()]
            if written[-len(said) :] != said and not (written and written[-1] in self.day_part_words):
                out = tm["ampm"].format(time=out, ap=ap_word)
        return f" {' '.join(out.split())} "

    def _time_template(self, h: int, mi: int, ap: str | None, seconds: bool = False) -> str:
        """The table's template of the time h:mi (am/pm mark `ap`) before its seconds and am/pm word; a
        time without `seconds` may say its minutes as a part of the hour (`hm_named`, ar "و النصف")."""
        tm = self.time
        if not seconds and str(mi) in tm.get("hm_named", {}):
            return tm["hm_named"][str(mi)]
        # an hour with templates of its own (te 1 o'clock "ఒంటి గంట", not "ఒకటి గంటలు")
        by_h = tm.get("h_by_h", {}).get(str(h), {})
        if mi == 0:
            key = "h_ampm" if ap else "h"
            return by_h.get(key, tm.get(key, "{h}"))
        if str(mi) in tm.get("hm_by_m", {}):  # ar "و دقيقتان", not "و اثنتان دقيقتان"
            return tm["hm_by_m"][str(mi)]
        key = "hm_lt10" if mi < 10 and "hm_lt10" in tm else "hm"
        return by_h.get(key, tm[key])

    def _day_part(self, h: int, ap: str) -> str:
        """The am/pm word of hour `h` (1-12) with mark `ap`: the word of `time.ampm_by_hour` whose hour (on
        the 24-hour clock) is the last one at or before h's (te 1 pm "మధ్యాహ్నం", 9 pm "రాత్రి"), else the
        mark's `word`."""
        h24 = h % 12 + (12 if ap == "pm" else 0)
        word = self.time["ampm_patterns"][ap]["word"]
        for start, w in self.time.get("ampm_by_hour", []):
            if start <= h24:
                word = w
        return word

    def _ap(self, m: re.Match[str]) -> str | None:
        gd = m.groupdict()
        return "am" if gd.get("am") else "pm" if gd.get("pm") else None

    def _time(self, m: re.Match[str], before: str | None = None, clock: bool = False) -> str:
        """A clock time h:mm(:ss); `before`: the text before it where `m` matched a part of the text (a side
        of a range), else the text before the match; `clock`: surely a clock time, as the other side of a
        range with am/pm or a time word (see `_clock_fraction`)."""
        gd = m.groupdict()
        h, mi = int(gd["h"]), int(gd["m"] or 0)
        s = int(gd["s"]) if gd.get("s") else None
        ap = self._ap(m)
        if h > (12 if ap else 24) or mi > 59 or (s is not None and s > 59):
            return m.group(0).replace(":", " ")
        body = None
        if mi in (15, 30, 45) and "fractions" in self.time:
            # (a time word after "3.30" too: hi "3.30 बजे" *साढ़े तीन बजे*)
            clock = clock or bool(gd.get("tw") in self.time_suffixes or gd.get("tw2") or ap)
            if not clock:  # hi "3:30 शाम" *साढ़े तीन बजे शाम*
                nxt = _RE_NEXT_WORD.match(m.string, m.end())
                clock = nxt is not None and nxt.group(1).lower() in self.day_part_words
            body = self._clock_fraction(h, mi, s, clock)
        before = _before(m) if before is None else before
        return self._time_word(self._render_time(h, mi, s, ap, before, body), gd.get("tw"), (h, mi, ap))

    def _clock_fraction(self, h: int, mi: int, s: int | None, clock: bool) -> str | None:
        """hi "3:30 बजे" -> "साढ़े तीन बजे": a time of hour 1-12 and 15, 30 or 45 minutes that is surely a
        clock time (`clock`: a time word of `time.suffixes`, am/pm or a day-part word of `ampm_by_hour`
        written after it: "3:30 pm" *दोपहर साढ़े तीन बजे*, "3:30 शाम" *साढ़े तीन बजे शाम*), said by
        `time.fractions` (its `template` with "{f}", the hour and a quarter, a half or three quarters of the
        next by `fraction.spoken`, hi "सवा तीन", "डेढ़", "पौने चार"; its `words` {"h:mm": words} first:
        "1:15" *सवा एक*); else None."""
        cf = self.time.get("fractions")
        kind = {15: "quarter", 30: "half", 45: "three_quarters"}.get(mi)
        if cf is None or kind is None or s or not clock or not 1 <= h <= 12:
            return None
        said = cf.get("words", {}).get(f"{h}:{mi}") or self.spoken_fraction(h, kind)
        return cf["template"].format(f=said) if said else None

    def _time_word(self, out: str, tw: str | None, time: tuple[int, int, str | None]) -> str:
        """A time said (`out`) with the time word written after it (`tw`): not said again, or, a word with a
        case ending (`time.inflected`), its case on the time's last word (ta "... நிமிடத்துக்கு"). Where the
        time (h, m, am/pm mark) is said as its hour alone (te, es "10 pm"), a time word is not said yet, and
        stays (te "10 pm గంటలు" *రాత్రి పది గంటలు*)."""
        cases = self.time_cases.get(tw or "")
        if cases is None:
            if tw and self._time_template(*time).strip() == "{h}":
                return f"{out}{tw} "
            return out
        head, _, last = out.strip().rpartition(" ")
        if last not in cases:  # no case form known for it: the word stays as written
            return f"{out}{tw} "
        return f" {f'{head} {cases[last]}'.strip()} "

    def _duration(self, m: re.Match[str]) -> str:
        """ "4:41.30" -> "four minutes forty one point three zero seconds" by the table's `duration`: each
        field with its unit (agreeing with it, in the measure template), joined by `join`; a field of zero
        is not said ("0:41.30"). Without a decimal part only before a minute or hour word of
        `duration.after` that is no time word of the table ("2:11 minutes"; "1:30 hours" is hours and
        minutes); elsewhere "10:30" is left to the time rules."""
        h, a, b, f, uw = m.group("h"), int(m.group("m")), int(m.group("s")), m.group("f"), m.group("uw")
        du = self.duration
        unit = self.duration_after.get(uw.lower()) if uw else None
        if f is None:
            if unit is None or uw in self.time_suffixes or h is not None and unit != "h":
                return m.group(0)
            if h is None and unit == "h":  # "1:30 hours": h:mm
                h, a, b = str(a), b, None  # type: ignore[assignment]
        if b is not None and b > 59 or h is not None and a > 59:
            return m.group(0)
        fields = [
            (k, n, frac) for k, n, frac in (("h", h, None), ("m", a, None), ("s", b, f)) if n is not None
        ]
        # a field of zero is not said ("2:00 minutes", "0:41.3"), unless all are zero
        said = [(k, int(n), frac) for k, n, frac in fields if int(n) or frac] or [fields[-1]]
        first = "h" if h is not None else "m"
        # a minute word with a case ending (`duration.inflected`, mr "मिनिटांनी", ta "நிமிடங்களில்") passes
        # its case to the unit said last (mr "... सेकंदांनी", ta "... வினாடிகளில்"), not said twice
        cases: dict[str, str] = {}
        if uw and unit == first and uw.lower() in self.duration_cases:  # its own unit: the word as written
            cases = {unit: uw, **self.duration_cases[uw.lower()]}
        last = len(said) - 1
        obl = self._oblique_before(_before(m))  # ar "بـ 2:11.60 دقيقة" *بدقيقتين و ...*
        parts = [
            self._duration_part(k, int(n), frac, cases.get(k) if i == last else None, obl)
            for i, (k, n, frac) in enumerate(said)
        ]
        out = du.get("join", " ").join(parts)
        if uw and unit != first:
            out += f" {uw}"  # a word of another unit: not this duration's, kept
        return f" {out} "

    def _duration_part(
        self, field: str, n: int, frac: str | None, case: str | None = None, oblique: bool = False
    ) -> str:
        du = self.duration
        forms = du[field] if case is None else case
        if frac is not None:
            return self.amount(self.v.number(str(n), frac), forms, None, oblique=oblique)
        gender = du.get("gender", {}).get(field, "m")
        return self.amount(self.v.cardinal(n), forms, n, gender=gender, oblique=oblique)

    def _has_time_mark(self, s: str) -> bool:
        """Gate of the "14.30 Uhr" / "2.30 pm" / "1 Uhr" rule: an hour word, or a dot between digits before
        am/pm or a time word."""
        if any(w in s for w in self.hour_words_gate):
            return True
        return "." in s and self.re_time_dot_gate.search(s) is not None  # type: ignore[union-attr]

    def _time_range(self, m: re.Match[str]) -> str:
        """ "10:30-11:45": each side read by the time rules, the first with the text before the range before
        it, the second after the range word (ar "من الساعة 20:00-22:00": both genitive)."""
        sides = []
        rw = self._dash_word(m)
        # hi "9:30-10:30 am" *सुबह साढ़े नौ से साढ़े दस बजे*: a side is a clock time where the other is
        # (see `_clock_fraction`)
        marked = self.time.get("fractions") is not None and any(
            (t := self.re_time.match(side)) is not None
            and (t.group("tw") in self.time_suffixes or self._ap(t) is not None)
            or self.re_time_ampm is not None
            and self.re_time_ampm.match(side) is not None
            for side in (m.group("a"), m.group("b"))
        )
        time_fn = (lambda t, before: self._time(t, before, True)) if marked else self._time
        for side, before in ((m.group("a"), _before(m)), (m.group("b"), f" {rw} ")):
            for rx, fn in ((self.re_time, time_fn), (self.re_time_ampm, self._time_ampm),
                           (self.re_time_h, self._time_h)):  # fmt: skip
                if rx is not None:
                    side = rx.sub(lambda t, fn=fn, before=before: fn(t, before), side)  # type: ignore[misc]
            sides.append(side.strip())
        return f" {sides[0]} {rw} {sides[1]} "

    def _time_range_bare(self, m: re.Match[str]) -> str:
        h = int(m.group("a"))
        side = m.group("b")
        rw = self._dash_word(m)
        for rx, fn in (
            (self.re_time_marked, self._time),
            (self.re_time_ampm, self._time_ampm),
            (self.re_time_h, self._time_h),
        ):
            if rx is not None:
                side = rx.sub(lambda t, fn=fn: fn(t, f" {rw} "), side)  # type: ignore[misc]
        if h > 24 or any(c.isdigit() for c in side):  # not an hour, or the second side was no time after all
            return m.group(0)
        hw = self.time.get("hour_words", {}).get(str(h)) or self.v.cardinal(h)
        if self.time.get("case") and self.case_rules and self._oblique_before(_before(m)):
            hw = self.oblique(hw)
        return f" {hw} {rw} {side.strip()} "

    def _time_ampm(self, m: re.Match[str], before: str | None = None) -> str:
        h = int(m.group("h"))
        if not 1 <= h <= 12:
            return m.group(0)
        ap = self._ap(m)
        before = _before(m) if before is None else before
        return self._time_word(self._render_time(h, 0, None, ap, before), m.group("tw"), (h, 0, ap))

    def _time_h(self, m: re.Match[str], before: str | None = None) -> str:
        h = int(m.group("h"))
        return self._render_time(h, 0, None, None, before or "") if h <= 24 else m.group(0)

    def _time_after(self, m: re.Match[str]) -> str:
        """ar "الساعة 20" -> "الساعة العشرون", "في الساعة 20" -> "في الساعة العشرين" (the hour's case after the
        word's preposition), "الساعة 9-11" -> "الساعة التاسعة إلى الحادية عشرة" (the second hour after the
        range word); an hour outside 1-24, or before a counted noun or a unit ("الساعة 20 دقيقة"), stays a
        number."""
        h, h2, w = int(m.group("h")), m.group("h2"), m.group("w")
        if not 1 <= h <= 24 or h2 is not None and not 1 <= int(h2) <= 24:
            return m.group(0)
        nxt = _RE_NEXT_WORD.match(m.string, m.end())
        if nxt is not None and (nxt.group(1).lower() in self.nouns or nxt.group(1) in self.unit_key):
            return m.group(0)
        out = f" {w}{self._render_time(h, 0, None, None, f'{_before(m)}{w} ')}"
        if h2 is not None:
            rw = self.t["range"]
            out += f"{rw}{self._render_time(int(h2), 0, None, None, f' {rw} ')}"
        return out

    @staticmethod
    def _amounts(m: re.Match[str]) -> tuple[str | None, str]:
        """(first number of a range or None, the number before the unit) of a quantity match."""
        gd = m.groupdict()
        return (gd["num"], gd["hi"]) if gd.get("hi") else (gd.get("lo"), gd["num"])

    def _money(self, m: re.Match[str]) -> str:
        code = self.cur_code[m.group("cur")]
        named = m.groupdict().get("named")
        if not named:
            return self._money_said(m, code)
        end = m.end("scale") if m.group("scale") else m.end("num")
        if named in self.cur_named_codes and self.cur_named_codes[named] != code:
            # "$5 EUR" *five euros*: a code names one currency, a sign such as "$" several; the code is said
            return self._money_said(m, self.cur_named_codes[named])
        if self.cur_names.get(named.lower(), self.cur_named_codes.get(named)) != code:
            # "$5 euros": another currency, kept as written
            return f"{self._money_said(m, code)}{m.string[end : m.end()].strip()} "
        forms = self.currencies[code]["major"]
        if (
            not isinstance(forms, str)
            and named.lower() == forms[0].lower() != forms[1].lower()
            and not m.string[end : m.start("named")].strip()
            and self.parse(m.group("num"))[1] is None
        ):
            # "a $5 dollar bill" *a five dollar bill*: the singular written after a whole amount (a noun
            # used as a modifier) is said as written
            return self._money_said(m, code, forms[0])
        return self._money_said(m, code)

    def _money_said(self, m: re.Match[str], code: str, major: str | None = None) -> str:
        """An amount of money matched by `re_money_pre` or `re_money_post` (`code`: its currency) as words,
        the currency said once where it is named again after the amount ("$5 million dollars"); `major`:
        the one form its name is said in where given (see `_money_words`)."""
        lo, num = self._amounts(m)
        i, f, _ = self.parse(num)
        gd = m.groupdict()
        case = gd.get("cend")  # mr "₹5 लाखांचा": the scale "लाख", the case ending "चा" said on the currency
        if case and isinstance(self.money_scale_cases["endings"], dict):  # type: ignore[index]
            case = self.money_scale_cases["endings"][case]  # type: ignore[index]  # (ta "ற்கு" said "க்கு")
        scale = self.money_scale_cases["stems"][gd["cstem"]] if case else gd.get("scale")
        neg = f"{self.v.minus} " if gd["neg"] or gd.get("neg2") else ""  # "-$5" and "$-5"
        obl = self._oblique_before(_before(m))
        if lo:  # "$5-10": "five to ten dollars"; "$1.50-$2": each amount in full
            li, lf, _ = self.parse(lo)
            pair = self._spoken_range(lo, num, False, gd.get("scale") or "") if scale else None
            if lf is None:
                first = self._case(
                    self.agree(self.read_amount(li, lf), code, before_noun=False), lo, False, obl
                )
            elif scale:  # "₹1.5-2.5 लाख": the first number shares the scale and the currency
                first = (pair[0] if pair else None) or self._case(self.read_amount(li, lf), lo, False, obl)
            else:
                first = self._money_words(code, li, lf, oblique=obl)
            sep = self._range_sep(m)
            second = self._money_words(
                code,
                i,
                f,
                scale,
                oblique=obl or self._oblique_before(f" {sep} "),
                spoken=pair is not None,
                case=case,
                major=major,
            )
            return f" {neg}{first} {sep} {second} "
        prev = self._case_word(m) if self.agree_after else None  # de "mit einem Euro"
        return f" {neg}{self._money_words(code, i, f, scale, prev, obl, case=case, after=gd.get('scale') or '', major=major)} "

    def _range_head(
        self, m: re.Match[str], lo: str, key: str | None, oblique: bool = False, said: str | None = None
    ) -> str:
        """The first number of a range before a quantity ("5-10 km") with its sign and the range word; the
        number agrees with the unit like the second one ("ein bis zwei Kilometer", "duas a três libras");
        `oblique`: in the oblique case; `said`: its words where given (`fraction.spoken`, hi "1.5-2 kg"
        *डेढ़ से दो ...*)."""
        i, f, _ = self.parse(lo)
        words = said or self.read_amount(i, f)
        if f is None and key is not None:
            words = self.agree(words, key, before_noun=False)
        # the range word follows it, not the noun: ar "200-300 شخص" *مئتان إلى ثلاثمائة شخص*
        words = self._case(self.v.standalone(words), lo, bool(m.group("neg")), oblique)
        neg = f"{self.v.minus} " if m.group("neg") else ""
        return f"{neg}{words} {self._range_sep(m)} "

    def _money_words(
        self,
        code: str,
        i: str,
        f: str | None,
        scale: str | None = None,
        prev: str | None = None,
        oblique: bool = False,
        spoken: bool = True,
        case: str | None = None,
        after: str = "",
        major: str | None = None,
    ) -> str:
        """An amount of currency `code` as words ("five dollars and ten cents", "five million dollars");
        `prev`: the word before the amount (see `agree_gender`); `oblique`: in the oblique case (`case`);
        `spoken`: a half or quarter before the scale word may be said by `fraction.spoken` (hi "₹2.5 लाख"
        *ढाई लाख रुपये*; `after`: the scale word as written); `case`: the case ending written on the scale
        word, said on the currency (`money_scale_cases`, mr "₹5 लाखांचा" *पाच लाख रुपयांचा*); `major`: the
        one form the currency is said in, where given (en "a $5 dollar bill" *a five dollar bill*)."""
        names = self.currencies[code] if major is None else {**self.currencies[code], "major": major}
        oblique = oblique and not self._absurdly_long(i)  # (not a digit-by-digit reading)
        link = self.money_scale_link
        # the scale word's form for the amount (a noun of `scale_nouns` or a list of forms: "Mio." 1 *Million*)
        word = self._scale_word(scale, i, f) if scale else ""
        if link and word == link.get("thousand") and f is None and not case:
            # pt "R$5 mil", it "€ 5 mila": the whole amount as one number, agreeing with the currency
            # as "R$5.000" (*cinco mil reais*, it *cinquemila euro*, es "£200 mil" *doscientas mil libras*)
            return self._money_words(code, i + "000", None, None, prev, oblique)
        if scale:
            scaled = self._scaled(i, f, scale, word, prev, oblique, spoken, after)
            if case:  # the currency's stem, else its first form, with the ending and then the table's `rules`
                msc = self.money_scale_cases or {}
                major = names["major"]
                stem = msc.get("currencies", {}).get(code) or (major if isinstance(major, str) else major[0])
                return f"{scaled} {apply_rules(stem + case, msc.get('rules', []))}"
            if link and word != link.get("thousand"):  # es *millones de euros*, fr *milliards d'euros*
                return f"{scaled} {self._linked(names['major'])}"
            return self.amount(scaled, names["major"], None)
        major = int(i)
        # fr "2 000 000 €" *deux millions d'euros*, es "1.000.000 €" *un millón de euros*: a whole amount
        # ending in a noun of a large number (a multiple of a million) takes the link word as "€2 millions"
        by_noun = bool(link) and major and not major % 1_000_000 and not self._absurdly_long(i)
        if f is not None and len(f) == 2 and names.get("minor"):
            minor = int(f)
            maj = (
                f"{self.agree_gender(self.v.cardinal(major), 'm', prev=prev)} {self._linked(names['major'])}"
                if by_noun
                else self.amount(self.v.cardinal(major), names["major"], major, code, prev, oblique=oblique)
            )
            mnr = self.amount(self.v.cardinal(minor), names["minor"], minor, prev=prev, oblique=oblique)
            if minor == 0:
                return maj
            if major == 0:
                return mnr
            return self.t["money"]["cents"].format(major=maj, minor=mnr)
        if by_noun and f is None:
            return (
                f"{self.agree_gender(self.read_amount(i, f), 'm', prev=prev)} {self._linked(names['major'])}"
            )
        return self.amount(
            self.read_amount(i, f), names["major"], None if f else major, code, prev, oblique=oblique
        )

    def _scaled(
        self,
        i: str,
        f: str | None,
        scale: str,
        word: str,
        prev: str | None = None,
        oblique: bool = False,
        spoken: bool = True,
        after: str = "",
    ) -> str:
        """The number with integer part `i` and fraction `f` and the scale word `scale` written after it (said
        `word`, its form for the number) as words, as said before a currency or a unit: the number in its
        attributive form (ta/te "ఒక లక్ష"), agreeing with a noun of a large number (es *un millón*, de *eine
        Million*), in the oblique case where `oblique`, a half or quarter said by `fraction.spoken` where
        `spoken` (`after`: the scale word as written), joined to the scale where the number engine joins it
        (ta *முப்பதாயிரம்*); `prev`: the word before the number (see `agree_gender`)."""
        said = self._spoken_decimal(i, f, after=after) if spoken else None
        words = said or self.attributive(self.read_amount(i, f), i, f)
        if said is None and f is None and (self.money_scale_link or scale in self.scale_nouns):
            # es "€1 millón" *un millón*, de "€ 1 Mio." *eine Million*: the number agrees with the scale noun
            noun = scale in self.scale_nouns and scale in self.feminine
            words = self.agree_gender(words, "f" if noun else "m", prev=prev)
        words = self.oblique(words) if oblique and self.case_rules else words
        # ta "₹30 ஆயிரம்" *முப்பதாயிரம் ரூபாய்*, as "₹30,000" (see `_scale_apart`)
        joined = (
            self.v.joined_scale(int(i), word)
            if self.scale_stems and said is None and f is None and not self._absurdly_long(i)
            else None
        )
        return joined or f"{words} {word}"

    def _scale_word(self, scale: str, i: str, f: str | None) -> str:
        """The form of the scale word written `scale` (of `money_scales`) after the number `i`, `f`."""
        return self.form(
            self.money_scales[scale], int(i) if f is None or self.money_scale_integer_form else None
        )

    def _linked(self, forms: Forms) -> str:
        """A currency after a noun of a large number, with the `money_scale_link` word (es *de euros*, it
        *di euro*, fr *d'euros* elided before a vowel)."""
        cur = self.form(forms, None)
        return self._link_word(cur) + cur

    def _link_word(self, noun: str) -> str:
        """The `money_scale_link` word said before `noun` after a noun of a large number, with the space
        after it, or elided with none (fr *d'* before a vowel or a mute h)."""
        link = self.money_scale_link or {}
        if link.get("elided") and self.re_link_elided.match(noun):
            return link["elided"]
        return f"{link['word']} "

    def _scale_noun_link(self, m: re.Match[str], words: str) -> str:
        """The words of a plain number match, with the `money_scale_link` word after them where the number
        is whole and ends in a noun of a large number (a multiple of a million: fr *un million*, es *un
        millón*, pt *dois milhões*, it *un miliardo*) and a currency word, a counted noun of
        `noun_agreement.nouns` or a word `_link_plural` takes for a plural noun or adjective follows it:
        such a noun takes its noun with a preposition like any noun (es "1.000.000 personas" *un millón de
        personas*, fr "1 000 000 euros" *un million d'euros*, "3 000 000 habitants" *trois millions
        d'habitants*); any other word (a verb, "de" already written) is left as it is."""
        noun = m["w"] if self.money_scale_link else None
        if noun is None or m.string[m.end() : m.start("w")].strip():  # (after a skipped word: "mil")
            return words
        if not self._links_to(noun):
            return words
        i, f, _ = self.parse(m.group("num"))
        if not self._ends_in_scale_noun(i, f, words):
            return words
        link = self._link_word(noun)
        return f"{words} {link}" if link.endswith(" ") else f"{words} {link}{_JOIN}"

    def _links_to(self, noun: str) -> bool:
        """Whether the word `noun` after a noun of a large number is taken for what it counts, which takes the
        `money_scale_link` word before it: a currency word, a counted noun of `noun_agreement.nouns` or a
        word `_link_plural` takes for a plural noun or adjective."""
        key = noun.lower()
        return key in self.cur_names or key in self.nouns or self._link_plural(noun)

    def _scale_word_link(self, m: re.Match[str]) -> str:
        """A number with a noun of a large number written after it (`re_scale_link`) before what it counts
        (`_links_to`; not a unit, read by `_unit`): the number and the noun as before a currency (`_scaled`),
        then the `money_scale_link` word (fr "1 million euros" *un million d'euros*, "3 millions Français"
        *trois millions de français*, es "2 millones personas" *dos millones de personas*); any other word
        after it leaves the match to the other rules."""
        noun = m.group("w")
        if noun in self.unit_key or not self._links_to(noun):
            return m.group(0)
        i, f, _ = self.parse(m.group("num"))
        scale = m.group("scale")
        prev = self._case_word(m) if self.agree_after else None
        obl = self._oblique_before(_before(m))
        words = self._scaled(i, f, scale, self._scale_word(scale, i, f), prev, obl, after=scale)
        neg = f"{self.v.minus} " if m.group("neg") else ""
        link = self._link_word(noun)
        return f" {neg}{words} {link}" if link.endswith(" ") else f" {neg}{words} {link}{_JOIN}"

    def _scale_agree(self, m: re.Match[str]) -> str:
        """A whole number and the scale word written after it (`re_scale_agree`), the word in its form for the
        number, the number left for the rules after (ar "5 مليون" -> "5 ملايين", "11 آلاف" -> "11 ألف"); after
        1 or 2 the two as the scale's value in grouped digits ("2 مليون" -> "2,000,000", said *مليونان*), unless
        they end a pair of numbers (`re_scale_agree_pair`, "1-2 مليون"); a decimal keeps the word as written
        ("3.7 مليون")."""
        i, f, _ = self.parse(m.group("num"))
        if f is not None:
            return m.group(0)
        value = self.scale_agree_values.get(m.group("scale"))
        if m.group("num") in ("1", "2") and value and not self.re_scale_agree_pair.search(_before(m)):
            return f"{int(i) * value:,}".replace(",", self.scale_agree_sep)  # ar "2 مليون" -> "2,000,000"
        word = self.form(self.money_scales[m.group("scale")], int(i))
        return m.group(0)[: m.start("scale") - m.start()] + word

    def _ends_in_scale_noun(self, i: str, f: str | None, words: str) -> bool:
        """Whether a number with integer part `i` and fraction `f`, said as `words`, is whole and ends in a
        noun of a large number that takes the `money_scale_link` word before what it counts (fr *trois
        millions*, not *un million cinq cent mille*)."""
        if not self.money_scale_link or f is not None or int(i) % 1_000_000 or self.re_agree_scale is None:
            return False
        return (
            not self._absurdly_long(i) and self.re_agree_scale.fullmatch(words.rpartition(" ")[2]) is not None
        )

    def _link_plural(self, word: str) -> bool:
        """Whether `word` after a number is taken for a plural noun or adjective by `money_scale_link.plural`
        (fr "habitants", "nouveaux", "Français"; es "votantes", "Españoles"): written in lowercase or
        capitalised (fr nouns of nationality are: "3 000 000 Français" *trois millions de français*; not in
        capitals, "DVDs"; not with an ending of `plural.capitalised_not`, a name: "Paris"), longer than two
        letters, with a plural ending, and none of the listed function words, adverbs and verb forms ("dans",
        "Plus", "sommes"; es "más", "somos")."""
        if self.re_link_plural is None or len(word) < 3:
            return False
        if not word.islower():
            if not (word[0].isupper() and word[1:].islower()):
                return False
            if self.re_link_plural_name is not None and self.re_link_plural_name.search(word.lower()):
                return False  # fr "Paris", "Louis", es "París": a name, not a plural
        return self.re_link_plural.search(word) is not None and word.lower() not in self.link_plural_except

    def read_amount(self, i: str, f: str | None) -> str:
        """A quantity's number (never a year, never digit by digit unless absurdly long)."""
        if self._absurdly_long(i):
            return self.v.digits(i) + (f" {self.v.point} {self.v.digits(f)}" if f else "")
        return self.v.number(i, f)

    def attributive(self, words: str, i: str, f: str | None) -> str:
        """The words of the number `i` (fraction digits `f`) in their attributive form by the rules of
        `numbers_before_word` (ta "ஒரு", te "ఒక", "ఇరవై ఒక్క", "రెండు వేల"), as said right before a noun:
        for a whole number read as a cardinal; else `words`."""
        if self.before_word is None or f is not None or words != self.v.cardinal(int(i)):
            return words
        return apply_rules(words, self.before_word["rules"])

    def _percent(self, m: re.Match[str]) -> str:
        lo, num = self._amounts(m)
        i, f, _ = self.parse(num)
        ending = m.groupdict().get("uend")
        cased = self._unit_case("%", ending) if ending else None
        if cased is not None:  # mr "50%ने" *पन्नास टक्क्यांनी*: the percent noun in the ending's case
            words = self.read_amount(i, f)
            if self.t["percent"].startswith("{n} "):  # te "1%కు" *ఒక్క శాతానికి*, as without the ending
                words = self.attributive(words, i, f)
            words = self._case_number(words) if not lo and f is None else words  # *एका टक्क्याने*
            unit = self.form(cased, None if f else int(i))
            if lo:
                return f" {self._range_head(m, lo, None)}{words} {unit} "
            return f" {self.v.minus} {words} {unit} " if m.group("neg") else f" {words} {unit} "
        # (a percent the table gives no form before a case ending: the ending said apart, as before)
        rest = f"{ending} " if ending else ""
        # a percent word said after the number is a noun: ta/te "31%" as "31 சதவீதம்" (te "ముప్పై ఒక్క శాతం")
        noun_after = self.t["percent"].startswith("{n} ")
        obl = self._oblique_before(_before(m))
        if lo:
            words = self.read_amount(i, f)
            words = self.attributive(words, i, f) if noun_after else words
            words = self._case(words, num, False, obl or self._oblique_before(f" {self._range_sep(m)} "))
            return f" {self._range_head(m, lo, None, obl)}{self.t['percent'].format(n=words)} {rest}"
        neg = bool(m.group("neg"))
        words = self.v.number(i, f, neg) if not self._absurdly_long(i) else self.read_amount(i, f)
        if noun_after and not neg:  # (a negative number keeps its form, as before a written word)
            words = self.attributive(words, i, f)
        words = self._case(words, num, neg, obl)
        if self._after_article(m):  # ar "الـ35%": the article on each part of the number
            words = self.definite(words)
        return f" {self.t['percent'].format(n=words)} {rest}"

    def _unit(self, m: re.Match[str]) -> str:
        lo, num = self._amounts(m)
        if m.group("unit") in self.spaced_powers and m.end("num") == m.start("unit"):
            return m.group(0)  # "5ft3": maybe a height in feet and inches, not cubic feet
        i, f, _ = self.parse(num)
        key = self.unit_key[m.group("unit")]
        ending = m.groupdict().get("uend")
        forms = self._unit_case(key, ending) if ending else self.units[key]
        if forms is None:
            return m.group(0)  # mr "5 °वर": a unit the table gives no form before a case ending, as written
        prev = self._case_word(m) if self.agree_after and not lo else None  # de "nach einem Kilometer"
        obl = self._oblique_before(_before(m))
        # (the second number of a range follows the first one's case or that of the range word)
        obl_num = obl or bool(lo) and self._oblique_before(f" {self._range_sep(m)} ")
        obl_num = obl_num and not self._absurdly_long(i)
        scale = m.groupdict().get("uscale")
        if m.groupdict().get("ulink"):  # "3 millions de km", "3 000 000 de km": said by the rules below
            word = self._scale_word(scale, i, f) if scale else None
            if (
                word == (self.money_scale_link or {}).get("thousand")
                if scale
                else not self._ends_in_scale_noun(i, f, self.read_amount(i, f))
            ):
                return m.group(0)  # "5 de km", pt "200 mil de km": no noun of a large number before it
        if scale:  # "3 millions km"
            words = self._unit_scaled(scale, i, f, key, forms, prev, obl_num)
            if lo:
                return f" {self._range_head(m, lo, None, obl)}{words} "
            return f" {self.v.minus} {words} " if m.group("neg") else f" {words} "
        # hi "2.5 kg" *ढाई किलोग्राम*: a half before a unit of `fraction.spoken.half_units`, 0.5 alone before
        # one of `zero.half_units` ("0.5 km" *आधा किलोमीटर*)
        half: bool | str | None = (
            True
            if key in self.spoken_half_units
            else _ZERO_HALF
            if key in self.spoken_zero_half_units
            else None
        )
        # (hi "0.5 km में" *आधे किलोमीटर में*; mr "0.5 किमीवर" *अर्ध्या किलोमीटरवर*, the ending with the unit)
        # (the unit's dots dropped: "कि.मी." is one word there, hi "0.5 कि.मी. में" *आधे किलोमीटर में*)
        after = m.group("unit").replace(".", "") + m.string[m.end("unit") : m.end() + 20]
        pair = self._spoken_range(lo or "0", num, half, after) if half is not None else None
        said = (pair[1] if pair else None) or self.read_amount(i, f)
        if ending and not lo and f is None:  # mr "1 किमीवर" *एका किलोमीटरवर*
            said = self._case_number(said)
        if pair and pair[1] and not lo and not int(i):
            # a half or a quarter alone takes the unit's singular (te "0.5 km" *అర కిలోమీటరు*, mr *अर्धा मिनिट*)
            words = self.measure["template"].format(n=said, unit=self.form(forms, 1))
        else:
            words = self.amount(said, forms, None if f else int(i), key, prev, oblique=obl_num)
            words = self._unit_link(key, forms, i, f, said, words)
        if not lo and self._after_article(m):  # ar "الـ35 مم": the article on the number said before its unit
            unit = self.form(forms, None if f else int(i))
            head = words[: -len(unit) - 1] if words.endswith(f" {unit}") else ""
            if head:  # (not where the template puts the unit first, ar 1 and 2)
                words = f"{self.definite(head)} {unit}"
        if lo:
            return f" {self._range_head(m, lo, key, obl, said=pair[0] if pair else None)}{words} "
        # the sign goes outside: a language's form for "1 <unit>" ("ein {unit}") has no room for it
        return f" {self.v.minus} {words} " if m.group("neg") else f" {words} "

    def _unit_scaled(
        self, scale: str, i: str, f: str | None, key: str, forms: Forms, prev: str | None, oblique: bool
    ) -> str:
        """A number, the scale word written `scale` after it and a unit of `key` with `forms` (fr "3 millions
        km" *trois millions de kilomètres*, "1 million oz" *un million d'onces*, es "2 millones km" *dos
        millones de kilómetros*, en "5 million km" *five million kilometers*, de *fünf Millionen Kilometer*): the
        number and the scale as before a currency (`_scaled`), the unit in its form for a multiple of a million
        (the plural; ar the singular), after the `money_scale_link` word where the table has one; before its
        `thousand` word a whole amount is one number, agreeing with the unit (pt "200 mil libras" *duzentas
        mil libras*, as "200.000 lb"). `prev`, `oblique`: see `amount`."""
        word = self._scale_word(scale, i, f)
        link = self.money_scale_link or {}
        if link and word == link.get("thousand") and f is None and not self._absurdly_long(i):
            n = i + "000"
            return self.amount(self.read_amount(n, None), forms, int(n), key, prev, oblique=oblique)
        scaled = self._scaled(i, f, scale, word, prev, oblique, after=scale)
        unit = self.form(forms, 1_000_000)
        if link and word != link.get("thousand"):
            unit = self._link_word(unit) + unit
        return self.measure["template"].format(n=scaled, unit=unit)

    def _unit_link(self, key: str, forms: Forms, i: str, f: str | None, said: str, words: str) -> str:
        """`words` ("<number> <unit>" of `_unit`) with the `money_scale_link` word before the unit where the
        number is whole and ends in a noun of a large number: such a noun takes a preposition before what it
        counts, a unit too (fr "3 000 000 km" *trois millions de kilomètres*, es *tres millones de
        kilómetros*, it *tre milioni di chilometri*); not before a noun of a large number itself."""
        if key in self.t.get("scale_nouns", {}) or not self._ends_in_scale_noun(i, f, said):
            return words
        unit = self.form(forms, int(i))
        if not words.endswith(f" {unit}"):  # (a template that puts the unit elsewhere)
            return words
        return f"{words[: -len(unit)]}{self._link_word(unit)}{unit}"

    def _unit_case(self, key: str, ending: str) -> Forms | None:
        """The forms of the unit (or "%") `key` with the case `ending` written on it, by the table's
        `unit_cases` (mr): a unit of `unchanged.units` (or a square or cube of one) keeps its forms before
        any ending but those of `unchanged.except` ("किमीवर" *किलोमीटरवर*), one of `oblique` takes its
        oblique forms [singular, plural] ("%ने" *टक्क्यांनी*), each with the ending and then the table's
        `rules` (the plural oblique's "-ने" said "-नी"; ta "கிலோமீட்டர்" + "இல்" *கிலோமீட்டரில்*, te
        "శాతం" + "కు" *శాతానికి*); None for any other unit or ending. A table whose `endings` map spellings
        to endings says the ending it maps to (ta "யில்" after a vowel as "இல்")."""
        uc = self.unit_cases or {}
        ending = self.unit_case_said.get(ending, ending)
        same = uc.get("unchanged", {})
        if key in uc.get("oblique", {}):
            forms: Forms = uc["oblique"][key]
        elif ending not in same.get("except", []) and (
            key in same.get("units", []) or key.rstrip("23²³^") in same.get("units", [])
        ):
            forms = self.units[key]
        else:
            return None
        rules = uc.get("rules", [])
        if isinstance(forms, str):
            return apply_rules(forms + ending, rules)
        return [apply_rules(w + ending, rules) for w in forms]

    def _case_number(self, words: str) -> str:
        """The words of a whole number before a unit with a case ending in the oblique form the table's
        `unit_cases.numbers` gives them (mr "एक" -> "एका": *एका किलोमीटरवर*), else as they are."""
        return (self.unit_cases or {}).get("numbers", {}).get(words, words)

    def _power(self, m: re.Match[str]) -> str:
        """ "²" of "x²" -> " squared ", "⁻³" of "10⁻³" -> " to the power of minus three " by the table's
        `powers` (the base is read by the other rules); "m²" alone -> the unit's name."""
        sup, letters = m.group("sup"), m.group("l")
        written = (letters or "") + (sup if sup is not None else f"^{m.group('e')}")
        if letters is not None and written in self.unit_key and not m.group("neg"):
            return f" {self.form(self.units[self.unit_key[written]], 1)} "
        if letters is not None and len(letters) > 1:
            if not self._in_formula(m):
                return m.group(0)  # a footnote mark ("word²"): left to the clean-up
            letters = " ".join(letters)  # "E=mc²": a product of variables, "m c squared"
        elif sup == "¹" and not m.group("sneg"):
            return m.group(0)  # a footnote mark ("1990¹"): left to the clean-up
        e = str(int(sup.translate(_SUPERSCRIPT_DIGITS) if sup is not None else m.group("e")))
        neg = bool(m.group("sneg") or m.group("neg"))
        words = None if neg else self.powers.get(e)
        if words is None:
            words = self.powers["n"].format(e=self.v.number(e, None, neg))
        return f"{letters or ''} {words} "

    @staticmethod
    def _in_formula(m: re.Match[str]) -> bool:
        """A power's letter run is in a formula: an operator sign ("=", "+", "×", ...) right before it or
        right after the exponent, spaces aside ("E=mc²", "mc² + 1")."""
        text, start, end = m.string, m.start(), m.end()
        before = text[max(0, start - 3) : start].rstrip()
        after = text[end : end + 3].lstrip()
        return bool(before) and before[-1] in _FORMULA_OPS or bool(after) and after[0] in _FORMULA_OPS

    def _phone(self, m: re.Match[str]) -> str:
        s = m.group(0)
        digits = sum(c.isdigit() for c in s)
        spaced_only = not _RE_PHONE_SIGN.search(s)
        groups = _RE_DIGIT_RUN.findall(s)
        # "030 1234567": an area code with its trunk zero makes two spaced groups a phone number
        trunk = spaced_only and len(groups) == 2 and groups[0][0] == "0" and len(groups[0]) > 1
        if digits < 7 and _RE_VERSION.fullmatch(s) and not self._grouped.fullmatch(s):
            return f" {f' {self.version_dot} '.join(self.read_number(p) for p in s.split('.'))} "
        if (
            digits < 7
            or (spaced_only and not trunk and (len(groups) < 3 or digits < 8))
            or self._grouped.fullmatch(s.strip())
        ):
            return s
        if len(groups) == 2 and all(len(g) == 4 for g in groups):
            a, b = int(groups[0]), int(groups[1])
            if all(self.is_year(int(g), "") for g in groups) or "-" in s and 1000 <= a < b <= 2099:
                return s  # a range of years such as 2010-2020 or 1644-1912, read by the range rule
        if len(groups) == 2 and s.strip().count("-") == 1 and _is_round_range(*groups):
            return s  # a range of round numbers such as 200-2000 or 500-10000, read by the range rule
        plus = f"{self.symbols.get('+') or ''} " if m.group("plus") or m.group("plus2") else ""
        return f" {plus}{' '.join(self._phone_group(g) for g in groups)} "

    def _phone_group(self, g: str) -> str:
        """One group of a phone number: digit by digit, or where the table says so pairs as numbers
        (fr "01 23 45" -> "zéro un vingt trois quarante cinq")."""
        if self.phone_pairs and len(g) == 2 and g[0] != "0":
            return self.v.cardinal(int(g))
        return self.v.digits(g)

    def _ordinal(self, m: re.Match[str]) -> str:
        n = m.group("n")
        if len(n) > 1 and n[0] == "0":
            return m.group(0)
        value = int(re.sub(r"\D", "", n))
        return f" {self.v.ordinal(value, self.ord_suffixes[m.group('suf')] or None)} "

    def _dot_ordinal(self, m: re.Match[str]) -> str:
        n = m.group("n")
        if len(n) > 1 and n[0] == "0":
            return m.group(0)
        variant = self.dot_ordinals[m.group("w").lower()] or None
        return f"{m.group('w')} {self.v.ordinal(int(n), variant)} "

    def _degree_ordinal(self, m: re.Match[str]) -> str:
        variant = self.degree_ordinals[m.group("w").lower()] or None
        return f"{m.group('w')} {self.v.ordinal(int(m.group('n')), variant)} "

    def _decade(self, m: re.Match[str]) -> str:
        n = int(m.group("n"))
        words = self.v.year(n) if n >= 1000 else self.v.cardinal(n)
        pos = self.decades.get("possessive")
        if pos and m.group("suf") == pos["suffix"] and n >= 1000:
            # en "1990's" is the 1990s after a word of `after` ("the 1990's", "mid-1990's", "the 1960's and
            # 1970's"), else the year's possessive ("2020's budget" *twenty twenty's budget*)
            p = _RE_DECADE_PREV_WORD.search(_before(m))
            if p is None or p.group(1).lower() not in pos["after"]:
                return f" {words}{pos['suffix']} "
        parts = words.split()
        parts[-1] = apply_rules(parts[-1], self.decades["rules"])
        if self.decades.get("append"):  # de "1990er", "in den 80ern": the written ending is said as is
            parts[-1] += m.group("suf")
        return f" {' '.join(parts)} "

    def _mixed_words(self, w: str, n: str, d: str) -> str | None:
        """ "3", "1", "2" -> "three and one half" by the table's `fraction.spoken` (hi "साढ़े तीन") or
        `fraction.mixed`; None if not a proper fraction or the table has no way to say it."""
        if not 0 < int(n) < int(d):
            return None
        kind = _SPOKEN_FRACTIONS.get((int(n), int(d)))
        words = self.spoken_fraction(int(w), kind) if kind else None
        if words is not None or self.mixed is None:
            return words
        whole = self.read_number(w)
        if d == "2" and n == "1" and self.mixed.get("half"):
            return self.mixed["half"].format(w=whole)
        return self.mixed["template"].format(w=whole, f=self.fraction_words(n, d))

    def _fraction(self, m: re.Match[str]) -> str:
        w, n, d, unit = m.groupdict().get("w"), m.group("n"), m.group("d"), m.group("unit")
        words = self._mixed_words(w, n, d) if w else None
        if words is None:  # "3/4", or a whole number before an improper fraction ("3 5/2")
            words = (f"{self.read_number(w)} " if w else "") + self.fraction_words(n, d)
            if unit is None:
                return f" {words} "
            forms = self.units[self.unit_key[unit]]
            return f" {words} {self.form(forms, int(n) if not w and len(n) < 7 else None)} "
        if unit is None:
            return f" {words} "
        return f" {words} {self.form(self.units[self.unit_key[unit]], None)} "  # three and a half kilometers

    def spoken_fraction(self, whole: int, kind: str, after: str = "") -> str | None:
        """`whole` and a half (`kind` "half"), a quarter ("quarter") or three quarters ("three_quarters")
        by the table's `fraction.spoken` (hi 2, "half" -> "ढाई"; 3 -> "साढ़े तीन"; mr 1, "three_quarters"
        -> "पावणेदोन"; te 3, "half" -> "మూడున్నర"), or None where it gives no form (a whole number from 1
        to `max`, or 0 by `zero`: hi "आधा", "पाव", "पौन"; `after`, the text after the number, picks the
        form of `zero.before`: hi "0.5 घंटे" *आधे घंटे*)."""
        sp = self.spoken_fractions
        if whole == 0 and sp:
            return self._zero_fraction(sp.get("zero", {}), kind, after)
        spec = sp.get(kind) if sp else None
        if spec is None or not 1 <= whole <= sp.get("max", 99):  # type: ignore[union-attr]
            return None
        if str(whole) in spec.get("words", {}):
            return spec["words"][str(whole)]
        n = self.v.cardinal(whole)
        if "rules" in spec:  # ta "இரண்டு" -> "இரண்டரை": the last word takes the fraction
            said = apply_rules(n, spec["rules"])
            return said if said != n else None
        return spec["template"].format(n=n, next=self.v.cardinal(whole + 1))

    @staticmethod
    def _zero_fraction(zero: dict[str, Any], kind: str, after: str) -> str | None:
        """A half, a quarter or three quarters alone by `fraction.spoken.zero` (hi "आधा"), in the form of
        the first of its `before` rules [regex, {kind: word}] whose regex finds the word at the start of
        `after` (hi "आधे" before "घंटे"), or of `before_postpositions` [[words], {kind: word}] where one of
        the words follows that first one (hi "आधे" in "आधे किलोमीटर में"); None where it gives no word."""
        word = zero.get(kind)
        nxt = _RE_NEXT_WORD.match(after) if word is not None else None
        if nxt is not None:
            for pattern, forms in zero.get("before", []):
                if re.search(pattern, nxt.group(1)):
                    return forms.get(kind, word)
            # hi "0.5 किलोमीटर में" *आधे किलोमीटर में*: a postposition after the noun puts it in the oblique
            post = zero.get("before_postpositions")
            nxt2 = _RE_NEXT_WORD.match(after, nxt.end()) if post else None
            if nxt2 is not None and nxt2.group(1) in post[0]:
                return post[1].get(kind, word)
        return word

    def _spoken_decimal(
        self, i: str, f: str | None, half_only: bool | str = False, after: str = ""
    ) -> str | None:
        """The decimal `i`.`f` said by `spoken_fraction` where its fraction is .5, .25 or .75 (trailing zeros
        aside: "2.50"), a half only if `half_only` but for a whole part of 0 (hi "0.25 kg" *पाव ...*), 0.5
        only if it is `_ZERO_HALF`; else None. `after`: the text after the number (see `spoken_fraction`)."""
        if self.spoken_fractions is None or not f:
            return None
        kind = _SPOKEN_DECIMALS.get(f.rstrip("0"))
        if kind is None or half_only and kind != "half" and int(i):
            return None
        if half_only == _ZERO_HALF and (kind != "half" or int(i)):  # 0.5 alone only
            return None
        return self.spoken_fraction(int(i), kind, after)

    def _spoken_context(self, s: str, end: int) -> bool | str | None:
        """Whether the word at s[end:] asks for `fraction.spoken`: a scale word (hi "2.5 लाख" *ढाई लाख*) for
        halves and quarters (False: not a half only), a word of `half_before` (hi "1.5 घंटे" *डेढ़ घंटे*)
        for a half only (True), a word of `zero.half_before` for 0.5 alone only (`_ZERO_HALF`, hi "0.5
        किलोमीटर" *आधा किलोमीटर*); None for any other word."""
        nxt = _RE_NEXT_WORD.match(s, end)
        if nxt is None:
            return None
        # mr "2.5 किलोग्रॅमचे" *अडीच किलोग्रॅमचे*: the word without a case ending of `unit_cases` too
        word = nxt.group(1)
        words = [word, *(word[: -len(e)] for e in self.unit_case_endings if word.endswith(e) and word != e)]
        if any(_in_word_list(w, self.spoken_scales) for w in words):
            return False
        if any(_in_word_list(w, self.spoken_half_before) for w in words):
            return True
        if any(_in_word_list(w, self.spoken_zero_half_before) for w in words):
            return _ZERO_HALF
        return None

    def _spoken_range(
        self, lo: str, hi: str, half_only: bool | str, after: str = ""
    ) -> tuple[str | None, str | None] | None:
        """`_spoken_decimal` of both numbers of a range (None for a whole number, read as usual), or None
        where a decimal one has no such form: "1.5-1.8 लाख" keeps both decimals. `after`: the text after
        the range."""
        out = []
        for num in (lo, hi):
            i, f, _ = self.parse(num)
            said = self._spoken_decimal(i, f, half_only, after)
            if f is not None and said is None:
                return None
            out.append(said)
        return out[0], out[1]

    def fraction_words(self, ns: str, ds: str) -> str:
        """ "3", "4" -> "three quarters": a fraction as words."""
        fr = self.fraction
        n, d = int(ns), int(ds)
        if d == 0 or len(ns) > 6 or len(ds) > 6:
            return f"{self.read_number(ns)} {self.read_number(ds)}"
        num = fr.get("numerator_one") if n == 1 and fr.get("numerator_one") else self.v.cardinal(n)
        den = None
        if str(d) in fr.get("names", {}):
            den = self.form(fr["names"][str(d)], n)
        elif n < d <= fr.get("den_ordinal_max", 0):
            rules = fr.get("den_ordinal_rules", {})
            base = self.v.ordinal(d)
            den = apply_rules(base, rules.get("sg" if n == 1 else "pl", []))
        if den is not None:
            return fr.get("named", "{n} {d}").format(n=num, d=den)
        return fr["template"].format(n=self.v.cardinal(n), d=self.v.cardinal(d))

    def _range_sep(self, m: re.Match[str]) -> str:
        """The word said between the numbers of a range match: its range word as written, the conjunction of
        `range_between` after one of its words ("between 10-20" *between ten and twenty*), or `range`."""
        rw = m.groupdict().get("rw")
        return rw.lower() if rw else self._dash_word(m)

    def _range(self, m: re.Match[str]) -> str:
        # before a counted noun both numbers agree, the first one as not right before it ("una a dos horas")
        counted = self._counted(m) if self.nouns else None
        if counted is None and m.groupdict().get("rw"):  # "1 bis 2" before no counted noun: two numbers
            return m.group(0)
        g = counted[0] if counted else None
        sep = self._range_sep(m)
        # the first number takes the case of its place; the second, after the range word, that case or the
        # one the range word governs (ar "من 10-20": "من عشرة إلى عشرين")
        obl_a = self._oblique_before(_before(m))
        obl_b = obl_a or self._oblique_before(f" {sep} ")
        if g is None and self._is_year_range(m.group("a"), m.group("b"), m.string[: m.start()]):
            a = self._case(self.v.year(int(m.group("a"))), m.group("a"), False, obl_a)
            b = self._case(self.v.year(int(m.group("b"))), m.group("b"), False, obl_b)
            return f" {a} {sep} {b} "
        a = self.read_number(m.group("a"), before=m.string[: m.start()], gender=g, before_noun=False)
        b = self.read_number(m.group("b"), before=m.string[: m.start()], gender=g)
        # the first is followed by the range word, not the noun: ar "100-200" *مائة إلى مئتين*, "200-300 شخص"
        # *مئتان إلى ثلاثمائة شخص*
        a = self.v.standalone(a)
        if g is None and self._no_noun_next(m.string, m.end()):
            b = self.v.standalone(b)
        if g is None and self.before_word is not None:  # ta "20-21 நாட்கள்": "இருபது முதல் இருபத்து ஒரு"
            b = self._before_word(m.string, m.start(), m.end(), m.group("b"), b)
        a = self._case(a, m.group("a"), False, obl_a)
        b = self._case(b, m.group("b"), False, obl_b)
        ctx = self._spoken_context(m.string, m.end()) if self.spoken_fractions is not None else None
        after = m.string[m.end() : m.end() + 40]
        pair = self._spoken_range(m.group("a"), m.group("b"), ctx, after) if ctx is not None else None
        if pair is not None:  # hi "1.5-2.5 लाख" *डेढ़ से ढाई लाख*
            a, b = pair[0] or a, pair[1] or b
        return f" {a} {sep} {b} "

    def _scale_apart(self, m: re.Match[str]) -> str:
        """ta "30 ஆயிரம்" -> "முப்பதாயிரம்", "20-30 ஆயிரம்" -> "இருபது முதல் முப்பதாயிரம்": the number joined
        to the scale word written after it, as the number engine says 30000 (`Verbalizer.joined_scale`)."""
        joined = self.v.joined_scale(int(m.group("num")), m.group("w"))
        if joined is None:
            return m.group(0)
        if m.group("a") is None:
            return f" {joined} "
        return f" {self.v.cardinal(int(m.group('a')))} {self.t['range']} {joined} "

    def _is_year_range(self, a: str, b: str, before: str) -> bool:
        """ "1644-1912": two four-digit numbers, rising, one of them a year (`is_year`) and both in the
        ranges where the table reads years: both are read as years, not one as a plain number."""
        if not (len(a) == len(b) == 4 and a.isdigit() and b.isdigit() and int(a) < int(b)):
            return False
        lo = min(self.year_always[0], self.year_context[0])
        hi = max(self.year_always[1], self.year_context[1])
        return (
            lo <= int(a) and int(b) <= hi and (self.is_year(int(a), before) or self.is_year(int(b), before))
        )

    def _number(self, m: re.Match[str]) -> str:
        if self.spoken_fractions is not None:  # hi "2.5 लाख" *ढाई लाख*, "-2.5 लाख" *माइनस ढाई लाख*
            i, f, _ = self.parse(m.group("num"))
            ctx = self._spoken_context(m.string, m.end()) if f is not None else None
            after = m.string[m.end() : m.end() + 40] if ctx is not None else ""
            said = self._spoken_decimal(i, f, ctx, after) if ctx is not None else None
            if said is not None:
                return f" {self.v.minus} {said} " if m.group("neg") else f" {said} "
        counted = self._counted(m) if self.nouns else None
        neg = bool(m.group("neg"))
        # ar "في 2000" -> "في ألفين": the case last, after agreement and the standalone form
        obl = self._oblique_before(_before(m))
        if counted is None:
            words = self.read_number(m.group("num"), neg, m.string[: m.start()])
            if self.v.standalone_rules and self._no_noun_next(m.string, m.end()):
                words = self.v.standalone(words)  # ar "مئتان" before no word, "مئتا" before its noun
            elif self.before_word is not None and not neg:
                words = self._before_word(m.string, m.start(), m.end(), m.group("num"), words)
            if self.unit_case_words and not neg:  # mr "1 किलोमीटरमध्ये" *एका किलोमीटरमध्ये*
                nxt = _RE_NEXT_WORD.match(m.string, m.end())
                if nxt is not None and nxt.group(1) in self.unit_case_words:
                    words = self._case_number(words)
            words = self._scale_noun_link(m, self._case(words, m.group("num"), neg, obl))
            return f" {self.definite(words) if self._after_article(m) else words} "
        gender, noun, prev = counted
        words = self.read_number(m.group("num"), neg, gender=gender, prev=prev)
        words = self._scale_noun_link(m, self._case(words, m.group("num"), neg, obl))
        return f" {self.elide(self.definite(words) if self._after_article(m) else words, noun)} "  # it "un'ora": joined to the noun

    @staticmethod
    def _after_article(m: re.Match[str]) -> bool:
        """Whether the article is written on the digits of a number match (marked by `_clitic_digits`)."""
        return m.start() > 0 and m.string[m.start() - 1] == _ARTICLE and not m.group("neg")

    def _no_noun_next(self, s: str, end: int) -> bool:
        """Whether no noun follows a number written up to s[end], so that it is said in its `standalone_rules`
        form: no word follows it on its line, or one of `numbers.standalone_before` or `case.after` does (ar
        "2000 و 2001", "2000 من الناس")."""
        if not _RE_WORD_NEXT.match(s, end):
            return True
        return self.re_standalone_next is not None and self.re_standalone_next.match(s, end) is not None

    def _before_word(self, s: str, start: int, end: int, num: str, words: str) -> str:
        """The words of the whole number `num` written at s[start:end], right before a word of the
        language's script, in the attributive form of `numbers_before_word.rules` (ta "ஒரு புத்தகம்",
        "இருபத்து ஒரு நாட்கள்"; te "ఒక పుస్తకం", "ఇరవై ఒక్క రోజులు", "ఐదు వందల పుస్తకాలు"), unless that word
        is one of its `not_before` (ta "1 மற்றும் 2": "ஒன்று"), the number is glued to a letter ("F1") or
        follows one of its `labels` (te "టైప్ 1"). An hour of `time.clock_hour` before an hour noun that
        makes it a clock time is said in its clock form (te "మధ్యాహ్నం 1 గంటకు" *ఒంటి గంటకు*)."""
        bw = self.before_word
        nxt = self.re_word_after.match(s, end)  # type: ignore[union-attr]
        if nxt is None or bw is None or nxt.group(1) in bw["not_before"]:
            return words
        if len(nxt.group(1)) <= 2 and s.startswith(".", nxt.end()):  # te "400 ఏ.డి" (AD)
            return words
        if nxt.group(1).lower() in self.month_index:  # a year or day before a month
            return words
        if start and s[start - 1].isalpha():
            return words
        before = s[max(0, start - 40) : start].split()
        if before and before[-1] in bw["labels"]:
            return words
        digits, frac, _ = self.parse(num)
        if frac is not None or words != self.v.cardinal(int(digits)):  # a decimal, a year, digit by digit
            return words
        lo, hi = bw["years"]
        if lo <= int(digits) <= hi and int(digits) % 100:  # a year ("2001 జనాభా లెక్కల", the 2001 census)
            return words
        clock = self.clock_hour
        if clock and digits in clock["words"]:
            noun = nxt.group(1)
            if noun in clock["nouns"] or (
                noun in clock["day_part_nouns"] and before and before[-1] in clock["day_parts"]
            ):
                return clock["words"][digits]
        return apply_rules(words, bw["rules"])

    def _noun_first(self, m: re.Match[str]) -> str:
        """ar: 1 and 2 are said with a counted noun of `noun_agreement.noun_first`, not before it: the noun
        and 1 as its adjective, agreeing ("1 ساعة" -> "ساعة واحدة", "1 يوم" -> "يوم واحد"), and for 2 the
        noun's dual alone ("2 ساعة" -> "ساعتان"); after a label word the number stays a number."""
        prev = self._prev_word(m)
        if prev is not None and prev.rstrip(".").lower() in self.noun_labels:
            return m.group(0)
        nf, noun = self.noun_first, m.group("w")
        if m.group("num") == "2":
            dual = nf["duals"][noun]  # type: ignore[index]
            if self._oblique_before(_before(m)):
                dual = self.oblique_noun(dual)
            return f" {dual} "
        return f" {noun} {nf['1'][self.nouns.get(noun, 'm')]} "  # type: ignore[index]

    def _range_mark(self, m: re.Match[str]) -> str:
        return f" {self.t['range']} "

    def _roman_ctx(self, m: re.Match[str]) -> str:
        r, w = (m.group("r"), m.group("w")) if m.group("r") else (m.group("r2"), m.group("w2"))
        n = _roman(r)
        if n is None:
            return m.group(0)
        mode = self.roman_ctx[w.lower()]
        words = (
            self.v.ordinal(n)
            if mode == "ordinal" or mode == "ordinal_to_10" and n <= 10
            else self.v.cardinal(n)
        )
        return f" {w} {words} " if m.group("r") else f" {words} {w} "

    def _roman_suf(self, m: re.Match[str]) -> str:
        n = _roman(m.group("r"))
        if n is None or m.start() and m.string[m.start() - 1].isalnum():  # "DIVe": part of a word
            return m.group(0)
        return f" {self.v.ordinal(n, self.ord_suffixes.get(m.group('suf')) or None)} "

    def _letter_digit(self, m: re.Match[str]) -> str:
        """A digit of `text.letter_digits` right after a letter or a vowel sign is the letter it stands for."""
        prev = unicodedata.category(m.string[m.start() - 1])
        return self.letter_digits[m.group(0)] if prev[0] in "LM" else m.group(0)

    def _sym_digit(self, m: re.Match[str]) -> str:
        return f" {self.sym_digit[m.group('s')]} "

    def _symbol(self, m: re.Match[str]) -> str:
        w = self.symbols.get(m.group(0), "")
        return f" {w} " if w else " "

    # -- the pipeline ------------------------------------------------------------------------------
    def normalize(self, text: str) -> str:
        """The spoken form of `text` (see the module docstring for the order of the rules)."""
        s = unicodedata.normalize("NFC", text)
        if self.re_letter_digit is not None:
            s = self.re_letter_digit.sub(self._letter_digit, s)
        if self.re_prep.search(s):
            s = s.translate(self.prep)
        if len(s) >= HUGE_DIGITS and _RE_HUGE_GATE.search(s):
            s = _RE_HUGE_NUMBER.sub(self._huge_number, s)
        if self.re_paired_dash is not None and "-" in s:
            s = self.re_paired_dash.sub(" ", s)
        if self.re_clitic_digits is not None and _RE_DIGIT.search(s):
            s = self.re_clitic_digits.sub(self._clitic_digits, s)
        if "@" in s:
            s = self.re_email.sub(self._email, s)
        if _may_have_url(s):
            s = self.re_url.sub(self._url, s)
        if _RE_DIGIT.search(s) or self.re_power is not None and _RE_POWER_GATE.search(s):
            if self.keep_apostrophe and "'" in s:  # "l'11 settembre": the elided word stays on the number
                s = _RE_ELISION.sub("'\ue000", s)
            if self.re_bare_fraction is not None:
                s = self.re_bare_fraction.sub(r"0\g<0>", s)
            if self.re_decimal_before_scale is not None and self.decimal_before_scale[0] in s:
                s = self.re_decimal_before_scale.sub(self.decimal_before_scale[1], s)
            if self.re_abbr_num is not None and self.re_abbr_num_gate.search(s):  # type: ignore[union-attr]
                s = self.re_abbr_num.sub(self._abbr_num, s)
            low = s.lower()
            seen: dict[int, bool] = {}  # gates on the lowercased text, shared by the month rules: tested once
            # every rule but the power rule matches a digit: once the rules before have said them all, the
            # rest are skipped (most texts have one to three numbers, read by the first rules that fit)
            digits = _RE_DIGIT.search(s) is not None
            for rx, fn, gate, lower, needs_digit, rest_need_digits in self.digit_rules:
                if not digits:
                    if rest_need_digits:
                        break
                    if needs_digit:
                        continue
                if gate is not None:
                    if lower:
                        ok = seen.get(id(gate))
                        if ok is None:
                            ok = seen[id(gate)] = any(g in low for g in gate)  # type: ignore[union-attr]
                        if not ok:
                            continue
                    elif not gate(s):  # type: ignore[operator]
                        continue
                out = rx.sub(fn, s)
                if out is not s:  # (the same object where nothing matched)
                    s = out
                    digits = _RE_DIGIT.search(s) is not None
                    if lower:
                        low = s.lower()
                        seen.clear()
        if self.re_roman_ctx is not None and any(w in s for w in self.roman_gate):
            s = self.re_roman_ctx.sub(self._roman_ctx, s)
        if self.re_roman_suf is not None and ("I" in s or "V" in s or "X" in s):
            s = self.re_roman_suf.sub(self._roman_suf, s)
        if self.re_abbr is not None and self.re_abbr_gate.search(s):  # type: ignore[union-attr]
            s = self.re_abbr.sub(self._abbr, s)
        if self.re_symbols is not None:
            s = self.re_symbols.sub(self._symbol, s)
        if _ARTICLE in s:
            s = re.sub(
                f"(ل?){_ARTICLE}\\s*(?:ال)?", lambda a: "لل" if a.group(1) else "ال", s
            )  # ل + ال: "لل"
        if "\ue000" in s:
            s = re.sub("\ue000\\s*", "", s)
        s = s.lower().translate(self.clean)
        if "'" in s:
            s = _RE_LOOSE_APOSTROPHES.sub(" ", s)
        s = " ".join(s.split())
        if self.re_cjk_space is not None:
            s = self.re_cjk_space.sub("", s)
        return unicodedata.normalize("NFC", s)

    def _huge_number(self, m: re.Match[str]) -> str:
        """A number of `HUGE_DIGITS` digits or more, digit by digit (see there); a shorter one as it is."""
        digits = _RE_NON_DIGIT.sub("", m.group().translate(_SUPERSCRIPT_DIGITS))
        return f" {self.v.digits(digits)} " if len(digits) >= HUGE_DIGITS else m.group()

    def _build_digit_rules(self) -> None:
        """(regex, callback, gate, lower, needs_digit, rest_need_digits) in order; a rule runs only if one of
        its gate strings occurs in the text (lowercased if `lower`), or if a callable gate says so for the text
        as it is then (None: always), and, where `needs_digit` (every rule but the power rule), while a digit
        is left (`rest_need_digits`: so do all the rules from it on, none runs once no digit is left). The
        gates are plain substring tests or regexes that start with a literal, far cheaper than a failed scan
        of the rule's regex."""
        months = _substring_gate([m.lower() for m in self.t["months"]] + [a.lower() for a in self.month_abbr])
        cur = _substring_gate(list(self.cur_code))
        range_gate: tuple[str, ...] | Callable[[str], bool] = ("-", "–", "—")
        # gates that are a part of every match starting with a digit (so that the regex engine skips to the
        # digits), each implying the substring gate it replaces: "2024-03-05" has "2024-0"
        sep = r"(?::|h\s?)" if self.time.get("h_sep") else ":"
        re_phone_gate = re.compile(r"\d[\s.-]\d")
        # (a phone number may be spaced by any white space, the old gate saw a space, "-", ".", "(" or "+")
        phone_gate = lambda s: re_phone_gate.search(s) is not None and any(c in s for c in " -.(+")  # noqa: E731
        ordinal_gate = re.compile(rf"\d(?:{_alternation(list(self.ord_suffixes))})").search
        if self.range_words:  # or a range word between two numbers ("1 bis 2 Stunden")
            words = rf"\d[^\S\r\n]+{self.re_range_word}[^\S\r\n]*\d"
            re_gate = re.compile(words)
            range_gate = lambda s: "-" in s or "–" in s or "—" in s or re_gate.search(s) is not None  # noqa: E731
        rules: list[
            tuple[
                re.Pattern[str] | None,
                Callable[[re.Match[str]], str],
                tuple[str, ...] | Callable[[str], bool] | None,
                bool,
            ]
        ] = [
            (
                self.re_century,
                self._century,
                tuple(self.century.get("gate", [])) if self.century else None,
                False,
            ),
            (self.re_year_mark, self._year_mark, self.year_mark_gate, False),
            (self.re_date_iso, self._date_ymd, re.compile(r"\d\d\d\d-\d").search, False),
            (self.re_date_ymd, self._date_ymd, re.compile(r"\d\d\d\d[./]\d").search, False),
            (self.re_date_num, self._date_num, re.compile(r"\d[./-]\d\d?[./-]\d").search, False),
            (self.re_date_dm_num, self._date_dm_num, _has_dot_day_month, False),
            (self.re_date_dm, self._date_dm, months, True),
            (self.re_date_md, self._date_md, months, True),
            (self.re_date_my, self._date_my, months, True),
            (self.re_duration, self._duration, re.compile(r"\d: ?\d\d").search, False),
            (self.re_time_range, self._time_range, ("-", "–", "—", *self.range_marks), False),
            (self.re_time_range_bare, self._time_range_bare, ("-", "–", "—", *self.range_marks), False),
            (self.re_time, self._time, re.compile(rf"\d{sep}\d\d").search, False),
            (self.re_time_marked, self._time, self._has_time_mark, False),
            (self.re_time_ampm, self._time_ampm, getattr(self.re_time_ampm_gate, "search", None), False),
            (self.re_time_after, self._time_after, tuple(self.hour_after), False),
            (self.re_time_h, self._time_h, re.compile(r"\d\s?h(?!\w)").search, False),
            (self.re_degree_ordinal, self._degree_ordinal, ("°",), False),
            (self.re_fraction, self._fraction, _has_slash_digit, False),
            (self.re_scale_agree, self._scale_agree, self.scale_agree_gate, False),
            (self.re_money_pre, self._money, cur, False),
            (self.re_money_post, self._money, cur, False),
            (self.re_percent, self._percent, ("%",), False),
            (self.re_scale_link, self._scale_word_link, self.scale_link_gate, False),
            (self.re_unit, self._unit, self.re_unit_gate.search, False),
            (self.re_power, self._power, _RE_POWER_GATE.search, False),
            (self.re_phone, self._phone, phone_gate, False),
            (self.re_ordinal, self._ordinal, ordinal_gate, False),
            (self.re_dot_ordinal, self._dot_ordinal, re.compile(r"\d\.").search, False),
            (self.re_decade, self._decade, tuple("0" + x for x in self.decade_suffixes), False),
            (self.re_noun_first, self._noun_first, ("1", "2"), False),
            (self.re_scale_apart, self._scale_apart, tuple(self.scale_stems), False),
            (self.re_range, self._range, range_gate, False),
            (self.re_range_mark, self._range_mark, tuple(self.t.get("range_marks", [])), False),
            (self.re_sym_digit, self._sym_digit, tuple(self.sym_digit), False),
            (self.re_number, self._number, None, False),
        ]
        kept = [r for r in rules if r[0] is not None]
        self.digit_rules: list[
            tuple[
                re.Pattern[str],
                Callable[[re.Match[str]], str],
                tuple[str, ...] | Callable[[str], bool] | None,
                bool,
                bool,
                bool,
            ]
        ] = [
            (
                rx,
                fn,
                _search_gate(gate) if isinstance(gate, tuple) and not lower else gate,
                lower,
                rx is not self.re_power,
                all(r[0] is not self.re_power for r in kept[i:]),
            )
            for i, (rx, fn, gate, lower) in enumerate(kept)
        ]


@cache
def rules_for(lang: str) -> LanguageRules:
    """The compiled rules of a language (built once per process)."""
    return LanguageRules(lang)


def safe_normalize(rules: LanguageRules, text: Any) -> str:
    """`rules.normalize` that never raises: on an internal error the text is only cleaned (digits read
    one by one), and the error is reported once on stderr so that it can be fixed."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    try:
        return rules.normalize(text)
    except Exception as e:  # never fail a data pipeline on one odd line
        if not getattr(safe_normalize, "_warned", False):
            print(
                f"tandem.spoken: internal error on {text[:60]!r}: {e!r} (text only cleaned)", file=sys.stderr
            )
            safe_normalize._warned = True  # type: ignore[attr-defined]
        s = unicodedata.normalize("NFC", text).lower().translate(rules.clean)
        return " ".join(s.split())
