"""13-gram decontamination: drop pretraining documents that share an n-gram with evaluation texts."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

from tandem.errors import TandemError

# Words, and single characters of scripts written without spaces (so Japanese gets n-grams too).
_WORD = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]|\w+", re.UNICODE)


def ngrams(text: str, n: int = 13) -> set[int]:
    """Hashes of the lower-cased word n-grams of a text (empty if it has fewer than n words)."""
    words = _WORD.findall(text.lower())
    return {hash(tuple(words[i : i + n])) for i in range(len(words) - n + 1)}


class Decontaminator:
    """Holds the n-grams of evaluation texts; `contaminated(doc)` is True when a document shares one."""

    def __init__(self, texts: Iterable[str], n: int = 13) -> None:
        if n < 1:
            raise TandemError(f"Decontaminator: n must be >= 1, got {n}")
        self.n = n
        self.grams: set[int] = set()
        self.num_texts = 0
        for t in texts:
            self.grams |= ngrams(t, n)
            self.num_texts += 1

    @classmethod
    def from_files(cls, paths: Iterable[str | Path], field: str | None = None, n: int = 13) -> Decontaminator:
        """Evaluation texts from files: one text per line, or for .jsonl the string `field` (or every string
        value of each row when field is None)."""

        def texts() -> Iterable[str]:
            for p in paths:
                p = Path(p)
                if not p.is_file():
                    raise TandemError(f"decontamination file {p} not found")
                with open(p, encoding="utf-8", errors="replace") as fh:
                    for lineno, line in enumerate(fh, 1):
                        if p.suffix.lower() not in (".jsonl", ".ndjson"):
                            yield line
                            continue
                        if not line.strip():
                            continue
                        try:
                            row = json.loads(line)
                        except json.JSONDecodeError:
                            raise TandemError(f"{p} line {lineno}: invalid JSON") from None
                        if field is not None:
                            if isinstance(row, dict) and isinstance(row.get(field), str):
                                yield row[field]
                        elif isinstance(row, dict):
                            yield from (v for v in row.values() if isinstance(v, str))

        return cls(texts(), n)

    def contaminated(self, text: str) -> bool:
        """True when the text shares at least one n-gram with the evaluation texts."""
        if not self.grams:
            return False
        words = _WORD.findall(text.lower())
        n = self.n
        return any(hash(tuple(words[i : i + n])) in self.grams for i in range(len(words) - n + 1))
