"""`tandem normalize`: written text to spoken form (ASR style), line by line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path

from tandem.errors import TandemError

HELP = "convert written text to spoken form (numbers, dates, money... as words; lowercase, no punctuation)"
EXAMPLES = """
  echo "It costs $5.99 on 3/4/2024" | tandem normalize --lang en
  tandem normalize --lang de notes.txt -o notes.spoken.txt
  tandem normalize --lang hi a.txt b.txt > spoken.txt
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from tandem.spoken import SUPPORTED_LANGUAGES

    parser.add_argument(
        "--lang", required=True, help=f"language code, one of {', '.join(SUPPORTED_LANGUAGES)}"
    )
    parser.add_argument("files", nargs="*", help="input text files (UTF-8); stdin when none")
    parser.add_argument("-o", "--output", help="output file (default: stdout)")


def _count_lines(paths: list[Path]) -> int | None:
    """Lines in the input files, for the progress bar; None when one is a pipe or device (`<(zcat x.gz)`),
    which can be read only once."""
    if not all(p.is_file() for p in paths):
        return None
    total = 0
    for p in paths:
        with p.open("rb") as f:
            total += sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    return total


def _utf8_lines(lines: Iterable[str], name: str | Path) -> Iterator[str]:
    """The lines, each checked to be UTF-8 (read with errors="surrogateescape"): a file in another encoding is
    a TandemError naming it and the line (its bytes were replaced and dropped without a word: "café" in
    Latin-1 became "caf")."""
    from tandem.jsonl import check_utf8

    for i, line in enumerate(lines, 1):
        yield check_utf8(line, name, i)


def run(args: argparse.Namespace) -> int:
    from tandem.spoken import normalize_lines
    from tandem.spoken.tables import canonical_language

    lang = canonical_language(args.lang)
    paths = [Path(f) for f in args.files]
    for p in paths:
        if p.is_dir():
            raise TandemError(
                f"input file {p} is a folder; pass the text files in it (e.g. {p}/*.txt) or pipe text to stdin"
            )
        if not p.exists():  # a pipe or device is read as a file: `<(zcat x.gz)`, /dev/stdin, /dev/null
            raise TandemError(
                f"input file {p} not found; pass existing UTF-8 text files or pipe text to stdin"
            )
        if args.output and Path(args.output).exists() and Path(args.output).samefile(p):
            raise TandemError(
                f"-o {args.output} is also an input file: writing it would erase the text before it is "
                "read; write to another file"
            )
    with ExitStack() as stack:
        try:
            out = (
                stack.enter_context(open(args.output, "w", encoding="utf-8", newline="\n"))
                if args.output
                else sys.stdout
            )
        except OSError as e:
            raise TandemError(f"-o {args.output}: cannot write ({e.strerror or e})") from e
        if not paths:
            if hasattr(sys.stdin, "reconfigure"):  # bad bytes as surrogates, named by `_utf8_lines`
                sys.stdin.reconfigure(errors="surrogateescape")
            for line in normalize_lines(_utf8_lines(sys.stdin, "stdin"), lang):
                out.write(line + "\n")
            return 0
        from tqdm import tqdm

        bar = stack.enter_context(
            tqdm(total=_count_lines(paths), unit="line", file=sys.stderr, desc="normalize")
        )
        for p in paths:
            try:
                f = stack.enter_context(p.open(encoding="utf-8", errors="surrogateescape"))
            except OSError as e:
                raise TandemError(f"input file {p}: cannot read ({e})") from e
            for line in normalize_lines(_utf8_lines(f, p), lang):
                out.write(line + "\n")
                bar.update(1)
    return 0
