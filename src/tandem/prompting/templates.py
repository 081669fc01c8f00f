"""AlexaTM-style in-context prompts: demonstrations and the query all go to the encoder.

    [CLM] <demo input> <demo target><delim><demo input> <demo target><delim><query input>

`[CLM] ` switches an AlexaTM model into causal-LM mode (best for in-context learning). The released tokenizer
strips `\\n`, so `;` or `<br>` are the usual delimiters; a newline is available for tokenizers that keep it.
When a prompt is longer than the encoder accepts, whole demonstrations are dropped (the oldest first) and
counted; the query is never cut: a query that does not fit on its own is a counted skip.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tandem.errors import TandemError

DELIMITERS = {"semicolon": "; ", "br": " <br> ", "newline": "\n"}


@dataclass(frozen=True)
class PromptFormat:
    """Prefix and demonstration delimiter of a prompt."""

    prefix: str = "[CLM] "
    delimiter: str = "; "

    @classmethod
    def named(cls, delimiter: str = "semicolon", clm_prefix: bool = True) -> PromptFormat:
        """A format from a delimiter name (semicolon, br, newline) or a literal delimiter string."""
        delim = DELIMITERS.get(delimiter, delimiter)
        if not delim:
            raise TandemError("the prompt delimiter must not be empty")
        return cls(prefix="[CLM] " if clm_prefix else "", delimiter=delim)

    @property
    def stop(self) -> str:
        """Where a generated answer ends: the delimiter without its padding spaces."""
        return self.delimiter.strip() or self.delimiter


def build_prompt(demos: Sequence[str], query: str, fmt: PromptFormat) -> str:
    """Prefix + delimiter-joined demonstrations (each input followed by its answer) + the query input."""
    return fmt.prefix + fmt.delimiter.join([*demos, query])


@dataclass
class FittedPrompt:
    text: str | None  # None: the query alone is too long (skip the example)
    num_demos: int  # demonstrations kept
    dropped: int  # demonstrations dropped to fit
    length: int  # encoder tokens of `text` (of the bare query when skipped)


def fit_prompt(
    demos: Sequence[str],
    query: str,
    fmt: PromptFormat,
    length_of: Callable[[str], int],
    max_length: int | None,
) -> FittedPrompt:
    """The longest prompt that fits `max_length` encoder tokens, dropping whole demonstrations first."""
    demos = list(demos)
    text = build_prompt(demos, query, fmt)
    n = length_of(text)
    if max_length is None or n <= max_length:
        return FittedPrompt(text, len(demos), 0, n)
    alone = build_prompt([], query, fmt)
    n_alone = length_of(alone)
    if n_alone > max_length:
        return FittedPrompt(None, 0, len(demos), n_alone)
    # binary search the number of kept (most recent) demonstrations: length grows with it
    lo, hi = 0, len(demos) - 1  # lo always fits
    best_text, best_len = alone, n_alone
    while lo < hi:
        mid = (lo + hi + 1) // 2
        t = build_prompt(demos[len(demos) - mid :], query, fmt)
        m = length_of(t)
        if m <= max_length:
            lo, best_text, best_len = mid, t, m
        else:
            hi = mid - 1
    return FittedPrompt(best_text, lo, len(demos) - lo, best_len)
