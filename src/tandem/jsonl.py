"""Reading jsonl files with errors that name the file and line (torch-free, shared by every loader)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from tandem.errors import TandemError


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line; a malformed line is a TandemError naming it."""
    p = Path(path)
    if not p.is_file():
        raise TandemError(f"{p}: file not found")
    with p.open("rb") as f:
        for i, raw in enumerate(f, 1):
            if i == 1 and raw.startswith(b"\xef\xbb\xbf"):  # a byte-order mark (Windows editors): not data
                raw = raw[3:]
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise TandemError(
                    f"{p} line {i}: not valid UTF-8 (byte {e.start + 1} of the line); save the file as UTF-8 "
                    "or remove the line"
                ) from None
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise TandemError(f"{p} line {i}: not valid JSON ({e.msg}); fix or remove the line") from e
            if not isinstance(obj, dict):
                raise TandemError(f"{p} line {i}: expected a JSON object, got {type(obj).__name__}")
            yield i, obj
