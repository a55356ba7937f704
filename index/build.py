"""Build or refresh the index: files -> documents -> chunks -> postings, incrementally and atomically.

One write transaction per build (SQLite WAL): readers keep answering from the last committed
index while a build runs, and a crash, kill -9 or Ctrl-C leaves that index intact. A second build
started meanwhile waits for the first (SQLite's writer lock) and then finds nothing to do.

Incremental by file signature, then by fingerprint: a file whose size, mtime and catalogue
metadata are unchanged is not even read (the `files` table), and within the files that are read,
unchanged documents (content hash + metadata) are not re-processed; changed ones are replaced,
deleted ones leave the index. New chunks' postings go into a new
segment; removed chunks are marked dead in the `live` array and their terms' document
frequencies are decremented, so corpus statistics stay global and exact. Segments are merged
when there are many or when many postings are dead.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import signal
import sqlite3
import sys
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np

from index import codec, store
from index.store import text_digest
from index.analyzer import TOKENIZER_VERSION, surface_words, terms_from_words, word_term
from index.chunking import DEFAULT_MAX_CHARS, DEFAULT_MIN_WORDS, chunk_document
from index.errors import IndexBusyError, IndexCorruptError, IndexWriteError, VerbatimError
from index.ingest import is_warning, iter_documents
from index.model import Document, Problem
from index.ranking import DEFAULT_B, DEFAULT_EPSILON, DEFAULT_K1, VARIANT, average_idf

MAX_SEGMENTS = 8
# dropped spans whose words are page furniture (not headlines or date prefixes, which are metadata)
BOILERPLATE_REASONS = frozenset({"page furniture", "paywall or browser notice", "syndication footer", "source line"})
MAX_DEAD_FRACTION = 0.25
SPILL_POSTINGS = 8_000_000  # postings held in memory before a sorted run is spilled to disk (~80 MB)
MERGE_TERMS = 2_000         # terms whose rows a segment merge holds in memory at once


@dataclass
class BuildReport:
    documents_indexed: int = 0
    documents_unchanged: int = 0
    documents_removed: int = 0
    chunks_indexed: int = 0
    chunks_removed: int = 0
    documents_total: int = 0
    chunks_total: int = 0
    problems: list[Problem] = field(default_factory=list)
    seconds: float = 0.0
    full_rebuild: bool = False
    rebuild_reason: str = ""
    merged: bool = False
    workers: int = 0  # worker processes that prepared documents (0: all in the building process)

    @property
    def changed(self) -> bool:
        return bool(self.documents_indexed or self.documents_removed or self.full_rebuild)

    @property
    def skipped_problems(self) -> list[Problem]:
        """Bad inputs (files or JSONL lines) that were left out: these make the build exit 1."""
        return [p for p in self.problems if not is_warning(p)]

    @property
    def warnings(self) -> list[Problem]:
        """Notices about inputs that were still indexed (ignored metadata, BEIR queries.jsonl left out)."""
        return [p for p in self.problems if is_warning(p)]

    @property
    def skipped(self) -> int:
        return len(self.skipped_problems)

    def summary(self) -> str:
        parts = [
            f"{self.documents_indexed} documents indexed ({self.chunks_indexed} chunks)",
            f"{self.documents_unchanged} unchanged",
            f"{self.documents_removed} removed",
            f"{self.skipped} skipped",
            f"{self.documents_total} documents / {self.chunks_total} chunks in the index",
            f"{self.seconds:.2f} s",
        ]
        if self.warnings:
            parts.insert(4, f"{len(self.warnings)} warning{'' if len(self.warnings) == 1 else 's'}")
        if self.full_rebuild:
            parts.append(f"full rebuild: {self.rebuild_reason}")
        return "; ".join(parts)

    def to_dict(self) -> dict:
        """JSON-ready report: `problems` are the skipped bad inputs only, `warnings` the notices."""
        d = {k: v for k, v in self.__dict__.items() if k != "problems"}
        d["skipped"] = self.skipped
        d["problems"] = [_problem_dict(p) for p in self.skipped_problems]
        d["warnings"] = [_problem_dict(p) for p in self.warnings]
        return d


def _problem_dict(p: Problem) -> dict:
    return {"path": p.path, "line": p.line, "reason": p.reason}


@dataclass(frozen=True)
class BuildParams:
    """Parameters stored with the index. Changing analysis or chunking ones forces a full rebuild;
    k1/b/epsilon do not (postings hold term frequencies, not weights), so they can be re-tuned freely."""

    k1: float = DEFAULT_K1
    b: float = DEFAULT_B
    epsilon: float = DEFAULT_EPSILON
    max_chars: int = DEFAULT_MAX_CHARS
    min_words: int = DEFAULT_MIN_WORDS
    title_terms: bool = True

    def analysis_key(self) -> dict:
        return {"tokenizer_version": TOKENIZER_VERSION, "schema_version": store.SCHEMA_VERSION,
                "max_chars": self.max_chars, "min_words": self.min_words, "title_terms": self.title_terms}


def dup_key(words: list[str]) -> int:
    """Key shared by near-identical passages, from their surface words (so case, quote style,
    punctuation and spacing are ignored) — the words the build has already split, not a second
    pass over the text."""
    digest = hashlib.blake2b(" ".join(words).encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)  # 8 bytes in SQLite, not a 20-char string


def _fingerprint(doc: Document) -> int:
    """Content and metadata in 8 bytes (an integer column): enough to tell a changed document from an
    unchanged one (a false match is a 2^-64 chance) at an eighth of a hex SHA-256's size per row."""
    meta = json.dumps([doc.title, doc.date, doc.url, doc.publisher, getattr(doc, "body_start", 0)])
    content = doc.content_hash or hashlib.sha256(doc.text.encode("utf-8")).hexdigest()
    raw = hashlib.blake2b((content + meta).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(raw, "big", signed=True)


def _solid(text: str, words: list[str]) -> list[str]:
    """The words as written (hyphen compounds not joined), for the surface vocabulary; the same list
    object when the text has no hyphen, which is almost always."""
    return surface_words(text, joined=False) if "-" in text or "\u2010" in text or "\u2011" in text else words


def chunk_terms(text: str, title: str | None, params: BuildParams) -> tuple[list[str], list[str]]:
    """(surface words, index terms) of one chunk; the title's words count with every chunk when enabled."""
    words = surface_words(text)
    if params.title_terms and title:
        words = surface_words(title) + words
    return words, terms_from_words(words)


@dataclass(frozen=True)
class PreparedDocument:
    """Everything about one document that does not depend on the index being written: chunks with
    their words, keys and digests, metadata, fingerprint. A pure function of the document and the
    build parameters, so large builds compute it in worker processes (`_prepare_in_parallel`)."""

    title: str | None
    date: str | None
    publisher: str | None
    fingerprint: int
    meta_json: str
    boilerplate_words: list[str]
    # per chunk: start, end, paragraph, part, words (title's first), solid words or None when the
    # same list, near-duplicate key, text digest
    chunks: list[tuple]


def prepare_document(doc: Document, params: BuildParams) -> PreparedDocument:
    chunked = chunk_document(doc.text, body_start=getattr(doc, "body_start", 0),
                             max_chars=params.max_chars, min_words=params.min_words)
    meta = chunked.meta
    boiler: list[str] = []
    for a, b, reason in chunked.dropped:
        if reason in BOILERPLATE_REASONS:
            boiler.extend(surface_words(doc.text[a:b]))
    title = doc.title or meta.get("title")
    # the title's words count with every chunk (chunk_terms' rule): split them once per document
    title_words = surface_words(title) if params.title_terms and title else []
    title_solid = _solid(title, title_words) if title_words else []
    chunks = []
    for chunk in chunked.chunks:
        words = surface_words(chunk.text)
        solid = _solid(chunk.text, words)
        key = dup_key(words)
        same = solid is words
        if title_words:
            words = title_words + words
            solid = words if same and title_solid is title_words else title_solid + solid
        chunks.append((chunk.start, chunk.end, chunk.paragraph, chunk.part, words,
                       None if solid is words else solid, key, text_digest(chunk.text)))
    return PreparedDocument(title=title, date=doc.date or meta.get("date"),
                            publisher=doc.publisher or meta.get("publisher"), fingerprint=_fingerprint(doc),
                            meta_json=json.dumps(meta, ensure_ascii=False) if meta else "{}",
                            boilerplate_words=boiler, chunks=chunks)


@dataclass
class PreparedBatch:
    """`prepare_document` for a run of documents, taken as far as the index terms: per chunk its
    distinct terms (as numbers into the batch's own term list) and their frequencies. What remains
    for the building process is giving terms, documents and chunks their ids — a few array
    operations per batch instead of a dictionary lookup per word."""

    docs: list[tuple]         # per document: title, date, publisher, fingerprint, meta json, chunk count
    chunks: list[tuple]       # per chunk: start, end, paragraph, part, length, distinct terms, dup key, digest
    terms: list[str]          # the batch's terms, in order of first occurrence
    term_idx: np.ndarray      # per chunk, per distinct term: its number in `terms` (uint32)
    tfs: np.ndarray           # the matching term frequencies (uint16)
    surface: Counter          # words as written (surface table counts)
    boiler: Counter           # words of dropped page furniture
    lexicon: dict             # every word seen -> its term (None: stop word)


def prepare_batch(docs: list[Document], params: BuildParams) -> PreparedBatch:
    vocab: dict[str, int] = {}
    lexicon: dict[str, str | None] = {}
    surface: Counter[str] = Counter()
    boiler: Counter[str] = Counter()
    idx, tfs = array("I"), array("H")
    docs_out, chunks_out = [], []
    for doc in docs:
        prep = prepare_document(doc, params)
        boiler.update(prep.boilerplate_words)
        for start, end, paragraph, part, words, solid, key, digest in prep.chunks:
            terms = []
            for w in words:
                t = lexicon.get(w, _UNSET)
                if t is _UNSET:
                    t = lexicon[w] = word_term(w)
                if t is not None:
                    terms.append(t)
            counts = Counter(terms)
            surface.update(words if solid is None else solid)
            idx.extend([vocab.setdefault(t, len(vocab)) for t in counts])
            tfs.extend([min(c, 65535) for c in counts.values()])
            chunks_out.append((start, end, paragraph, part, len(terms), len(counts), key, digest))
        docs_out.append((prep.title, prep.date, prep.publisher, prep.fingerprint, prep.meta_json, len(prep.chunks)))
    return PreparedBatch(docs_out, chunks_out, list(vocab), np.frombuffer(idx, dtype=np.uint32),
                         np.frombuffer(tfs, dtype=np.uint16), surface, boiler, lexicon)


_UNSET = object()


PARALLEL_MIN_DOCS = 2_000  # documents added in one build before worker processes start
PARALLEL_BATCH = 8_000     # documents per batch handed to the workers (one task per worker: fewer merges)


def build_workers() -> int:
    """`$VERBATIM_BUILD_WORKERS` (0 or 1: everything in this process), else one per CPU (max 4)."""
    raw = os.environ.get("VERBATIM_BUILD_WORKERS", "").strip()
    if raw.isdigit():
        return int(raw)
    return min(4, os.cpu_count() or 1)


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the building process's to handle


class _Feeder:
    """Feeds documents to the writer, preparing them in worker processes once a build is large.

    Chunking, tokenising and hashing a document (`prepare_document`) is most of a build's CPU time
    and needs nothing from the index, so beyond PARALLEL_MIN_DOCS documents it runs in a process
    pool, a batch at a time, while this process reads the next batch and writes the previous one:
    a two-stage pipeline that keeps both cores of a small machine busy. Results are applied in
    document order, so the index is identical to a one-process build (tests compare them).
    Small builds, and `VERBATIM_BUILD_WORKERS=0|1`, never start a pool."""

    def __init__(self, writer: "_Writer", params: BuildParams, workers: int) -> None:
        self.writer, self.params, self.workers = writer, params, workers
        self.seen = 0
        self.batch: list[Document] = []
        self.pending: tuple[list[Document], object] | None = None
        self.pool = None

    def add(self, doc: Document) -> int:
        """Chunks added to the index now (0 while the document waits in a batch)."""
        self.seen += 1
        if self.workers < 2 or self.seen <= PARALLEL_MIN_DOCS:
            return self.writer.add_document(doc)
        self.batch.append(doc)
        return self._submit() if len(self.batch) >= PARALLEL_BATCH else 0

    def _submit(self) -> int:
        if self.pool is None:
            import multiprocessing

            methods = multiprocessing.get_all_start_methods()
            ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
            self.pool = ctx.Pool(self.workers, initializer=_ignore_sigint)
        size = max(1, -(-len(self.batch) // self.workers))
        tasks = [self.batch[i:i + size] for i in range(0, len(self.batch), size)]
        handle = self.pool.map_async(functools.partial(prepare_batch, params=self.params), tasks, chunksize=1)
        added = self._drain()  # the previous batch, while the workers prepare this one
        self.pending, self.batch = (self.batch, handle), []
        return added

    def _drain(self) -> int:
        if self.pending is None:
            return 0
        docs, handle = self.pending
        self.pending = None
        added, at = 0, 0
        for prepared in handle.get():
            n = len(prepared.docs)
            added += self.writer.add_batch(docs[at:at + n], prepared)
            at += n
        return added

    def finish(self) -> int:
        added = self._drain()
        added += sum(self.writer.add_document(d) for d in self.batch)
        self.batch = []
        return added

    def close(self) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None


class _Writer:
    """Accumulates one build's changes, then writes them in the open transaction."""

    def __init__(self, conn: sqlite3.Connection, params: BuildParams, db_path: str = "") -> None:
        self.conn = conn
        self.params = params
        self.db_path = db_path
        self.texts = store.TextReader(conn)  # old texts, to take their words out of the statistics
        self.term_ids: dict[str, int] = dict(conn.execute("SELECT term, id FROM terms"))
        self.next_term = (conn.execute("SELECT max(id) FROM terms").fetchone()[0] or 0) + 1
        self.df_delta: Counter[int] = Counter()
        self.surface_delta: Counter[str] = Counter()
        self.boiler_delta: Counter[str] = Counter()
        self.next_doc = (conn.execute("SELECT max(id) FROM documents").fetchone()[0] or 0) + 1
        self.doc_rows: list[tuple] = []
        self.chunk_rows: list[tuple] = []
        # this build only: surface word -> word number; word number -> word, term id (0: stop word)
        self.word_nums: dict[str, int] = {}
        self.word_list: list[str] = []
        self.word_tid: list[int] = []
        self.lexicon: dict[str, str | None] = {}       # word -> term from worker-prepared batches
        self.lexicon_lookup = False                      # consult the stored lexicon (incremental builds)
        self.known: dict[str, str | None] = {}           # its answers, memoised
        self.runs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # spilled sorted postings runs
        self.spill_dir: str | None = None
        self.spill_parent: str | None = None             # where spill files go (beside the index)
        self.file_ids: dict[str, int] = {}
        self.file_sources: dict[int, str] = {}  # files row -> the source its documents share
        self.file_spans: dict[int, tuple[int, int]] = {}  # files row -> (lowest, highest) new document row
        for fid, path, source in conn.execute("SELECT id, path, source FROM files"):
            self.file_ids[path] = fid
            if source is not None:
                self.file_sources[fid] = source
        self.word_seq = array("I")                     # word numbers of indexed text, not yet counted
        self.word_counts = np.zeros(0, dtype=np.int64)  # per word number
        self.p_terms = array("I")
        self.p_chunks = array("I")
        self.p_tfs = array("H")
        meta = store.read_meta(conn)
        self.next_chunk = int(meta.get("next_chunk_id", 1))
        self.segment = int(meta.get("next_segment", 1))
        self.length = array("I", store.read_array(conn, "length", np.uint32).tolist())
        self.live = bytearray(store.read_array(conn, "live", np.uint8).tobytes())

    def _word_ids(self, words: list[str], count: bool = False) -> list[int]:
        """Term id of each surface word, 0 for a stop word: `terms_from_words` mapped to ids, through
        a build-local memo (word -> word number -> term id) so a word costs one dict lookup. With
        `count`, the words are also tallied for the `surface` table (as numbers, in an array)."""
        memo = self.word_nums
        nums = list(map(memo.get, words))
        if None in nums:
            for i, w in enumerate(words):
                if nums[i] is None:
                    num = memo.get(w)
                    if num is None:
                        term = self._known_term(w)
                        num = memo[w] = len(self.word_list)
                        self.word_list.append(w)
                        self.word_tid.append(0 if term is None else self._term_id(term))
                    nums[i] = num
        if count:
            self.word_seq.extend(nums)
            if len(self.word_seq) >= 4_000_000:
                self._fold_word_counts()
        return list(map(self.word_tid.__getitem__, nums))

    def file_id(self, path: str | None) -> int | None:
        """The files row of an input file (documents store its id, not the path: 8 bytes, not ~80)."""
        if path is None:
            return None
        fid = self.file_ids.get(path)
        if fid is None:
            fid = self.file_ids[path] = self.conn.execute(
                "INSERT INTO files (path, signature, docs) VALUES (?, NULL, 0)", (path,)).lastrowid
        return fid

    def file_path(self, fid: int | None) -> str | None:
        if fid is None:
            return None
        if not hasattr(self, "_paths") or len(self._paths) != len(self.file_ids):
            self._paths = {i: p for p, i in self.file_ids.items()}
        return self._paths.get(fid)

    def _known_term(self, word: str) -> str | None:
        """The word's term: from the index's lexicon when it has seen the word (an incremental build
        of a few documents then never loads the lemmatizer's dictionary), else the analyzer's."""
        if self.lexicon_lookup:
            got = self.known.get(word, _UNSET)
            if got is not _UNSET:
                return got
            row = self.conn.execute("SELECT term FROM lexicon WHERE word = ?", (word,)).fetchone()
            got = self.known[word] = row[0] if row is not None else word_term(word)
            return got
        return word_term(word)

    def _fold_word_counts(self) -> None:
        """Add the tallied word numbers to the per-word counts (bounded memory for big builds)."""
        if len(self.word_seq):
            got = np.bincount(np.frombuffer(self.word_seq, dtype=np.uint32), minlength=len(self.word_list))
            if len(self.word_counts) < len(got):
                self.word_counts = np.concatenate([self.word_counts, np.zeros(len(got) - len(self.word_counts),
                                                                              np.int64)])
            self.word_counts[:len(got)] += got
            self.word_seq = array("I")

    def _term_id(self, term: str) -> int:
        tid = self.term_ids.get(term)
        if tid is None:
            tid = self.term_ids[term] = self.next_term
            self.next_term += 1
        return tid

    def add_document(self, doc: Document) -> int:
        return self.add_prepared(doc, prepare_document(doc, self.params))

    def add_prepared(self, doc: Document, prep: "PreparedDocument") -> int:
        """Give the prepared document its row, its chunks their ids and its words their term ids
        (build-local state, so this part stays in the building process)."""
        if prep.boilerplate_words:
            self.boiler_delta.update(prep.boilerplate_words)
        doc_row = self._doc_row(doc, prep.title, prep.date, prep.publisher, prep.fingerprint, prep.meta_json,
                                len(prep.chunks))
        rows = self.chunk_rows
        for start, end, paragraph, part, words, solid, key, digest in prep.chunks:
            cid = self.next_chunk
            self.next_chunk += 1
            # one pass word -> word number -> term id, counted in C, postings extended once per chunk
            # (not three appends per posting); document frequencies and surface-word counts are
            # counted from arrays with bincount (at flush, and every few million words). The surface
            # table counts words as written (no joined hyphen forms), the postings every term.
            if solid is None:
                counts = Counter(self._word_ids(words, count=True))
            else:
                counts = Counter(self._word_ids(words))
                self._word_ids(solid, count=True)
            length = len(words) - counts.pop(0, 0)
            self.p_terms.extend(counts.keys())
            self.p_chunks.extend(array("I", [cid]) * len(counts))
            self.p_tfs.extend(counts.values() if length <= 65535 else [min(tf, 65535) for tf in counts.values()])
            self._set_chunk(cid, length)
            rows.append((cid, doc_row, start, end, paragraph, part, length, key, digest))
        if len(self.doc_rows) >= 1000:
            self._write_rows(final=False)
        if len(self.p_terms) >= SPILL_POSTINGS:
            self._spill()
        return len(prep.chunks)

    def add_batch(self, docs: list[Document], batch: PreparedBatch) -> int:
        """`add_prepared` for a batch prepared by a worker: same rows, ids and postings."""
        self.boiler_delta.update(batch.boiler)
        self.surface_delta.update(batch.surface)
        self.lexicon.update(batch.lexicon)
        term_ids = np.array([self._term_id(t) for t in batch.terms], dtype=np.uint32)
        cids: list[int] = []
        n_terms: list[int] = []
        chunks = iter(batch.chunks)
        for doc, (title, date, publisher, fingerprint, meta_json, n_chunks) in zip(docs, batch.docs):
            doc_row = self._doc_row(doc, title, date, publisher, fingerprint, meta_json, n_chunks)
            for _ in range(n_chunks):
                start, end, paragraph, part, length, distinct, key, digest = next(chunks)
                cid = self.next_chunk
                self.next_chunk += 1
                self._set_chunk(cid, length)
                self.chunk_rows.append((cid, doc_row, start, end, paragraph, part, length, key, digest))
                cids.append(cid)
                n_terms.append(distinct)
        self.p_terms.frombytes(term_ids[batch.term_idx].tobytes())
        self.p_chunks.frombytes(np.repeat(np.array(cids, dtype=np.uint32), n_terms).tobytes())
        self.p_tfs.frombytes(batch.tfs.tobytes())
        if len(self.doc_rows) >= 1000:
            self._write_rows(final=False)
        if len(self.p_terms) >= SPILL_POSTINGS:
            self._spill()
        return len(cids)

    def _doc_row(self, doc: Document, title: str | None, date: str | None, publisher: str | None,
                 fingerprint: int, meta_json: str, n_chunks: int) -> int:
        """Buffer a new document's row; its chunks take the next `n_chunks` ids, so a document's
        chunks are the id range [chunk0, chunk0 + n_chunks) and need no index of their own. Per-file
        values are not repeated per document: `source` is NULL when it is the file's (every record
        of a JSONL file), and the file row keeps the span of its documents' row ids."""
        doc_row = self.next_doc
        self.next_doc += 1
        fid = self.file_id(doc.file)
        source = doc.source
        if fid is not None:
            if self.file_sources.setdefault(fid, source) == source:
                source = None
            lo, hi = self.file_spans.get(fid, (doc_row, doc_row))
            self.file_spans[fid] = (min(lo, doc_row), max(hi, doc_row))
        self.doc_rows.append(
            (doc_row, doc.doc_id, source, "", title, date, doc.url, publisher, fingerprint, codec.encode_text(doc.text),
             getattr(doc, "body_start", 0), n_chunks, self.next_chunk, None if meta_json == "{}" else meta_json,
             getattr(doc, "path", None), fid))
        return doc_row

    def write_files(self, rows: list[tuple[str, str | None, int]], gone: list[str]) -> None:
        """The files table after this build: each file read's signature and document count, the
        source its documents share, and the span of its documents' row ids (widened, never
        narrowed: a span only has to contain them)."""
        self.conn.executemany("DELETE FROM files WHERE path = ?", [(p,) for p in gone])
        self.conn.executemany(
            "INSERT INTO files (path, signature, docs) VALUES (?, ?, ?) ON CONFLICT(path) DO UPDATE "
            "SET signature = excluded.signature, docs = excluded.docs", rows)
        self.conn.executemany(
            "UPDATE files SET source = coalesce(source, ?), lo = min(coalesce(lo, ?), ?), "
            "hi = max(coalesce(hi, ?), ?) WHERE id = ?",
            [(self.file_sources.get(fid), lo, lo, hi, hi, fid) for fid, (lo, hi) in self.file_spans.items()])

    def file_documents(self, path: str) -> list[tuple[int, str]]:
        """(row, doc_id) of the stored documents of an input file."""
        fid = self.file_ids.get(path)
        row = self.conn.execute("SELECT lo, hi FROM files WHERE id = ?", (fid,)).fetchone() if fid else None
        if not row or row[0] is None:
            return []
        return self.conn.execute("SELECT id, doc_id FROM documents WHERE id BETWEEN ? AND ? AND file = ?",
                                 (row[0], row[1], fid)).fetchall()

    def _set_chunk(self, cid: int, length: int) -> None:
        """A new live chunk's length, growing the per-chunk arrays to reach its id."""
        if len(self.length) <= cid:
            grow = cid + 1 - len(self.length)
            self.length.extend(array("I", [0]) * grow)
            self.live.extend(bytes(grow))
        self.length[cid] = length
        self.live[cid] = 1

    def _write_rows(self, final: bool = True) -> None:
        """Insert the buffered documents and chunks: one executemany per 1,000 documents instead of
        one INSERT per document (row ids are assigned here, inside the build's write transaction).
        Texts go into compressed blocks; unless `final`, the documents of a last, not yet full block
        wait for the next call (a block of a few records compresses poorly)."""
        if self.doc_rows:
            raws = [r[9] for r in self.doc_rows]  # encoded once, in `_doc_row`: held-back rows come round again
            groups = codec.group_texts([len(r) for r in raws])
            if not final and sum(len(raws[i]) for i in groups[-1]) < codec.TEXT_BLOCK_BYTES:
                groups.pop()
            places = store.write_texts(self.conn, raws, groups)
            written = sum(len(g) for g in groups)
            self.conn.executemany(
                "INSERT INTO documents (id, doc_id, source, root, title, date, url, publisher, fingerprint, block,"
                " at, size, body_start, n_chunks, chunk0, meta, path, file)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [r[:9] + place + r[10:] for r, place in zip(self.doc_rows, places)])
            del self.doc_rows[:written]
        if self.chunk_rows:
            self.conn.executemany(
                "INSERT INTO chunks (id, doc, start, end, paragraph, part, length, dup_key, digest)"
                " VALUES (?,?,?,?,?,?,?,?,?)", self.chunk_rows)
        self.chunk_rows.clear()

    def remove_document(self, doc_row: int) -> int:
        title, block, at, size, body_start, chunk0, n_chunks = self.conn.execute(
            "SELECT title, block, at, size, body_start, chunk0, n_chunks FROM documents WHERE id = ?",
            (doc_row,)).fetchone()
        span = (chunk0, chunk0 + n_chunks - 1)
        try:
            text = self.texts.text(block, at, size)
        except ValueError as exc:
            raise IndexCorruptError(self.db_path, f"document {doc_row}: {exc}") from exc
        store.release_text(self.conn, block)
        chunked = chunk_document(text, body_start=body_start or 0, max_chars=self.params.max_chars,
                                 min_words=self.params.min_words)
        for a, b, reason in chunked.dropped:
            if reason in BOILERPLATE_REASONS:
                self.boiler_delta.subtract(surface_words(text[a:b]))
        chunks = self.conn.execute("SELECT id, start, end FROM chunks WHERE id BETWEEN ? AND ?", span).fetchall()
        title_words = surface_words(title) if self.params.title_terms and title else []
        title_solid = _solid(title, title_words) if title_words else []
        for cid, start, end in chunks:
            words = surface_words(text[start:end])
            solid = _solid(text[start:end], words)
            if title_words:
                words = title_words + words
                solid = title_solid + solid
            self.surface_delta.subtract(solid)
            for tid in set(self._word_ids(words)):
                if tid:
                    self.df_delta[tid] -= 1
            if cid < len(self.live):
                self.live[cid] = 0
        self.conn.execute("DELETE FROM chunks WHERE id BETWEEN ? AND ?", span)
        self.conn.execute("DELETE FROM documents WHERE id = ?", (doc_row,))
        return len(chunks)

    def flush(self) -> bool:
        """Write terms, postings segment, surface words, arrays and statistics. Returns True if merged."""
        conn = self.conn
        self._write_rows()
        self._fold_word_counts()
        for num in np.flatnonzero(self.word_counts).tolist():
            self.surface_delta[self.word_list[num]] += int(self.word_counts[num])
        if len(self.p_terms):  # each new posting is one chunk containing its term
            df_new = np.bincount(np.frombuffer(self.p_terms, dtype=np.uint32))
            for tid in np.flatnonzero(df_new).tolist():
                self.df_delta[tid] += int(df_new[tid])
        new_terms = [(tid, term) for term, tid in self.term_ids.items() if tid not in self._known_ids()]
        conn.executemany("INSERT INTO terms (id, term, df) VALUES (?, ?, 0)", new_terms)
        conn.executemany("UPDATE terms SET df = df + ? WHERE id = ?",
                         [(d, tid) for tid, d in self.df_delta.items() if d])
        for word, d in self.surface_delta.items():
            if d:
                conn.execute(
                    "INSERT INTO surface (word, term, cf) VALUES (?, ?, ?) "
                    "ON CONFLICT(word) DO UPDATE SET cf = cf + excluded.cf",
                    (word, self._known_term(word), d),
                )
        for word, d in self.boiler_delta.items():
            if d:
                conn.execute(
                    "INSERT INTO surface (word, term, cf, bcf) VALUES (?, ?, 0, ?) "
                    "ON CONFLICT(word) DO UPDATE SET bcf = bcf + excluded.bcf",
                    (word, self._known_term(word), d),
                )
        conn.execute("DELETE FROM surface WHERE cf <= 0 AND bcf <= 0")
        if self.word_list:
            tid_term = {tid: term for term, tid in self.term_ids.items()}
            conn.executemany("INSERT OR IGNORE INTO lexicon (word, term) VALUES (?, ?)",
                             zip(self.word_list, [tid_term.get(t) for t in self.word_tid]))
        if self.lexicon:
            conn.executemany("INSERT OR IGNORE INTO lexicon (word, term) VALUES (?, ?)", self.lexicon.items())
        if len(self.p_terms) or self.runs:
            runs = self.runs + ([_sorted_run(self.p_terms, self.p_chunks, self.p_tfs)] if len(self.p_terms) else [])
            self._write_segment(runs, self.segment)
            self.segment += 1
            self._clear_postings()
            self.runs = []
            self._drop_spill_dir()
        length = np.frombuffer(self.length, dtype=np.uint32) if len(self.length) else np.zeros(1, np.uint32)
        live = np.frombuffer(bytes(self.live), dtype=np.uint8) if len(self.live) else np.zeros(1, np.uint8)
        merged = self._maybe_merge(live)
        store.write_array(conn, "length", length)
        store.write_array(conn, "live", live)
        n_chunks = int(live.sum())
        total_length = int(length[live.astype(bool)].sum()) if n_chunks else 0
        dfs = np.array([r[0] for r in conn.execute("SELECT df FROM terms WHERE df > 0")], dtype=np.int64)
        store.write_meta(conn, {
            "next_chunk_id": self.next_chunk, "next_segment": self.segment, "n_chunks": n_chunks,
            "total_length": total_length, "average_idf": average_idf(n_chunks, dfs), "vocabulary": int(len(dfs)),
        })
        conn.execute("DELETE FROM terms WHERE df <= 0")
        return merged

    def _known_ids(self) -> set[int]:
        if not hasattr(self, "_known"):
            self._known = {r[0] for r in self.conn.execute("SELECT id FROM terms")}
        return self._known

    def _write_segment(self, runs: list[tuple[np.ndarray, np.ndarray, np.ndarray]], segment: int) -> None:
        """One postings row per term for this build's new chunks, from sorted runs (the spilled
        ones memory-mapped from disk, the last one in memory): a term's pieces are taken from each
        run in order — runs hold ascending chunk ids — so no run is ever loaded whole."""
        lengths = self._lengths()
        if len(runs) == 1:
            terms, chunks, tfs = runs[0]
            bounds = np.flatnonzero(np.diff(terms)) + 1
            starts = np.concatenate(([0], bounds)).astype(np.int64)
            ends = np.concatenate((bounds, [len(terms)])).astype(np.int64)
            max_tf, min_len = _row_bounds(tfs, chunks, starts, lengths)
            rows = ((int(terms[s]), segment, *codec.pack_postings(chunks[s:e], tfs[s:e]), mt, ml)
                    for s, e, mt, ml in zip(starts.tolist(), ends.tolist(), max_tf.tolist(), min_len.tolist()))
        else:
            rows = self._merged_rows(runs, segment, lengths)
        self.conn.executemany(
            "INSERT OR REPLACE INTO postings (term, segment, chunks, tfs, max_tf, min_len) VALUES (?, ?, ?, ?, ?, ?)",
            rows)

    @staticmethod
    def _merged_rows(runs, segment: int, lengths: np.ndarray):
        heads = []  # per run: {term: (start, end)}
        for terms, _, _ in runs:
            bounds = np.flatnonzero(np.diff(terms)) + 1
            starts = np.concatenate(([0], bounds)).astype(np.int64)
            ends = np.concatenate((bounds, [len(terms)])).astype(np.int64)
            heads.append(dict(zip(terms[starts].tolist(), zip(starts.tolist(), ends.tolist()))))
        for term in sorted(set().union(*heads)):
            ids, tfs = [], []
            for (_, chunks, t), head in zip(runs, heads):
                got = head.get(term)
                if got:
                    ids.append(chunks[got[0]:got[1]])
                    tfs.append(t[got[0]:got[1]])
            c = np.concatenate(ids) if len(ids) > 1 else np.asarray(ids[0])
            f = np.concatenate(tfs) if len(tfs) > 1 else np.asarray(tfs[0])
            mt = int(f.max())
            yield term, segment, *codec.pack_postings(c, f), mt, int(lengths[c].min())

    def _spill(self) -> None:
        """Move the postings gathered so far to a sorted run on disk (bounded memory for big builds:
        a postings array is ~10 bytes a posting, and sorting it needs as much again)."""
        import tempfile

        if self.spill_dir is None:
            self.spill_dir = tempfile.mkdtemp(prefix=".verbatim-build-", dir=self.spill_parent)
        df_new = np.bincount(np.frombuffer(self.p_terms, dtype=np.uint32))
        for tid in np.flatnonzero(df_new).tolist():
            self.df_delta[tid] += int(df_new[tid])
        run = _sorted_run(self.p_terms, self.p_chunks, self.p_tfs)
        paths = [os.path.join(self.spill_dir, f"run{len(self.runs)}.{name}.npy") for name in ("terms", "chunks", "tfs")]
        for path, arr in zip(paths, run):
            np.save(path, arr)
        self.runs.append(tuple(np.load(path, mmap_mode="r") for path in paths))
        self._clear_postings()

    def _clear_postings(self) -> None:
        self.p_terms, self.p_chunks, self.p_tfs = array("I"), array("I"), array("H")

    def _drop_spill_dir(self) -> None:
        if self.spill_dir is not None:
            import shutil

            shutil.rmtree(self.spill_dir, ignore_errors=True)
            self.spill_dir = None

    def _lengths(self) -> np.ndarray:
        return np.frombuffer(self.length, dtype=np.uint32) if len(self.length) else np.zeros(1, np.uint32)

    def _maybe_merge(self, live: np.ndarray) -> bool:
        """Merge segments when there are too many (tiered: every segment but the largest, so adding
        a page to a million-chunk index never rewrites the million-chunk segment), or rewrite them
        all when too many postings point at removed chunks."""
        sizes = dict(self.conn.execute("SELECT segment, sum(length(chunks)) FROM postings GROUP BY segment"))
        total = self.conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
        dead = int((live == 0).sum()) - 1  # id 0 is never used
        if dead > MAX_DEAD_FRACTION * max(total, 1):
            chosen = sorted(sizes)
        elif len(sizes) > MAX_SEGMENTS:
            largest = max(sizes, key=lambda seg: (sizes[seg], -seg))
            chosen = sorted(seg for seg in sizes if seg != largest)
        else:
            return False
        if not chosen:
            return False
        # term by term in slices, so memory holds one slice of terms' postings, never the table.
        # The merged rows get the newest segment number: chunk ids grow with segments, so rows read
        # in segment order stay in chunk-id order whichever segments were merged.
        segment = self.segment
        self.segment += 1
        lengths = self._lengths()
        marks = ",".join("?" * len(chosen))
        terms = [r[0] for r in self.conn.execute(
            f"SELECT DISTINCT term FROM postings WHERE segment IN ({marks}) ORDER BY term", chosen)]
        for lo in range(0, len(terms), MERGE_TERMS):
            first, last = terms[lo], terms[min(lo + MERGE_TERMS, len(terms)) - 1]
            where = f"term BETWEEN ? AND ? AND segment IN ({marks})"
            rows = self.conn.execute(f"SELECT term, chunks, tfs FROM postings WHERE {where} ORDER BY term, segment",
                                     (first, last, *chosen)).fetchall()
            self.conn.execute(f"DELETE FROM postings WHERE {where}", (first, last, *chosen))
            self.conn.executemany(
                "INSERT INTO postings (term, segment, chunks, tfs, max_tf, min_len) VALUES (?, ?, ?, ?, ?, ?)",
                list(_merge_rows(rows, live, lengths, segment)))
        return True


def _merge_rows(rows: list[tuple], live: np.ndarray, lengths: np.ndarray, segment: int):
    """One row per term from its rows in segment order, dead chunks dropped (empty terms vanish)."""
    i = 0
    while i < len(rows):
        term = rows[i][0]
        cs, ts = [], []
        while i < len(rows) and rows[i][0] == term:
            c, t = codec.unpack_postings(rows[i][1], rows[i][2])
            keep = live[c] == 1 if len(live) else np.zeros(len(c), bool)
            cs.append(c[keep])
            ts.append(t[keep])
            i += 1
        c = np.concatenate(cs)
        if len(c):
            t = np.concatenate(ts)
            if len(c) > 1 and not np.all(c[1:] > c[:-1]):
                order = np.argsort(c, kind="stable")
                c, t = c[order], t[order]
            max_tf = int(t.max())
            yield term, segment, *codec.pack_postings(c, t), max_tf, int(lengths[c].min())


def _sorted_run(terms: array, chunks: array, tfs: array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Postings gathered in chunk order, sorted by (term, chunk id)."""
    t = np.frombuffer(terms, dtype=np.uint32)
    c = np.frombuffer(chunks, dtype=np.uint32)
    order = np.lexsort((c, t))
    return t[order], c[order], np.frombuffer(tfs, dtype=np.uint16)[order]


def _row_bounds(tfs: np.ndarray, chunks: np.ndarray, starts: np.ndarray,
                lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per postings row (rows start at `starts`): the largest term frequency and the shortest chunk.
    Together they bound what any chunk of the row can score under any later avgdl (MaxScore)."""
    if not len(starts):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return (np.maximum.reduceat(tfs, starts).astype(np.int64),
            np.minimum.reduceat(lengths[chunks], starts).astype(np.int64))


def _progress(enabled: bool):
    if not enabled or not sys.stderr.isatty():
        return None
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(SpinnerColumn(), TextColumn("indexing"), BarColumn(), TextColumn("{task.completed} documents"),
                    TimeElapsedColumn(), transient=True)


def build_index(
    paths: Iterable[Path],
    db_path: Path,
    *,
    params: BuildParams | None = None,
    progress: bool = False,
    full: bool = False,
) -> BuildReport:
    """Bring the index at `db_path` up to date with `paths`. Bad inputs are reported, never fatal.

    Failures of the index file itself become named errors (the build is rolled back, so the
    previous index stays intact): IndexBusyError, IndexCorruptError, IndexWriteError (disk full,
    read-only folder, a file where the folder must be)."""
    try:
        return _build_index(paths, Path(db_path), params=params or BuildParams(), progress=progress, full=full)
    except VerbatimError:
        raise
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, sqlite3.OperationalError) and not store.is_corruption(exc):
            raise IndexWriteError(str(db_path), str(exc)) from exc
        raise IndexCorruptError(str(db_path), str(exc)) from exc
    except OSError as exc:
        why = f"{exc.strerror}: {exc.filename}" if exc.strerror and exc.filename else str(exc)
        raise IndexWriteError(str(db_path), why) from exc


def _build_index(paths: Iterable[Path], db_path: Path, *, params: BuildParams, progress: bool,
                 full: bool) -> BuildReport:
    paths = [Path(p) for p in paths]
    signature = corpus_signature(paths)  # taken before reading, so a change during the build is seen next time
    began = time.perf_counter()
    report = BuildReport()
    conn = store.connect(db_path, create=True)
    committing = False
    writer: _Writer | None = None
    try:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise IndexBusyError(str(db_path)) from exc
            raise
        store.ensure_schema(conn)
        meta = store.read_meta(conn)
        stored_key = meta.get("analysis")
        if full or (stored_key is not None and stored_key != params.analysis_key()) or _stale_versions(meta):
            report.full_rebuild = True
            if full:
                report.rebuild_reason = "requested"
            elif _stale_versions(meta):
                report.rebuild_reason = (f"built by another version (tokenizer {meta.get('tokenizer_version')}, "
                                         f"schema {meta.get('schema_version')})")
            else:
                report.rebuild_reason = f"analysis changed ({stored_key} -> {params.analysis_key()})"
            for table in ("documents", "texts", "chunks", "terms", "postings", "surface", "arrays", "lexicon", "files",
                          "meta"):
                conn.execute(f"DELETE FROM {table}")
        writer = _Writer(conn, params, str(db_path))
        writer.spill_parent = str(Path(db_path).resolve().parent)
        # Incremental by file, then by document: a file whose signature (size, mtime, catalogue
        # metadata) is unchanged is not read at all; in the files that are read, a document whose
        # fingerprint is unchanged is not re-indexed. Documents are looked up one by one (not all
        # loaded), so a change to a small file of a huge index costs only that file.
        stored_files = {p: (sig, n) for p, sig, n in conn.execute("SELECT path, signature, docs FROM files")}
        has_docs = conn.execute("SELECT 1 FROM documents LIMIT 1").fetchone() is not None
        writer.lexicon_lookup = has_docs
        skipped: set[str] = set()

        def unchanged(path: str, file_signature: str) -> bool:
            if stored_files.get(path, (None, 0))[0] == file_signature:
                skipped.add(path)
                report.documents_unchanged += stored_files[path][1]
                return True
            return False

        visited: dict[str, str | None] = {}
        per_file: Counter[str] = Counter()
        seen: set[str] = set()
        feeder = _Feeder(writer, params, build_workers())
        bar = _progress(progress)
        task = bar.add_task("index", total=None) if bar else None
        if bar:
            bar.start()
        try:
            for doc in iter_documents([Path(p) for p in paths], problems=report.problems, files=visited,
                                      unchanged=unchanged):
                if doc.doc_id in seen:
                    report.problems.append(Problem(doc.source, f"duplicate document id {doc.doc_id!r}; first one kept"))
                    continue
                old = conn.execute("SELECT id, fingerprint, file FROM documents WHERE doc_id = ?",
                                   (doc.doc_id,)).fetchone() if has_docs else None
                old_file = writer.file_path(old[2]) if old else None
                if old_file in skipped:  # the id belongs to a document of an unchanged file
                    report.problems.append(Problem(doc.source, f"duplicate document id {doc.doc_id!r} (first seen "
                                                               f"in {old_file}); skipped"))
                    continue
                seen.add(doc.doc_id)
                per_file[doc.file or ""] += 1
                if old and old[1] == _fingerprint(doc) and old_file == doc.file:
                    report.documents_unchanged += 1
                    continue
                if old:
                    report.chunks_removed += writer.remove_document(old[0])
                report.chunks_indexed += feeder.add(doc)
                report.documents_indexed += 1
                if bar:
                    bar.update(task, advance=1)
            report.chunks_indexed += feeder.finish()
            report.workers = feeder.workers if feeder.pool is not None else 0
        finally:
            feeder.close()
            if bar:
                bar.stop()
        # documents of files read again but no longer in them, and of files gone from the corpus
        for path in (set(stored_files) | set(visited)) - skipped:
            for row, doc_id in writer.file_documents(path):
                if doc_id not in seen:
                    report.chunks_removed += writer.remove_document(row)
                    report.documents_removed += 1
        file_rows = [(p, sig, per_file[p]) for p, sig in visited.items() if p not in skipped]
        gone = [(p,) for p in stored_files if p not in visited]
        files_changed = bool(gone) or any(stored_files.get(p) != (sig, n) for p, sig, n in file_rows)
        writer.write_files(file_rows, [p for (p,) in gone])
        if not files_changed and _nothing_to_write(report, meta, params):
            # an unchanged corpus leaves the file untouched, so readers keep their loaded state
            conn.execute("ROLLBACK")
            report.documents_total, report.chunks_total = _counts(conn)
            report.seconds = time.perf_counter() - began
            return report
        report.merged = writer.flush()
        report.documents_total, report.chunks_total = _counts(conn)
        report.seconds = time.perf_counter() - began
        store.write_meta(conn, {
            "analysis": params.analysis_key(), "tokenizer_version": TOKENIZER_VERSION,
            "schema_version": store.SCHEMA_VERSION, "variant": VARIANT, "k1": params.k1, "b": params.b,
            "epsilon": params.epsilon, "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "corpus": [str(Path(p)) for p in paths], "last_build": report.to_dict(),
            "corpus_signature": signature,
        })
        committing = True
        conn.execute("COMMIT")
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt) and committing and not conn.in_transaction:
            # Ctrl-C landed while COMMIT ran (Python raises it only once the call returns): the
            # new index is in place, so finish the build rather than claim it was rolled back
            committing = False
        elif conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # SQLite may have rolled back itself (e.g. disk full); the original error matters
            raise
        else:
            raise
    finally:
        if writer is not None:
            writer._drop_spill_dir()  # spilled runs are scratch: never left behind by a failed build
        conn.close()
    report.seconds = time.perf_counter() - began
    return report


def corpus_signature(paths: Iterable[Path], limit: int = 200_000) -> str | None:
    """A fingerprint of every file's path, size and mtime under `paths` (following links, loops
    skipped): equal signatures mean a build would find nothing to do, so startup can skip it.
    None when the corpus is too large to stat quickly (the real incremental build decides then)."""
    digest = hashlib.sha1()
    seen: set[tuple[int, int]] = set()
    count = 0
    stack = [Path(p) for p in paths]
    while stack:
        path = stack.pop()
        try:
            st = path.stat()
        except OSError:
            digest.update(f"missing:{path}".encode("utf-8", "surrogateescape"))
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen:
            continue
        seen.add(key)
        if path.is_dir():
            try:
                stack.extend(sorted(path.iterdir(), reverse=True))
            except OSError:
                digest.update(f"unreadable:{path}".encode("utf-8", "surrogateescape"))
            continue
        count += 1
        if count > limit:
            return None
        digest.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def is_fresh(db_path: Path, paths: Iterable[Path], params: BuildParams | None = None) -> bool:
    """True when the index at db_path was built from exactly these unchanged files and parameters."""
    params = params or BuildParams()
    paths = [Path(p) for p in paths]
    try:
        conn = store.connect(Path(db_path), readonly=True)
    except VerbatimError:
        return False
    try:
        meta = store.read_meta(conn)
    except sqlite3.DatabaseError:
        return False  # damaged: the caller's open or build names it
    finally:
        conn.close()
    signature = corpus_signature(paths)
    return (signature is not None and meta.get("corpus_signature") == signature
            and meta.get("corpus") == [str(p) for p in paths] and meta.get("analysis") == params.analysis_key()
            and not _stale_versions(meta))


def _stale_versions(meta: dict) -> bool:
    """The index says it was written by another tokenizer or schema: the Searcher refuses such an
    index, so a build must rewrite it even when the analysis key happens to match."""
    return bool(meta) and (meta.get("tokenizer_version"), meta.get("schema_version")) != (
        TOKENIZER_VERSION, store.SCHEMA_VERSION)


def _nothing_to_write(report: BuildReport, meta: dict, params: BuildParams) -> bool:
    return (not report.changed and meta.get("analysis") == params.analysis_key() and not _stale_versions(meta)
            and (meta.get("k1"), meta.get("b"), meta.get("epsilon")) == (params.k1, params.b, params.epsilon))


def _counts(conn: sqlite3.Connection) -> tuple[int, int]:
    try:
        return (conn.execute("SELECT count(*) FROM documents").fetchone()[0],
                conn.execute("SELECT count(*) FROM chunks").fetchone()[0])
    except sqlite3.DatabaseError:
        return 0, 0
