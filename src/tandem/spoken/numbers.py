"""Numbers as words in one language: cardinals, ordinals, years, decimals and digit-by-digit readings.

Languages num2words covers well are verbalised by num2words; the rest (hi, mr, ta, te) by a compact
rule-based verbaliser for the Indian numbering system (hundred, thousand, lakh, crore) whose words and
joining forms come from the language's table. Every reading is cached: the same number recurs often.
"""

from __future__ import annotations

import copy
import os
import re
from functools import lru_cache
from typing import Any

from num2words import num2words

try:  # num2words' converters, read directly (see `_converter`)
    from num2words import CONVERTER_CLASSES
    from num2words.base import Num2Word_Base
except ImportError:  # a num2words laid out otherwise: every call goes through num2words()
    CONVERTER_CLASSES, Num2Word_Base = {}, None

# Beyond this many digits a number is read digit by digit: nobody says "one quintillion ..." aloud.
MAX_CARDINAL = 10**15


def _converter(lang: str) -> Any | None:
    """num2words' converter of `lang`, picked as `num2words()` picks it, or None where it has none (calls
    then go through `num2words()`, which raises as before). Where the converter splits numbers with
    num2words' own `splitnum` and `clean` (en, de, fr, es, pt), a copy of it with `splitnum` memoised:
    those two are pure and never change the lists they are given, so the words are the same, and a large
    number reuses the parts of the numbers read before ("1,234,567" -> 1, 234 and 567, each split once;
    num2words walks its whole table of scale words for each)."""
    conv = CONVERTER_CLASSES.get(lang if lang in CONVERTER_CLASSES else lang[:2])
    if conv is None:
        return None
    if type(conv).splitnum is Num2Word_Base.splitnum and type(conv).clean is Num2Word_Base.clean:
        conv = copy.copy(conv)  # (the shared converter is left as it is)
        conv.splitnum = lru_cache(maxsize=4096)(conv.splitnum)
    return conv


def _clean(words: str) -> str:
    """num2words punctuation ("twenty-one", "one million, two ...") to plain space-separated words."""
    return " ".join(re.sub(r"[-,]", " ", words).split())


# the rules' regexes, compiled once (re's own cache is slower to look up)
_compiled = lru_cache(maxsize=4096)(re.compile)


def apply_rules(word: str, rules: list[list[str]]) -> str:
    """Apply the first matching [regex, replacement] suffix rule to `word` (rules are data)."""
    for pattern, repl in rules:
        new, n = _compiled(pattern).subn(repl, word, count=1)
        if n:
            return new
    return word


class Verbalizer:
    """Reads numbers aloud in one language, following the `numbers` section of its table."""

    def __init__(self, lang: str, table: dict[str, Any]):
        self.lang = lang
        spec = table["numbers"]
        self.engine: str = spec["engine"]
        self.n2w_lang: str = spec.get("num2words_lang", lang)
        self.digit_words: list[str] = spec["digits"]
        self.point: str = spec["point"]
        self.minus: str = spec["minus"]
        self.ordinal_engine: str = spec.get("ordinal_engine", self.engine)
        self.ordinal_exceptions: dict[str, str] = spec.get("ordinal_exceptions", {})
        self.ordinal_rules: list[list[str]] = spec.get("ordinal_rules", [])
        self.ordinal_variants: dict[str, list[list[str]]] = spec.get("ordinal_variants", {})
        self.year_spec: dict[str, Any] = spec.get("year", {"mode": "cardinal"})
        self.standalone_rules: list[list[str]] = spec.get("standalone_rules", [])
        self.standalone_before: list[str] = spec.get("standalone_before", [])
        self._n2w = _converter(self.n2w_lang)
        self._joinable: list[
            tuple[str, str, str, int | None, list[str], dict[str, list[str]], list[list[str]]]
        ] = []
        if self.engine == "indic":
            self._init_indic(spec["indic"])
        self.cardinal = lru_cache(maxsize=4096)(self._cardinal)
        self.ordinal = lru_cache(maxsize=1024)(self._ordinal)
        self.year = lru_cache(maxsize=1024)(self._year)

    # -- Indian numbering system -------------------------------------------------------------------
    def _init_indic(self, spec: dict[str, Any]) -> None:
        if "below_100" in spec:
            below = list(spec["below_100"])
        else:  # ones 0..19 plus tens, [standalone, joining] forms, composed as "<tens> <ones>"
            ones, tens = spec["ones"], spec["tens"]
            below = list(ones)
            for n in range(20, 100):
                t, u = divmod(n, 10)
                below.append(tens[str(t)][0] if u == 0 else f"{tens[str(t)][1]} {ones[u]}")
        if len(below) != 100:
            raise ValueError(f"{self.lang}: numbers.indic must give 100 words below 100, got {len(below)}")
        self.below_100 = below
        # descending (value, joining template pair, table of irregular multiplier forms, rules)
        self.scales = sorted(
            ((int(s["value"]), s["word"], s.get("table", {}), s.get("rules", [])) for s in spec["scales"]),
            key=lambda x: -x[0],
        )
        self._joinable = self._joinable_scales()

    def _scale_part(
        self, q: int, word: list[str], table: dict[str, list[str]], rules: list[list[str]]
    ) -> tuple[str, str]:
        """The multiplier `q` with its scale word, (standalone, joining): the table's irregular form, or the
        templates filled with `q`'s words and then the scale's `rules` (ta "முப்பது ஆயிரம்" -> "முப்பதாயிரம்")."""
        if str(q) in table:
            standalone, joining = table[str(q)]
            return standalone, joining
        head = self.cardinal(q)
        return apply_rules(word[0].format(n=head), rules), apply_rules(word[1].format(n=head), rules)

    def scale_stems(self) -> list[str]:
        """The stems of the scale words that have `rules` (the letters their standalone and joining forms
        share: ta "ஆயிர" of "ஆயிரம்", "ஆயிரத்து"), the words `joined_scale` joins a number to."""
        return [stem for stem, *_ in self._joinable]

    def _joinable_scales(
        self,
    ) -> list[tuple[str, str, str, int | None, list[str], dict[str, list[str]], list[list[str]]]]:
        """(stem, standalone ending, joining ending, limit, word, table, rules) of each scale with `rules`;
        `limit`: the multipliers below it are said with this scale (100 for a thousand, below a lakh)."""
        out = []
        larger = None
        for value, word, table, rules in self.scales:  # (descending)
            alone, joining = (w.replace("{n}", "").strip() for w in word)
            stem = os.path.commonprefix([alone, joining])
            if rules and stem:
                limit = larger // value if larger else None
                out.append((stem, alone[len(stem) :], joining[len(stem) :], limit, word, table, rules))
            larger = value
        return out

    def joined_scale(self, q: int, written: str) -> str | None:
        """The whole number `q` said with the scale word `written` right after it (apart: ta "30 ஆயிரம்"),
        as `q` times the scale is said (ta "முப்பதாயிரம்", "மூவாயிரம்", "முப்பத்து ஓராயிரம்"), the written
        word's ending kept ("30 ஆயிரத்தில்" *முப்பதாயிரத்தில்*); None where `written` begins with the stem of
        no scale that has `rules`, `q` is said with a larger scale (100 thousand is a lakh), or its forms do
        not end in the scale's endings."""
        if q < 1:
            return None
        for stem, end_alone, end_joining, limit, word, table, rules in self._joinable:
            if not written.startswith(stem):
                continue
            if limit is not None and q >= limit:
                return None
            alone, joining = self._scale_part(q, word, table, rules)
            if not (alone.endswith(end_alone) and joining.endswith(end_joining)):
                return None
            head = alone[: len(alone) - len(end_alone)]
            if head != joining[: len(joining) - len(end_joining)]:
                return None
            return head + written[len(stem) :]
        return None

    def _indic(self, n: int) -> str:
        if n < 100:
            return self.below_100[n]
        parts: list[tuple[str, str]] = []
        rest = n
        for value, word, table, rules in self.scales:
            q, rest = divmod(rest, value)
            if q:
                parts.append(self._scale_part(q, word, table, rules))
        words = [joining for _, joining in parts[:-1]]
        if rest:
            words += [parts[-1][1], self.below_100[rest]]
        else:
            words.append(parts[-1][0])
        return " ".join(words)

    def _num2words(self, n: int, to: str) -> str:
        """`num2words(n, lang=..., to=to)` through the converter of `_converter`."""
        if self._n2w is None:
            return num2words(n, lang=self.n2w_lang, to=to)
        return getattr(self._n2w, f"to_{to}")(n)

    # -- public readings ---------------------------------------------------------------------------
    def digits(self, s: str) -> str:
        """Read a digit string one digit at a time ("0123" -> "zero one two three")."""
        return " ".join(self.digit_words[ord(c) - 48] for c in s if "0" <= c <= "9")

    def _cardinal(self, n: int) -> str:
        if n < 0:
            return f"{self.minus} {self.cardinal(-n)}"
        if n >= MAX_CARDINAL:
            return self.digits(str(n))
        try:
            if self.engine == "indic":
                return self._indic(n)
            return _clean(self._num2words(n, "cardinal"))
        except Exception:  # num2words gaps (overflow, missing forms): fall back to digits, never raise
            return self.digits(str(n))

    def _ordinal(self, n: int, variant: str | None = None) -> str:
        if n >= MAX_CARDINAL or n < 0:
            return self.cardinal(n)
        base: str | None = self.ordinal_exceptions.get(str(n))
        if base is None:
            if self.ordinal_engine == "num2words":
                try:
                    base = _clean(self._num2words(n, "ordinal"))
                except Exception:
                    base = self.cardinal(n)
            elif self.ordinal_engine == "rules":
                base = apply_rules(self.cardinal(n), self.ordinal_rules)
            else:  # no ordinal reading known for this language: the cardinal is the closest spoken form
                base = self.cardinal(n)
        if variant and variant in self.ordinal_variants:
            words = base.split()
            rules = self.ordinal_variants[variant]
            base = " ".join(apply_rules(w, rules) for w in words)
        return base

    def standalone(self, words: str) -> str:
        """Number words said on their own, before no noun: the table's `standalone_rules` applied to the
        last word (ar: num2words ends 200 and 2000 with the construct forms "مئتا", "ألفا" of "مئتا شخص";
        alone they are "مئتان", "ألفان")."""
        if not self.standalone_rules:
            return words
        head, _, last = words.rpartition(" ")
        return f"{head} {apply_rules(last, self.standalone_rules)}".lstrip()

    def _year(self, n: int) -> str:
        return self.standalone(self._year_words(n))

    def _year_words(self, n: int) -> str:
        mode = self.year_spec.get("mode", "cardinal")
        if mode == "num2words":
            try:
                return _clean(self._num2words(n, "year"))
            except Exception:
                return self.cardinal(n)
        if mode == "hundreds":
            lo_y, hi_y = self.year_spec["range"]
            if lo_y <= n <= hi_y:
                hi, lo = divmod(n, 100)
                text = self.year_spec["template"].format(
                    hi=self.cardinal(hi), lo=self.cardinal(lo) if lo else ""
                )
                return " ".join(text.split())
        return self.cardinal(n)

    def decimal(self, int_part: str, frac_part: str) -> str:
        """ "3", "14" -> "three point one four": the fraction digit by digit, as it is said aloud."""
        return f"{self.cardinal(int(int_part))} {self.point} {self.digits(frac_part)}"

    def number(self, int_part: str, frac_part: str | None = None, negative: bool = False) -> str:
        """A parsed number (integer digits, optional fraction digits, sign) as words."""
        words = self.decimal(int_part, frac_part) if frac_part else self.cardinal(int(int_part))
        return f"{self.minus} {words}" if negative else words
