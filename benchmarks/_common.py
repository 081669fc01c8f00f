"""Helpers shared by the benchmark scripts: optional dependencies and argument checks, as one-line errors."""

from __future__ import annotations

import argparse
import importlib
import sys

# module -> what to install
_INSTALL = {
    "transformers": "pip install transformers",
    "lm_eval": "pip install lm-eval",
    "ctranslate2": "pip install 'tandem[edge]'",
    "num2words": "pip install num2words",
    "sentencepiece": "pip install sentencepiece",
    "httpx": "pip install httpx",
}


def require(script: str, *modules: str) -> None:
    """Import each module once, or exit with one line naming what is missing and how to install it."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as e:
            how = _INSTALL.get(name, f"pip install {name}")
            sys.exit(f"error: {script} needs {name}, which is not importable ({e}); {how}")


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def nonneg_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, got {value}")
    return value
