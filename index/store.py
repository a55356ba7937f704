"""The index file: one SQLite database written through sqlite-utils.

Tables: `meta` (tokenizer version, BM25 parameters, chunking parameters, corpus statistics, build
time), `documents` (metadata, and where the text is in `texts`), `texts` (document texts in
compressed blocks, `codec`), `chunks` (offsets, paragraph numbers, near-duplicate key), `terms`
(document frequency), `postings` (per term and segment: sorted chunk ids and term frequencies as
varint streams (`codec.pack_postings`), plus the row's max term frequency and min chunk length for
query-time upper bounds),
`surface` (normalised surface words with their index term, their count in indexed text and
their count in boilerplate that was left out: typo correction, compound joining, and recognising
questions that only page furniture could answer) and
`arrays` (per-chunk lengths and liveness, loaded in one read).

WAL mode: a build is one write transaction, so readers keep querying the previous committed state
while it runs, and a crash or Ctrl-C rolls back to that state.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from index import codec
from index.errors import IndexCorruptError, IndexNotBuiltError, IndexWriteError

SCHEMA_VERSION = "13"  # 6: postings rows carry max_tf and min_len (MaxScore bounds); 7: 1-byte tfs; 8: surface words counted as written;
# 9: `lexicon` (every word seen -> its term) and 8-byte integer fingerprints; 10: near-duplicate keys
# from surface words; 11: `files` (input files' signatures) and documents.file; 12: documents.file is
# the files row's id (a path string per document was 140 MB at a million); 13: texts in compressed
# blocks (`texts`), postings as varint streams (1.08 GB -> under bm25s's size at a million chunks)


def text_digest(text: str) -> int:
    """8-byte digest of a passage's exact text, stored per chunk so a quote can be verified against
    its source at answer time (a changed source or a damaged index then withholds the quote)."""
    import hashlib

    raw = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(raw, "big", signed=True)


def connect(path: Path, *, create: bool = False, readonly: bool = False) -> sqlite3.Connection:
    """Open the index; named errors for missing or non-SQLite files instead of sqlite3 exceptions."""
    path = Path(path)
    if not create and not path.exists():
        raise IndexNotBuiltError(str(path))
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 30000")
        if not readonly:
            _set_wal(conn)
            conn.execute("PRAGMA synchronous = NORMAL")
        # Mapped, a page read costs no system call and no copy: the ten chunks' metadata of an
        # answer (~100 B-tree pages) came 0.08 ms faster at 1M chunks, ~8% of a search. Touched
        # pages count in a reader's resident memory, which is bounded by the compressed file
        # (0.44 GiB at 1M chunks). The builder never shrinks the file (no VACUUM, no auto-vacuum),
        # which is what could turn a mapped read into a crash.
        conn.execute("PRAGMA mmap_size = 1073741824")
        if readonly:  # so the B-tree pages answers read (chunks, documents, words) stay in memory
            conn.execute("PRAGMA cache_size = -65536")
        conn.execute("PRAGMA temp_store = MEMORY")
        if readonly:
            conn.execute("PRAGMA query_only = 1")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        if readonly and _read_only_folder(path, exc):
            return _connect_immutable(path)
        if not readonly and isinstance(exc, sqlite3.OperationalError) and not is_corruption(exc):
            # a writer refused by the file system (read-only folder or file, disk full): the file
            # itself may be fine, so do not call it corrupt (that would get it set aside)
            raise IndexWriteError(str(path), str(exc)) from exc
        raise IndexCorruptError(str(path), str(exc)) from exc
    return conn


def _set_wal(conn: sqlite3.Connection, wait: float = 10.0) -> None:
    """Switch to WAL, waiting for another process doing the same. Two builds creating a new index
    at once race here, and SQLite answers "database is locked" at once instead of honouring the
    busy timeout; the loser then waits at BEGIN IMMEDIATE like any second build."""
    deadline = time.monotonic() + wait
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if not ("locked" in str(exc) or "busy" in str(exc)) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _read_only_folder(path: Path, exc: sqlite3.DatabaseError) -> bool:
    """A WAL index in a folder we cannot write (a read-only mount or image): SQLite cannot create the
    `-shm` file readers need. Safe to read as immutable only when no `-wal` file holds committed
    pages the main file lacks, and nobody can be writing (a writer needs that folder too)."""
    wal = Path(str(path) + "-wal")
    return (isinstance(exc, sqlite3.OperationalError) and "readonly" in str(exc)
            and not os.access(path.parent, os.W_OK) and not (wal.exists() and wal.stat().st_size > 0))


def _connect_immutable(path: Path) -> sqlite3.Connection:
    uri = f"file:{quote(str(path.resolve()))}?mode=ro&immutable=1"
    try:
        conn = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA query_only = 1")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise IndexCorruptError(str(path), str(exc)) from exc
    return conn


def is_corruption(exc: sqlite3.DatabaseError) -> bool:
    """SQLite's own words for a damaged or foreign file, as opposed to an I/O refusal."""
    msg = str(exc).lower()
    return "malformed" in msg or "not a database" in msg


def ensure_schema(conn: sqlite3.Connection) -> None:
    existing = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    for table, column in (("postings", "max_tf"), ("documents", "chunk0"), ("files", "lo")):
        if table in existing and column not in {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}:
            # an index of an older schema: its meta says so, so the build rewrites everything anyway
            conn.execute(f"DROP TABLE {table}")
            existing.discard(table)
    if "postings" in existing and "WITHOUT ROWID" in (conn.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'postings'").fetchone()[0] or "").upper():
        conn.execute("DROP TABLE postings")  # schema 12 and older
        existing.discard("postings")
    conn.execute("DROP INDEX IF EXISTS idx_chunks_doc")  # chunks of a document are an id range now
    if {"meta", "documents", "texts", "chunks", "terms", "postings", "surface", "arrays", "lexicon",
            "files"} <= existing:
        return
    import sqlite_utils  # only a new index needs it; importing it costs ~0.2 s of cold start

    db = sqlite_utils.Database(conn)
    if "meta" not in db.table_names():
        db["meta"].create({"key": str, "value": str}, pk="key")
    if "documents" not in db.table_names():
        db["documents"].create(
            # source: NULL when it is the file's (files.source); chunk0: the first of the document's
            # n_chunks consecutive chunk ids; a file's documents are found by the row span in files
            {"id": int, "doc_id": str, "source": str, "root": str, "title": str, "date": str, "url": str,
             "publisher": str, "fingerprint": int, "block": int, "at": int, "size": int, "body_start": int,
             "n_chunks": int, "chunk0": int, "meta": str, "path": str, "file": int},
            pk="id", not_null={"doc_id"},
        )
        db["documents"].create_index(["doc_id"], unique=True)
    if "texts" not in db.table_names():
        # a document's text is texts.data decompressed [at:at + size], UTF-8; `docs` counts the live
        # documents in the block, which goes when the last one does. AUTOINCREMENT: a block id is
        # never reused, so a reader's cached block can never stand for another one.
        conn.execute("CREATE TABLE texts (id INTEGER PRIMARY KEY AUTOINCREMENT, data BLOB NOT NULL, "
                     "docs INTEGER NOT NULL)")
    if "chunks" not in db.table_names():
        db["chunks"].create(
            # no text column: a chunk is its document's text[start:end] (stored once, sliced on demand)
            {"id": int, "doc": int, "start": int, "end": int, "paragraph": int, "part": int,
             "length": int, "dup_key": int, "digest": int},
            pk="id",
        )
        db["chunks"].create_index(["dup_key"])
    if "terms" not in db.table_names():
        conn.execute("CREATE TABLE terms (id INTEGER PRIMARY KEY, term TEXT NOT NULL UNIQUE, df INTEGER NOT NULL)")
    if "postings" not in db.table_names():
        conn.execute(
            # max_tf / min_len: the row's largest term frequency and its shortest chunk, so a query can
            # bound any chunk's contribution from this row with the *current* avgdl (MaxScore pruning)
            # a rowid table: its leaves hold blobs of up to ~4 KB in the page, where WITHOUT ROWID
            # spills anything over ~1 KB to overflow pages (18 MB of half-empty pages at 1M chunks)
            "CREATE TABLE postings (term INTEGER NOT NULL, segment INTEGER NOT NULL, chunks BLOB NOT NULL, "
            "tfs BLOB NOT NULL, max_tf INTEGER NOT NULL, min_len INTEGER NOT NULL, UNIQUE (term, segment))"
        )
    if "surface" not in db.table_names():
        conn.execute("CREATE TABLE surface (word TEXT PRIMARY KEY, term TEXT, cf INTEGER NOT NULL DEFAULT 0, "
            "bcf INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID")
        conn.execute("CREATE INDEX surface_term ON surface (term)")
    if "lexicon" not in db.table_names():
        # every word an indexed text produced (hyphen compounds joined, stop words with a NULL term)
        # -> its index term: the answer builder re-tokenises passages, and without this a joined
        # compound ("sixweek") or a rare form would load the lemmatizer's dictionary (0.4 s) on the
        # query path. A pure function of the word for one tokenizer version, so never pruned.
        conn.execute("CREATE TABLE lexicon (word TEXT PRIMARY KEY, term TEXT) WITHOUT ROWID")
    if "files" not in db.table_names():
        # every input file a build read: its signature (size, mtime, kind, catalogue metadata; NULL
        # when reading it reported a problem) and how many documents it gave. A later build skips a
        # file whose signature is unchanged without reading it: editing one page of a million-chunk
        # corpus re-reads that page only.
        # source: the relative path its documents cite; lo/hi: a span of document row ids that
        # contains all of the file's documents
        conn.execute("CREATE TABLE files (id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, signature TEXT, "
                     "docs INTEGER NOT NULL DEFAULT 0, source TEXT, lo INTEGER, hi INTEGER)")
    if "arrays" not in db.table_names():
        db["arrays"].create({"name": str, "data": bytes}, pk="name")


# documents.source is NULL when it is its file's: every query that shows a source joins this
FILE_JOIN = "LEFT JOIN files f ON f.id = d.file"


def read_meta(conn: sqlite3.Connection) -> dict[str, Any]:
    try:
        rows = conn.execute("SELECT key, value FROM meta").fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return {}  # a new, empty file: not built yet
        raise  # damage (e.g. "malformed") must not pass for "not built": callers name it corrupt
    return {k: json.loads(v) for k, v in rows}


def write_meta(conn: sqlite3.Connection, values: dict[str, Any]) -> None:
    conn.executemany(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [(k, json.dumps(v)) for k, v in values.items()],
    )


def read_array(conn: sqlite3.Connection, name: str, dtype: Any) -> np.ndarray:
    row = conn.execute("SELECT data FROM arrays WHERE name = ?", (name,)).fetchone()
    if not row or row[0] is None:
        return np.zeros(0, dtype=dtype)
    return np.frombuffer(row[0], dtype=dtype)


def write_texts(conn: sqlite3.Connection, raws: list[bytes], groups: list[list[int]]) -> list[tuple[int, int, int]]:
    """Store encoded texts (`codec.encode_text`) as compressed blocks, one per group of indexes
    (`codec.group_texts`); returns (block, at, size) per text, in the groups' order."""
    out = []
    for group in groups:
        data, spans = codec.compress_block([raws[i] for i in group])
        block = conn.execute("INSERT INTO texts (data, docs) VALUES (?, ?)", (data, len(group))).lastrowid
        out.extend((block, at, size) for at, size in spans)
    return out


def release_text(conn: sqlite3.Connection, block: int) -> None:
    """One document of `block` is gone: the block goes with its last document."""
    conn.execute("UPDATE texts SET docs = docs - 1 WHERE id = ?", (block,))
    conn.execute("DELETE FROM texts WHERE id = ? AND docs <= 0", (block,))


class _Bounded:
    """A dict of at most `limit` units (bytes, characters) of values, oldest dropped first."""

    def __init__(self, limit: int) -> None:
        self.items: dict = {}
        self.used = 0
        self.limit = limit
        self.lock = threading.Lock()

    def put(self, key, value):
        with self.lock:
            if key not in self.items:
                self.items[key] = value
                self.used += len(value)
            while self.used > self.limit and len(self.items) > 1:
                self.used -= len(self.items.pop(next(iter(self.items))))
        return value


class TextReader:
    """Document texts from `texts`, keeping recently read decompressed blocks and decoded texts
    (oldest dropped first): a question reads dozens of passages, often of the same few documents
    (one long article, neighbouring records), and decoding a whole document per passage cost more
    than the rest of the answer on a small corpus. Block ids are never reused, so nothing cached
    can go stale: a block deleted since reads as missing."""

    def __init__(self, conn: sqlite3.Connection, keep_bytes: int = 32 * 2**20) -> None:
        self._conn = conn
        self._blocks = _Bounded(keep_bytes)
        self._texts = _Bounded(keep_bytes)

    def cached(self, block: int, at: int) -> str | None:
        """The text at (block, at) if it is in memory (no lock, no query: the common case)."""
        return self._texts.items.get((block, at))

    def text(self, block: int, at: int, size: int) -> str:
        """The text at (block, at, size); ValueError if the block is missing or damaged."""
        text = self._texts.items.get((block, at))
        if text is None:
            text = self._texts.put((block, at), codec.decode_text(self._block(block)[at:at + size]))
        return text

    def _block(self, block: int) -> bytes:
        data = self._blocks.items.get(block)
        if data is None:
            row = self._conn.execute("SELECT data FROM texts WHERE id = ?", (block,)).fetchone()
            if row is None:
                raise ValueError(f"text block {block} is missing")
            data = self._blocks.put(block, codec.unpack_text_block(row[0]))
        return data


def write_array(conn: sqlite3.Connection, name: str, array: np.ndarray) -> None:
    conn.execute(
        "INSERT INTO arrays (name, data) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET data = excluded.data",
        (name, np.ascontiguousarray(array).tobytes()),
    )
