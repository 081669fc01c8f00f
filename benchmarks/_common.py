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


def cpu_name() -> str:
    """The host CPU's model name (Linux /proc/cpuinfo, else `platform.processor()`) and the vector ISA torch's
    kernels use, e.g. "Intel(R) Xeon(R) Processor, AVX512": ratios against an anchor move with the CPU (MKL's
    GEMMs take slower paths on AMD), so a benchmark line names the one it ran on."""
    import platform

    name = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            name = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    name = name or platform.processor() or platform.machine() or "unknown CPU"
    try:
        import torch

        return f"{name}, {torch.backends.cpu.get_cpu_capability()}"
    except ImportError:
        return name


def _at_least(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


positive_int = _at_least(1)  # argparse type: an integer >= 1
nonneg_int = _at_least(0)  # argparse type: an integer >= 0


def cached_tokenizer(tok_dir, files, vocab: int):
    """The tokenizer saved in `tok_dir`, else one trained on `files` (`vocab` pieces) and saved there."""
    from pathlib import Path

    from tandem import Tokenizer

    tok_dir = Path(tok_dir)
    if (tok_dir / "tokenizer.model").exists():
        return Tokenizer.load(tok_dir)
    tok = Tokenizer.train([str(f) for f in files], vocab_size=vocab, seed=0)
    tok.save(tok_dir)
    return tok
