"""Reading jsonl files with errors that name the file and line (torch-free, shared by every loader)."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tandem.errors import TandemError

# A JSON line is parsed whole, so readers that bound what they hold (the pretraining Reader, tokenizer
# training) skip one longer than this many times their text limit, reading it to its end in chunks: the
# margin leaves room for a text at the limit written with \uXXXX escapes (6 bytes a character)
JSON_LINE_FACTOR = 16

_BAD_BYTE = re.compile("[\udc80-\udcff]")  # how errors="surrogateescape" shows an undecodable byte

# What json.loads raises for a line it cannot read: JSONDecodeError (a ValueError) for bad syntax, but also a
# plain ValueError for an integer of over 4300 digits and RecursionError for arrays/objects nested too deeply
JSON_ERRORS = (ValueError, RecursionError)


def json_error_reason(e: BaseException) -> str:
    """Why json.loads failed, in words for an error message (one of JSON_ERRORS)."""
    if isinstance(e, json.JSONDecodeError):
        return e.msg
    if isinstance(e, RecursionError):
        return "arrays or objects nested too deeply"
    # (the int-digits limit's advice, "; use sys.set_int_max_str_digits()", is for the reading code)
    return str(e).split("; use sys.")[0]


def check_utf8(line: str, path: Path | str, lineno: int) -> str:
    """`line` (read with errors="surrogateescape"), or a TandemError naming `path`, the line and the first byte
    that is not UTF-8."""
    m = _BAD_BYTE.search(line)
    if m:
        raise TandemError(
            f"{path} line {lineno}: not valid UTF-8 (byte 0x{ord(m.group()) - 0xDC00:02x} at column "
            f"{m.start() + 1}); convert the file to UTF-8"
        )
    return line


def lone_surrogate(field: str, text: str) -> str | None:
    """What is wrong with a JSON string holding a lone surrogate (a valid `\\ud800` escape, but no Unicode
    character: the tokenizer cannot encode it), naming `field` and the character; None for valid text."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        return (
            f"field {field!r} has the lone surrogate {text[e.start]!r} at character {e.start}, which is not a "
            "Unicode character (escape a character outside the BMP as a surrogate pair, or write it as UTF-8)"
        )
    return None


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # a \ud800-\udfff escape: maybe half of a valid pair


def _unencodable(value: Any, where: str = "") -> str | None:
    """What is wrong with the first string in a parsed JSON value (keys too) that holds a lone surrogate,
    naming its field (`passage.text`, `choices[1]`); None when every string is valid text."""
    if isinstance(value, str):
        return lone_surrogate(where or "the value", value)
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for k, v in items:
        sub = f"{where}[{k}]" if isinstance(k, int) else f"{where}.{k}" if where else str(k)
        bad = (lone_surrogate(f"{sub} (the key)", k) if isinstance(k, str) else None) or _unencodable(v, sub)
        if bad:
            return bad
    return None


def need_file(path: Path, what: str = "") -> None:
    """A TandemError unless `path` can be read as a file: a folder is named as one (it was "file not found");
    a pipe or device is fine (`<(zcat x.gz)`, `/dev/stdin`, `/dev/null`), as for any Unix tool."""
    if path.is_dir():
        raise TandemError(f"{what}{path}: is a folder, not a file; give the path of a file in it")
    if not path.exists():
        raise TandemError(f"{what}{path}: file not found")


def read_text(path: str | Path) -> str:
    """The whole UTF-8 text of a file; a missing, unreadable or non-UTF-8 file is a TandemError naming it
    (and, for bad bytes, the line)."""
    p = Path(path)
    need_file(p)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise TandemError(f"{p}: cannot read ({e.strerror or e}); check the path and permissions") from e
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        lineno = data.count(b"\n", 0, e.start) + 1
        raise TandemError(f"{p} line {lineno}: not valid UTF-8; convert the file to UTF-8") from e


def read_json(path: str | Path) -> Any:
    """The JSON value of a UTF-8 file (a byte-order mark dropped); a missing file, bytes that are not UTF-8
    (named by line) or JSON that json.loads cannot read (also nested too deeply, an integer of over 4300
    digits) is a TandemError naming the file."""
    p = Path(path)
    text = read_text(p)
    try:
        return json.loads(text)
    except JSON_ERRORS as e:
        why = str(e) if isinstance(e, json.JSONDecodeError) else json_error_reason(e)
        raise TandemError(f"{p}: not valid JSON ({why})") from e


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line; a malformed line is a TandemError naming it. A .gz file
    is read through gzip as a pretraining source's is (`tandem.data.sources.open_data_file`: other
    compressions and archives are refused, a damaged .gz file is named)."""
    from tandem.data.sources import _GZ_ERRORS, gzip_error, is_gzip, open_data_file  # numpy: on first use

    p = Path(path)
    need_file(p)
    with io.TextIOWrapper(open_data_file(p, ""), encoding="utf-8-sig", errors="surrogateescape") as f:
        i = 0
        try:
            for i, line in enumerate(f, 1):
                check_utf8(line, p, i)
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except JSON_ERRORS as e:
                    raise TandemError(
                        f"{p} line {i}: not valid JSON ({json_error_reason(e)}); fix or remove the line"
                    ) from e
                if not isinstance(obj, dict):
                    raise TandemError(f"{p} line {i}: expected a JSON object, got {type(obj).__name__}")
                # a "\ud800" escape is valid JSON but no text: the tokenizer would fail later, naming no line
                bad = _SURROGATE_ESCAPE.search(line) and _unencodable(obj)
                if bad:
                    raise TandemError(f"{p} line {i}: {bad}")
                yield i, obj
        except _GZ_ERRORS as e:
            if not is_gzip(p):
                raise
            raise gzip_error(p, "", e, i) from None


def read_lines(path: str | Path) -> list[str]:
    """The lines of a UTF-8 text file, split at \\n (and \\r\\n) only, as `wc -l` and line-aligned corpora
    count them: `str.splitlines` would also split inside a line at U+2028, U+0085 or a form feed and shift
    every later line against its parallel file."""
    return split_lines(read_text(path))


def split_lines(text: str) -> list[str]:
    """`text` split into lines as `read_lines` splits a file (at \n only, \r\n as \n, a leading byte-order
    mark dropped): for text read from stdin or elsewhere."""
    lines = text.removeprefix("\ufeff").split("\n")
    if lines[-1] == "":
        lines.pop()
    return [x.removesuffix("\r") for x in lines]
