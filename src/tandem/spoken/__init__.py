"""Written-to-spoken-form text normalisation for the 12 AlexaTM languages.

`to_spoken("Call me at 7:30 pm on 3/4/2024, it costs $5.99", "en")` gives
"call me at seven thirty p m on march fourth twenty twenty four it costs five dollars and ninety nine cents":
numbers, dates, times, money, measures, symbols, URLs and e-mails written out as words, then lowercased
and stripped of punctuation, the way ASR output (and Alexa's inputs) look. Rules are per-language data
tables (`tandem/spoken/languages/*.json`); numbers are read by num2words where it covers the language
well, and by a rule-based verbaliser of the Indian numbering system for hi, mr, ta and te.
The function is deterministic, never raises on odd text, is idempotent and leaves no ASCII digits.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from tandem.spoken.rules import LanguageRules, rules_for, safe_normalize
from tandem.spoken.tables import SUPPORTED_LANGUAGES, canonical_language

__all__ = ["SUPPORTED_LANGUAGES", "to_spoken", "normalize_lines"]

# the rules of each language asked for by its own code ("en"): no tag to read on every call
_BY_CODE: dict[str, LanguageRules] = {}


def to_spoken(text: str, lang: str) -> str:
    """The spoken form of `text` in language `lang` (one of SUPPORTED_LANGUAGES; "en-US" is read as "en").

    Raises TandemError only for an unsupported language; any text, however odd, gives a string.
    """
    rules = _BY_CODE.get(lang) if type(lang) is str else None
    if rules is None:
        rules = rules_for(canonical_language(lang))
        if type(lang) is str and lang in SUPPORTED_LANGUAGES:
            _BY_CODE[lang] = rules
    return safe_normalize(rules, text)


def normalize_lines(lines: Iterable[str], lang: str) -> Iterator[str]:
    """Spoken form of each line (trailing newline dropped), lazily: for data pipelines and the CLI."""
    rules = rules_for(canonical_language(lang))
    for line in lines:
        yield safe_normalize(rules, line.rstrip("\r\n") if isinstance(line, str) else line)
