"""Helpers shared by the index tests (test_build, test_index_cli, test_index_faults): corpus folders
written from dicts, the `python -m index` CLI run as a user runs it, and watching a build's write lock.

One module so that the three test files prove things about the same CLI invocation and the same
notion of "a build is writing"; each test file keeps its own CORPUS, because what they assert
depends on exactly those documents.
"""
from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Four short documents in four formats (.txt, .md with front matter, .html with a <title>, a nested
# folder): the base corpus the CLI and incremental-build tests assert hits and counts against.
NEWS_CORPUS: dict[str, str | bytes] = {
    "harbor.txt": "The harbor bridge reopened on Monday after six weeks of repairs.\n\n"
                  "Engineers replaced forty steel cables while the bridge was closed to traffic.\n",
    "orchard.md": "---\ntitle: Orchard report\ndate: 2024-09-02\n---\n"
                  "Apple growers in the valley expect a record harvest this autumn.\n\n"
                  "A late frost damaged some blossoms in the northern orchards in April.\n",
    "library.html": "<html><head><title>Library news</title></head><body>"
                    "<p>The city library extended its opening hours on weekends.</p>"
                    "<p>Volunteers catalogued ten thousand rare maps from the archive.</p></body></html>",
    "notes/comet.txt": "Astronomers tracked a bright comet passing close to Jupiter last night.\n",
}


def write_corpus(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write files (relative path -> content) under root; bytes are written as-is so tests can plant
    invalid UTF-8 or binary data, str as UTF-8. Returns root."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def generate_corpus(root: Path, n: int, seed: int = 1, marker: str = "genmark") -> Path:
    """n small news-like files with a made-up vocabulary; file i carries the word f"{marker}{i}".

    Large enough corpora make a build take seconds, which is what the tests that interrupt or race
    a build need; the marker word lets a test find one exact new document."""
    rnd = random.Random(seed)
    syllables = ["ka", "lo", "mi", "ren", "sto", "vel", "dar", "quin", "pol", "ter", "zan", "bri", "mos", "tal"]
    vocab = sorted({"".join(rnd.choice(syllables) for _ in range(rnd.randint(2, 4))) for _ in range(2000)})
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        sentences = [" ".join(rnd.choice(vocab) for _ in range(rnd.randint(8, 14))).capitalize() + "."
                     for _ in range(3)]
        (root / f"gen{i:05d}.txt").write_text(f"Report {marker}{i} from the wire.\n\n" + " ".join(sentences) + "\n",
                                              encoding="utf-8")
    return root


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a CLI child: VERBATIM_DB / VERBATIM_CORPUS from the caller's environment
    never leak in (they would silently redirect the index), and the repo is importable."""
    env = {k: v for k, v in os.environ.items() if k not in ("VERBATIM_DB", "VERBATIM_CORPUS")}
    env["PYTHONPATH"] = str(REPO)
    env.update(extra or {})
    return env


def index_cmd(*args: str) -> list[str]:
    """argv for `python -m index ARGS` with this interpreter (for Popen, when a test signals the child)."""
    return [sys.executable, "-m", "index", *args]


def run_index(*args: str, env: dict[str, str] | None = None, stdin: str | None = None, cwd: Path = REPO,
              timeout: float = 120, prefix: list[str] | None = None) -> subprocess.CompletedProcess:
    """Run the CLI as a user would and wait for it. env adds to cli_env(); prefix wraps the command
    (e.g. `setpriv ... --` so file permissions apply to a child of root)."""
    return subprocess.run([*(prefix or []), *index_cmd(*args)], input=stdin, capture_output=True, text=True,
                          cwd=str(cwd), env=cli_env(env), timeout=timeout)


def write_locked(db: Path) -> bool:
    """True while some process holds the index's write lock, i.e. a build transaction is open.
    A build takes the lock once (BEGIN IMMEDIATE) and releases it only by committing or rolling back."""
    conn = sqlite3.connect(str(db), timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            return True
        raise
    finally:
        conn.close()


def wait_until_writing(db: Path, proc: subprocess.Popen, timeout: float = 60, wal_bytes: int = 0) -> None:
    """Block until `proc` holds the index's write lock (its one build transaction is open), so what
    the test does next happens while the build is writing, not before or after it. With wal_bytes,
    also wait until the build has spilled more than that many uncommitted bytes into the WAL: a kill
    then lands in the middle of writing pages, the case a crash-safe build must survive."""
    wal = Path(str(db) + "-wal")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the build ended before it was observed writing: {proc.communicate()}")
        if write_locked(db) and (not wal_bytes or (wal.exists() and wal.stat().st_size > wal_bytes)):
            return
        time.sleep(0.02)
    raise AssertionError("the build never started writing")
