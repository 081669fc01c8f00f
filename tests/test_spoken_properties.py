"""Property tests of tandem.spoken on random mixed text: never raises, no ASCII digits remain, idempotent.

The strict path (`rules_for(lang).normalize`, without the never-raise fallback) is exercised so that an
internal error fails the test instead of being hidden by the fallback.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tandem.spoken import SUPPORTED_LANGUAGES, to_spoken
from tandem.spoken.rules import _RE_DIGIT, _may_have_url, rules_for

# Pieces that trigger every rule, glued together at random with separators and noise.
PIECES = [
    "1", "07", "12", "123", "1234", "2024", "1999", "12345678901", "1,234", "1.234", "1 234", "12,34,567",
    "3.5", "3,5", "-7", "−7", "1/2", "3/4", "½", "25%", "٪", "$", "€", "£", "¥", "₹", "R$", "USD", "EUR", "Rs.",
    "7:30", "19h30", "7 pm", "a.m.", "Uhr", "3/4/2024", "2024-05-01", "12.05.2024", "March", "mai", "de",
    "1st", "2nd", "3e", "1er", "2º", "3ª", "5वां", "1ला", "21ஆம்", "2వ", "km", "kg", "°C", "km/h", "m²",
    "+1", "555-123-4567", "(555)", "a.b@c.com", "www.x.org/a1", "http://y.de", "Dr.", "z.B.", "No.",
    "Nr.", "n°", "Mme", "#", "&", "@", "=", "×", "'", "’", "\"", "-", "–", "/", ".", ",", ":", ";", "!", "?",
    "(", ")", "١٢", "४५", "௧௨", "౩", "１２", "日", "年", "ありがとう", "नमस्ते", "வணக்கம்", "مرحبا", "Straße",
    "İ", "ﬁ", "😀", "\u200d", "\u200c", "\u00a0", "\t", "\n", "e", "s", "h", "x",
    "14.30", "Uhr", "बजे", "〜", "XXIe", "Ier", "siglo XXI", "secolo", "Mio.", "million", "$5-10", "5-10 km",
    "3 1/2", "l'11", "3.2.1", "1990er", "2nde", "al 2°", "01 23 45 67 89", "am 3.5.",
    "horas", "Stunde", "Seite", "ora", "heures", "años", "mil", "vor",
]  # fmt: skip
SEPARATORS = ["", " ", "  ", ", ", ". ", "-", "/", ":"]

mixed_text = st.lists(
    st.tuples(st.sampled_from(PIECES), st.sampled_from(SEPARATORS)), min_size=0, max_size=14
).map(lambda parts: "".join(p + s for p, s in parts))
any_text = st.one_of(mixed_text, st.text(max_size=40))


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(text=any_text)
def test_no_digits_and_idempotent(lang: str, text: str) -> None:
    rules = rules_for(lang)
    out = rules.normalize(text)  # strict: an internal error fails here
    assert not re.search(r"[0-9]", out), (text, out)
    assert rules.normalize(out) == out, (text, out)
    assert out == " ".join(out.split())


@settings(max_examples=40, deadline=None, derandomize=True)
@given(text=st.text(max_size=60), lang=st.sampled_from(SUPPORTED_LANGUAGES))
def test_public_function_never_raises(text: str, lang: str) -> None:
    out = to_spoken(text, lang)
    assert isinstance(out, str) and not re.search(r"[0-9]", out)
    assert to_spoken(out, lang) == out


# The cheap tests that let the spoken-form rules skip a text (gates, look-aheads, the digit check) must never
# skip a text that the rule itself would match: they are written by hand next to the rules' regexes and must
# stay in step with them (a gate that misses a match would silently change outputs). Checked on random mixed
# text built from each language's own units, currencies, abbreviations, months and ordinal suffixes.


def _pieces(lang: str) -> list[str]:
    r = rules_for(lang)
    words = [*r.unit_key, *r.cur_code, *r.abbr, *r.abbr_num, *r.t["months"], *r.month_abbr, *r.ord_suffixes]
    words += [*r.time_suffixes, *r.dot_ordinals, *r.degree_ordinals, *r.decade_suffixes, *r.range_words]
    words += [*r.hour_after, *(r.year_marks or {}).get("marks", {})]
    # scale words after amounts (hi/mr/ta/te "लाख", ta "ஆயிரம்" written apart), with a case ending (mr "लाखांचा")
    msc = r.money_scale_cases or {}
    words += [
        *r.money_scales,
        *r.day_part_words,
        *(f"{a}{b}" for a in msc.get("stems", {}) for b in msc.get("endings", [])),
    ]
    return sorted(set(PIECES + words + ["10", "2", "31", "2024", "12:30", "4:41.30", "00", "0"]))


def _text(lang: str) -> st.SearchStrategy[str]:
    return st.lists(
        st.tuples(st.sampled_from(_pieces(lang)), st.sampled_from(SEPARATORS)), min_size=1, max_size=10
    ).map(lambda parts: "".join(p + s for p, s in parts))


def _passes(gate, lower: bool, text: str) -> bool:
    if gate is None:
        return True
    if lower:
        return any(g in text.lower() for g in gate)
    return bool(gate(text))


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_no_gate_skips_a_text_its_rule_matches(lang, data):
    r = rules_for(lang)
    text = data.draw(_text(lang))
    for rx, fn, gate, lower, needs_digit, *_ in r.digit_rules:
        if rx.search(text):
            assert _passes(gate, lower, text), (fn.__name__, text)
            assert not needs_digit or _RE_DIGIT.search(text), (fn.__name__, text)
    if r.re_url.search(text):
        assert _may_have_url(text), text
    if r.re_abbr is not None and r.re_abbr.search(text):
        assert r.re_abbr_gate.search(text), text
    if r.re_abbr_num is not None and r.re_abbr_num.search(text):
        assert r.re_abbr_num_gate.search(text), text
    if text.translate(r.prep) != text:
        assert r.re_prep.search(text), text


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_gates_on_written_examples(lang):
    """Each rule's gate lets through a plain example of what the rule reads (the gates are not vacuous)."""
    r = rules_for(lang)
    examples = ["2024-05-01", "2024/05/01", "3/4/2024", "4:41.30", "12:30", "7 pm", "5 h", "555-123-4567"]
    examples += [f"1{s}" for s in r.ord_suffixes] + [f"5 {u}" for u in list(r.unit_key)[:20]]
    examples += [f"{w} 8" for w in r.hour_after] + [
        f"1990 {k}" for k in (r.year_marks or {}).get("marks", [])
    ]
    for text in examples:
        for rx, fn, gate, lower, *_ in r.digit_rules:
            if rx.search(text):
                assert _passes(gate, lower, text), (fn.__name__, text)


@pytest.mark.parametrize("lang", [x for x in SUPPORTED_LANGUAGES if rules_for(x).v.engine == "num2words"])
def test_number_words_are_num2words_own(lang):
    """The verbaliser reads numbers through a copy of num2words' converter (its number splitting memoised):
    every cardinal, ordinal and year is num2words' own (or the same error), also after the parts have been
    read before."""
    import random

    from num2words import num2words

    from tandem.spoken.numbers import Verbalizer

    def outcome(f, *args, **kw):
        try:
            return f(*args, **kw)
        except Exception as e:  # the same error on both sides
            return type(e)

    v = Verbalizer(lang, rules_for(lang).t)  # fresh caches
    rng = random.Random(lang)
    nums = list(range(0, 300)) + [rng.randint(0, 10**k) for k in range(4, 15) for _ in range(15)]
    for to, sample in (("cardinal", nums + nums[::-1]), ("ordinal", nums[::3]), ("year", nums[::3])):
        for n in sample:
            assert outcome(v._num2words, n, to) == outcome(num2words, n, lang=v.n2w_lang, to=to), (to, n)
