"""tandem: encoder-decoder language models built the AlexaTM way, from pretraining to the edge.

The top-level names are imported lazily so that `tandem.edge` (the torch-free runtime) can be used
without importing torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "ModelConfig": "tandem.config",
    "Seq2SeqLM": "tandem.model",
    "Tokenizer": "tandem.tokenizer",
    "TandemError": "tandem.errors",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tandem' has no attribute {name!r}")
