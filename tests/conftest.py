"""Shared test fixtures: paths to ../shared (skipped with a reason when absent), seeded torch, one thread."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TANDEM_SHARED", ROOT.parent / "shared"))


def _shared(sub: str) -> Path:
    p = SHARED / sub
    if not p.exists():
        pytest.skip(
            f"{p} is absent: this test needs the project's shared {sub} (see ../shared/data/README.md)"
        )
    return p


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or skip the test with a clear reason."""
    return _shared("data")


@pytest.fixture(scope="session")
def shared_fixtures() -> Path:
    """../shared/fixtures (the AlexaTM-format checkpoint), or skip the test with a clear reason."""
    return _shared("fixtures")


@pytest.fixture(autouse=True)
def _seed_and_threads():
    try:
        import torch
    except ImportError:  # the edge tests run without torch
        yield
        return
    torch.manual_seed(0)
    torch.set_num_threads(1)
    yield
