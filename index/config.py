"""Where things live by default; every value can be overridden by an environment variable or flag."""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SEEDS_DIR = PROJECT_ROOT / "seeds"


def default_db_path() -> Path:
    """`$VERBATIM_DB`, else `.verbatim/index.db` under the current directory."""
    return Path(os.environ.get("VERBATIM_DB") or Path(".verbatim") / "index.db")


def default_corpus() -> list[Path]:
    """`$VERBATIM_CORPUS` (os.pathsep-separated), else the bundled `seeds/` folder."""
    raw = os.environ.get("VERBATIM_CORPUS")
    if raw:
        return [Path(p) for p in raw.split(os.pathsep) if p]
    return [SEEDS_DIR]


def cache_dir() -> Path:
    """`$VERBATIM_CACHE_DIR`, else `$XDG_CACHE_HOME/verbatim`, else `~/.cache/verbatim`: derived data
    that is safe to delete (the lemmatizer's decoded dictionary)."""
    raw = os.environ.get("VERBATIM_CACHE_DIR")
    if raw:
        return Path(raw)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "verbatim"


def postings_cache_bytes() -> int:
    """`$VERBATIM_POSTINGS_CACHE_MB` (default 768): how much decoded postings a Searcher keeps in
    memory. A million-chunk index needs ~520 MiB to hold every row with its impacts; a seeds-sized
    one a few hundred KiB, so the default only matters where it pays."""
    raw = os.environ.get("VERBATIM_POSTINGS_CACHE_MB", "").strip()
    try:
        mb = float(raw) if raw else 768.0
    except ValueError:
        mb = 768.0
    return int(max(mb, 0.0) * 2**20)
