"""Local paths in a run folder's recorded settings (`train_config.json`, `config.json`), made absolute so that
`--config OUT/... --resume` names the same files and folders from any working directory."""

from __future__ import annotations

import glob
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any


def absolute(path: str) -> str:
    """`path` against the working directory, not resolved (links and `..` kept, as the run reads it)."""
    return path if os.path.isabs(path) else str(Path(path).absolute())


def here(path: str) -> str:
    """`path` made absolute when it names something here: a file, a folder or a glob with matches; anything
    else (a Hugging Face Hub name, a preset name, a path that does not exist) as given."""
    if not path or os.path.isabs(path):
        return path
    if Path(path).exists() or (any(c in path for c in "*?[") and glob.glob(path, recursive=True)):
        return absolute(path)
    return path


def values_here(value: Any, keep: Callable[[str], bool] | None = None) -> Any:
    """`here` of a string, or of each string of a list, but those `keep` says to leave as given (a preset
    name where a file has its name); anything else unchanged."""

    def one(v: Any) -> Any:
        return here(v) if isinstance(v, str) and not (keep is not None and keep(v)) else v

    return [one(v) for v in value] if isinstance(value, list) else one(value)
