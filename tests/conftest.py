"""Shared fixtures: real index files built from real folders in temp dirs."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    return SEEDS


@pytest.fixture(scope="session")
def seeds_db(tmp_path_factory) -> Path:
    """One seeds index for the whole session (read-only use)."""
    from index.build import build_index

    db = tmp_path_factory.mktemp("seeds-index") / "index.db"
    build_index([SEEDS], db)
    return db


@pytest.fixture()
def corpus_copy(tmp_path) -> Path:
    """A writable copy of the seeds, for tests that change documents."""
    dst = tmp_path / "corpus"
    shutil.copytree(SEEDS, dst)
    return dst
