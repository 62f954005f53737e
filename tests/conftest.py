"""Shared fixtures: the real corpora (when present) and small hand-written messages."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CORPORA_DIR = Path(os.environ.get("PYSCORE_CORPORA", Path(__file__).resolve().parents[1].parent / "shared" / "corpora"))


@pytest.fixture(scope="session")
def corpora_dir() -> Path:
    """../shared/corpora, or a skip when this machine does not have it."""
    if not CORPORA_DIR.is_dir() or not any(CORPORA_DIR.glob("*.tar.xz")):
        pytest.skip(f"corpora not found at {CORPORA_DIR}")
    return CORPORA_DIR
