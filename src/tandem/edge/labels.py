"""SLU tag labels for the edge runtime: read `labels.json` and map generated tag tokens back to names.

A student fine-tuned with `tandem finetune --slu-tags` writes each intent and slot name as one reserved
tokenizer tag (`<tag_3><tag_17> the beatles`); the names live in `labels.json` beside the model
(written by `tandem.finetune.SLULabels`). This module reads the same file without importing torch, so the
edge runtime and the server can turn tag outputs into `intent ; slot = value` text before parsing.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from tandem.errors import TandemError

LABELS_FILE = "labels.json"
LABELS_FORMAT = "tandem-slu-tags/1"  # the format tandem.finetune.SLULabels writes
_TAG_SPLIT = re.compile(r"<tag_(\d+)>")


@dataclass(frozen=True)
class TagLabels:
    """Intent names take `<tag_0>`..`<tag_{I-1}>`, slot names the next tags (as in SLULabels)."""

    intents: tuple[str, ...]
    slots: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.intents) + len(self.slots)

    @classmethod
    def load(cls, path: str | os.PathLike) -> TagLabels | None:
        """The labels.json in a directory (or that file); None when there is none."""
        p = Path(path)
        p = p / LABELS_FILE if p.is_dir() else p
        if not p.is_file():
            return None
        try:
            d = json.loads(p.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise TandemError(f"{p}: not valid JSON ({e.msg}); delete it or rewrite it") from e
        if not isinstance(d, dict) or d.get("format") != LABELS_FORMAT:
            raise TandemError(f"{p}: field 'format' must be {LABELS_FORMAT!r}")
        if not all(isinstance(d.get(k), list) for k in ("intents", "slots")):
            raise TandemError(f"{p}: fields 'intents' and 'slots' must be lists of names")
        return cls(tuple(str(x) for x in d["intents"]), tuple(str(x) for x in d["slots"]))

    def tags(self) -> list[str]:
        """Every tag this label set can emit, in id order."""
        return [f"<tag_{i}>" for i in range(len(self))]

    def to_linearized(self, text: str) -> str:
        """A generated tag-format parse as `tandem.slu.linearize` text; never raises.

        The first tag names the intent when it is an intent tag; each slot tag takes the text up to the next
        tag as its value (tags out of range and empty values are dropped). Text without any tag is returned
        unchanged: it is already linearised."""
        from tandem.slu import linearize

        parts = _TAG_SPLIT.split(text)
        if len(parts) == 1:
            return text
        n_int = len(self.intents)
        intent, slots = "", []
        for k in range(1, len(parts), 2):
            i, value = int(parts[k]), " ".join(parts[k + 1].split())
            if k == 1 and i < n_int:
                intent = self.intents[i]
            elif n_int <= i < len(self) and value:
                slots.append((self.slots[i - n_int], value))
        return linearize(intent, slots)
