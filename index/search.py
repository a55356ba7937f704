"""Query the index: question text -> BM25-ranked chunks, touching only the query terms' postings.

Query analysis adds two things on top of the shared tokenizer, both driven by the index's own
vocabulary: a word the corpus never uses is corrected to the closest word it does use (edit
distance 1, or 2 for long words: "witkof" -> "witkoff", "directer" -> "director"), and two adjacent
words the corpus writes as one compound are also matched joined ("cease fire" -> "ceasefire").
"""
from __future__ import annotations

import functools
import os
import sqlite3
import threading
from contextlib import contextmanager
from typing import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index import codec, kernel, sentences, store
from index.config import postings_cache_bytes
from index.analyzer import STOP_WORDS, TOKENIZER_VERSION, stem, surface_words, word_term
from index.errors import IndexCorruptError, IndexNotBuiltError, IndexOutdatedError
from index.model import DuplicateRef, SearchHit
from index.ranking import (Bm25Params, CorpusStats, PostingList, idf, length_norm, maxscore_top_k, taat_top_k,
                           term_weights)

MAXSCORE_MIN_POSTINGS = 20_000  # below this, plain term-at-a-time is as fast as pruning's bookkeeping
_UNSET = object()
MAX_QUERY_TERMS = 64  # a 400-word question keeps its 64 rarest... first terms; beyond that adds noise and cost


def _row_bytes(row: list) -> int:
    """Memory held by a cached postings row: ids, tfs, and impacts and bitmap once derived."""
    return row[0].nbytes + row[1].nbytes + (row[4].nbytes if row[4] is not None else 0) \
        + (row[5][0].nbytes + row[5][1].nbytes if row[5] is not None else 0)


@dataclass(frozen=True)
class QueryAnalysis:
    terms: list[str]                       # scored terms, repeats kept (rank-bm25 semantics)
    words: list[str]                       # surface words after correction, stop words included
    corrections: dict[str, str] = field(default_factory=dict)  # typed word -> corpus word
    joined: list[str] = field(default_factory=list)            # compounds added from adjacent words
    unknown: list[str] = field(default_factory=list)           # content words the corpus never uses
    boilerplate: list[str] = field(default_factory=list)       # content words used only in page furniture


class Searcher:
    """A read-only view of one index file. Thread-safe for queries; reloads when a build commits."""

    def __init__(self, db_path: Path, conn: sqlite3.Connection) -> None:
        self.db_path = Path(db_path)
        self._conn = conn
        self._lock = threading.RLock()
        self._surface: list[str] | None = None
        self._depth = 0
        self._version: tuple | None = None
        with self.snapshot():
            pass  # loads the index inside one read transaction

    @classmethod
    def open(cls, db_path: Path | str) -> "Searcher":
        path = Path(db_path)
        if not path.exists():
            raise IndexNotBuiltError(str(path))
        conn = store.connect(path, readonly=True)
        return cls(path, conn)

    # ---- loading -------------------------------------------------------------------------
    def _load(self) -> None:
        try:
            meta = store.read_meta(self._conn)
            if not meta:
                raise IndexNotBuiltError(str(self.db_path))
            if meta.get("tokenizer_version") != TOKENIZER_VERSION or meta.get("schema_version") != store.SCHEMA_VERSION:
                raise IndexOutdatedError(str(self.db_path),
                                         f"tokenizer {meta.get('tokenizer_version')}, schema {meta.get('schema_version')}; "
                                         f"this version uses tokenizer {TOKENIZER_VERSION}, schema {store.SCHEMA_VERSION}")
            self.meta = meta
            self.params = Bm25Params(k1=float(meta["k1"]), b=float(meta["b"]), epsilon=float(meta["epsilon"]))
            self.stats = CorpusStats(int(meta["n_chunks"]), int(meta["total_length"]), float(meta["average_idf"]))
            self.lengths = store.read_array(self._conn, "length", np.uint32)
            self.live = store.read_array(self._conn, "live", np.uint8).astype(bool)
            self.norms = length_norm(self.lengths, self.stats, self.params)
            self._acc = np.zeros(len(self.lengths), dtype=np.float64)  # scratch, zero between queries
            self._flag = np.zeros(len(self.lengths), dtype=bool)       # scratch: MaxScore's candidate marks
            self._slot = np.zeros(len(self.lengths), dtype=np.int32)   # scratch: MaxScore's de-duplication
            self._compiled: kernel.CompiledRanker | None = None
            self._want_compiled = kernel.wanted(self.stats.n_chunks)
            if self._want_compiled:
                if kernel.mode() == "compiled":  # asked for explicitly: load it now
                    self._compiled = kernel.CompiledRanker(len(self.lengths)) if kernel.available() else None
                else:
                    kernel.warm_up_in_background()
            self._surface = None
            self._word_cache: dict[str, tuple | None] = {}
            self._lex_cache: dict[str, str | None] = {}
            self._terms_cache: dict[str, list[str]] = {}
            self._sentence_cache: dict[str, tuple] = {}
            self._dup_cache: dict[int, tuple[DuplicateRef, ...]] = {}
            self._row_cache: dict[int, tuple] = {}
            self._row_cache_bytes = 0
            self._cache_limit = postings_cache_bytes()
            self._file_cache: dict[str, tuple[tuple, str]] = {}
            self._texts = store.TextReader(self._conn)
            self._version = self._data_version()
        except (sqlite3.DatabaseError, KeyError, ValueError) as exc:
            raise IndexCorruptError(str(self.db_path), str(exc)) from exc

    def _data_version(self) -> tuple:
        return (self._conn.execute("PRAGMA data_version").fetchone()[0],
                self._conn.execute("SELECT value FROM meta WHERE key = 'built_at'").fetchone())

    def refresh(self) -> bool:
        """Pick up a build committed by another process since we loaded. Cheap: two tiny queries."""
        with self._lock:
            if self._version is None or self._data_version() != self._version:
                self._load()
                return True
            return False

    @contextmanager
    def snapshot(self) -> Iterator["Searcher"]:
        """One consistent view of the index for everything inside: a read transaction (WAL keeps
        it stable while a build commits), after picking up any build committed before it began.
        Without it, a build committing between two SELECTs of one question could mix two states."""
        with self._lock:
            outer = self._depth == 0
            if outer:
                self._conn.execute("BEGIN")
            self._depth += 1
            try:
                if outer:
                    try:
                        self.refresh()
                    except sqlite3.DatabaseError as exc:
                        raise IndexCorruptError(str(self.db_path), str(exc)) from exc
                yield self
            finally:
                self._depth -= 1
                if outer and self._conn.in_transaction:
                    self._conn.execute("COMMIT")

    def close(self) -> None:
        self._conn.close()

    # ---- query analysis ------------------------------------------------------------------
    def _surface_words(self) -> list[str]:
        if self._surface is None:
            self._surface = [r[0] for r in self._conn.execute("SELECT word FROM surface WHERE cf > 0")]
            self._surface_set = set(self._surface)
        return self._surface

    def knows_word(self, word: str) -> bool:
        row = self._word_row(word)
        return row is not None and row[1] > 0

    def _word_row(self, word: str) -> tuple | None:
        cache = self._word_cache
        if word not in cache:
            if len(cache) > 100_000:
                cache.clear()
            cache[word] = self._conn.execute("SELECT term, cf, bcf FROM surface WHERE word = ?", (word,)).fetchone()
        return cache[word]

    def only_in_boilerplate(self, word: str) -> bool:
        """The corpus uses this word (or another form of it) only in page furniture that was left out:
        paywalls, ads, comment prompts."""
        row = self._word_row(word)
        if row is not None:
            return row[1] <= 0 and row[2] > 0
        term = self.term_of(word)
        cf, bcf = self._conn.execute("SELECT max(cf), max(bcf) FROM surface WHERE term = ?", (term,)).fetchone()
        return bool(bcf) and not cf

    def term_of(self, word: str) -> str | None:
        """A word's index term: the one stored at build time when the corpus uses the word (no
        lemmatizer load on the query path), else computed by the shared analyzer."""
        if word in STOP_WORDS:
            return None
        row = self._word_row(word)
        if row is not None and row[0] is not None:
            return row[0]
        cache = self._lex_cache
        term = cache.get(word, _UNSET)
        if term is _UNSET:
            if len(cache) > 100_000:
                cache.clear()
            got = self._conn.execute("SELECT term FROM lexicon WHERE word = ?", (word,)).fetchone()
            term = cache[word] = got[0] if got else word_term(word)
        return term

    def base_term(self, word: str) -> str | None:
        """Term of a dictionary base form (a lexicon entry): the stored term if the corpus uses the
        word, else its stem — base forms are their own lemma, so the lemmatizer need not load."""
        row = self._word_row(word)
        if row is not None and row[0] is not None:
            return row[0]
        return None if word in STOP_WORDS else stem(word)

    def terms_of(self, text: str) -> list[str]:
        """`analyze(text)` through the index's stored word terms; identical result, faster.
        Cached: the answer builder re-reads the same top passages' sentences question after question."""
        cache = self._terms_cache
        got = cache.get(text)
        if got is None:
            if len(cache) > 50_000:
                cache.clear()
            got = cache[text] = [t for t in map(self.term_of, surface_words(text)) if t is not None]
        return got

    def sentence_terms(self, text: str) -> tuple[tuple[tuple[int, int], ...], list[list[str]], list[set[str]]]:
        """A passage's sentence spans, each sentence's terms (`terms_of`) and their set. Cached like
        `terms_of`: the answer builder assesses the same top passages question after question, and
        splitting and looking up every sentence again was a fifth of that work. Callers must not
        modify what they get."""
        cache = self._sentence_cache
        got = cache.get(text)
        if got is None:
            if len(cache) > 20_000:
                cache.clear()
            got = cache[text] = sentences.sentence_terms(text, self.terms_of)
        return got

    def knows_term(self, term: str) -> bool:
        return self._conn.execute("SELECT 1 FROM terms WHERE term = ?", (term,)).fetchone() is not None

    def _correct(self, word: str) -> str | None:
        """Closest corpus word to a word the corpus never uses, or None.

        Conservative on purpose: a wrong correction invents evidence. Only words of 5+ letters whose
        term is unknown too, only candidates with the same first letter, distance 1 (2 from 9 letters;
        a swap of two neighbouring letters counts 1), and the most frequent candidate wins ties.
        """
        if word in STOP_WORDS or not word.isalpha() or len(word) < 5 or self._word_row(word) is not None:
            return None
        if self.knows_term(self.term_of(word) or ""):
            return None
        from rapidfuzz import process
        from rapidfuzz.distance import OSA

        limit = 1 if len(word) < 9 else 2
        matches = process.extract(word, self._surface_words(), scorer=OSA.distance,
                                  score_cutoff=limit, limit=20)
        matches = [m for m in matches if m[0][:1] == word[:1]]
        if not matches:
            return None
        best = min(m[1] for m in matches)
        return sorted((m[0] for m in matches if m[1] == best), key=lambda w: (-self._cf(w), w))[0]

    def _cf(self, word: str) -> int:
        row = self._word_row(word)
        return row[1] if row else 0

    def analyze_query(self, query: str) -> QueryAnalysis:
        raw = surface_words(query)
        words: list[str] = []
        corrections: dict[str, str] = {}
        unknown: list[str] = []
        boiler: list[str] = []
        for w in raw:
            fixed = self._correct(w)
            if fixed:
                corrections[w] = fixed
                w = fixed
            elif w not in STOP_WORDS and not self.knows_word(w) and not self.knows_term(self.term_of(w) or ""):
                (boiler if self.only_in_boilerplate(w) else unknown).append(w)
            words.append(w)
        joined = []
        content = [w for w in words if w not in STOP_WORDS]
        for a, b in zip(content, content[1:]):
            # only words the corpus writes solid ("cease fire" -> "ceasefire"), never numbers ("1 in 5"):
            # joined forms made from hyphens would give hyphenated spellings a spurious rare-term bonus
            if a.isalpha() and b.isalpha() and a + b not in content and self.knows_word(a + b):
                joined.append(a + b)
        terms = [t for t in map(self.term_of, words + joined) if t is not None][:MAX_QUERY_TERMS]
        return QueryAnalysis(terms=terms, words=words, corrections=corrections, joined=joined, unknown=unknown,
                             boilerplate=boiler)

    # ---- ranking -------------------------------------------------------------------------
    def term_stats(self, terms: list[str]) -> dict[str, tuple[int, int]]:
        """term -> (term id, document frequency) for the terms the index knows."""
        uniq = sorted(set(terms))
        if not uniq:
            return {}
        marks = ",".join("?" * len(uniq))
        return {t: (i, df) for i, t, df in self._conn.execute(
            f"SELECT id, term, df FROM terms WHERE term IN ({marks})", uniq)}

    def idf(self, term: str) -> float:
        st = self.term_stats([term]).get(term)
        return idf(self.stats, self.params, st[1]) if st else 0.0

    def _query_counts(self, terms: list[str]) -> tuple[dict[str, tuple[int, int]], dict[str, int]]:
        """(term -> (id, df) for known terms, known term -> repeats in first-occurrence order):
        rank-bm25 scores a repeated query token once per repeat."""
        known = self.term_stats(terms)
        counts: dict[str, int] = {}
        for t in terms:
            if t in known:
                counts[t] = counts.get(t, 0) + 1
        return known, counts

    def score_terms(self, terms: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(chunk ids, scores) of every live chunk matching any term: rank-bm25's formula, postings only."""
        with self._lock:
            known, counts = self._query_counts(terms)
            if not counts:
                return np.zeros(0, np.int64), np.zeros(0)
            acc = self._acc
            touched: list[np.ndarray] = []
            for term, repeat in counts.items():
                tid, df = known[term]
                w_idf = idf(self.stats, self.params, df) * repeat
                for cb, tb in self._conn.execute("SELECT chunks, tfs FROM postings WHERE term = ?", (tid,)):
                    ids, tfs = codec.unpack_postings(cb, tb)
                    acc[ids] += term_weights(tfs, self.norms[ids], w_idf, self.params)
                    touched.append(ids)
            ids = np.unique(np.concatenate(touched)).astype(np.int64)
            ids = ids[self.live[ids]]
            scores = acc[ids].copy()
            for t in touched:
                acc[t] = 0.0
            return ids, scores

    def posting_lists(self, terms: list[str], ranker: "kernel.CompiledRanker | None" = None) -> list[PostingList]:
        """The query's (term, segment) rows in the reference summation order of `score_terms`:
        distinct terms in first-occurrence order, each term's segments ascending. One SQL query.
        With a compiled `ranker`, each row also carries its impacts (computed once per row while
        it stays cached)."""
        known, counts = self._query_counts(terms)
        if not counts:
            return []
        rows = self._rows([known[t][0] for t in counts])
        out = []
        for pos, (term, repeat) in enumerate(counts.items()):
            tid, df = known[term]
            w_idf = idf(self.stats, self.params, df) * repeat
            for row in rows.get(tid, ()):
                if ranker is not None and row[4] is None:
                    added = self._derive(row, ranker)
                    if self._row_cache.get(tid) is rows[tid]:  # counted only while it is cached
                        self._row_cache_bytes += added
                ids, tfs, max_tf, min_len, impacts, bits = row
                out.append(PostingList(pos, ids, tfs, w_idf, max_tf, min_len, impacts, bits))
        return out

    def _rows(self, tids: list[int]) -> dict[int, tuple]:
        """term id -> its postings rows [ids, tfs, max tf, min length, impacts, bitmap] in segment
        order. Rows are kept in memory (up to `config.postings_cache_bytes()`, oldest dropped first): frequent
        terms recur in question after question, and reading a long row out of SQLite's overflow
        pages costs more than scoring it. The cache is emptied whenever the index is reloaded (a
        build committed), which also keeps impacts (they depend on the average length) current."""
        cache = self._row_cache
        out = {tid: cache[tid] for tid in tids if tid in cache}
        missing = [tid for tid in tids if tid not in out]
        if not missing:
            return out
        marks = ",".join("?" * len(missing))
        fetched: dict[int, list[list]] = {}
        size = 0
        for tid, cb, tb, max_tf, min_len in self._conn.execute(
                f"SELECT term, chunks, tfs, max_tf, min_len FROM postings WHERE term IN ({marks}) "
                "ORDER BY term, segment", missing):
            ids, tfs = codec.unpack_postings(cb, tb)
            fetched.setdefault(tid, []).append([ids, tfs, max_tf, min_len, None, None])
            size += ids.nbytes + tfs.nbytes
        for tid, got in fetched.items():
            out[tid] = cache[tid] = tuple(got)
        self._row_cache_bytes += size
        while self._row_cache_bytes > self._cache_limit and cache:
            old = cache.pop(next(iter(cache)))
            self._row_cache_bytes -= sum(_row_bytes(r) for r in old)
        return out

    def _derive(self, row: list, ranker: "kernel.CompiledRanker") -> int:
        """Fill in a cached row's impacts and (long rows) bitmap for the compiled kernel; returns
        the bytes added."""
        row[4] = ranker.impacts(row[0], row[1], self.norms, self.params.k1)
        row[5] = ranker.bits(row[0])
        return _row_bytes(row) - row[0].nbytes - row[1].nbytes

    def preload(self, batch_bytes: int = 8 * 2**20) -> int:
        """Read postings rows into the cache (with their impacts once the compiled kernel is
        loaded), most frequent terms first, until the cache limit: what the first questions
        after a start would otherwise read one by one. For long-running processes (the Slack bot
        calls it while warming up); a one-shot `ask` never pays for it. Works in batches of about
        `batch_bytes`, each in its own snapshot, so questions asked meanwhile wait at most one
        batch; stops if a build commits meanwhile (the reload empties the cache anyway) or the
        cache is full. Returns the number of rows loaded."""
        if self._want_compiled:
            kernel.wait_ready(60)
        with self.snapshot():
            version = self._version
            order = self._conn.execute("SELECT id, df FROM terms ORDER BY df DESC, id").fetchall()
        per_posting = 9 if self._want_compiled else 5  # chunk id + tf (+ float32 impact; bitmaps not foreseen)
        loaded = 0
        pos = 0
        while pos < len(order):
            with self.snapshot():
                if self._version != version:
                    break
                if self._compiled is None and self._want_compiled and kernel.ready():
                    self._compiled = kernel.CompiledRanker(len(self.lengths))
                batch, size = [], 0
                while pos < len(order) and size < batch_bytes:
                    tid, df = order[pos]
                    if self._row_cache_bytes + size + per_posting * df > self._cache_limit:
                        pos = len(order)  # full: what is loaded stays, the rest is read on demand
                        break
                    pos += 1
                    if tid not in self._row_cache:
                        batch.append(tid)
                        size += per_posting * df
                if not batch:
                    continue
                rows = self._rows(batch)
                if self._compiled is not None:  # impacts now, not in the first questions
                    for tid in batch:
                        for row in rows.get(tid, ()):
                            if row[4] is None:
                                self._row_cache_bytes += self._derive(row, self._compiled)
                loaded += sum(len(rows.get(tid, ())) for tid in batch)
        return loaded

    def preload_in_background(self) -> threading.Thread:
        """`preload` in a daemon thread: a server starts answering at once and gets faster as
        the postings arrive."""
        thread = threading.Thread(target=self._preload_quietly, name="verbatim-preload", daemon=True)
        thread.start()
        return thread

    def _preload_quietly(self) -> None:
        try:
            self.preload()
        except (IndexCorruptError, sqlite3.Error):
            pass  # only a warm-up: the question that needs the row reports the problem

    def rank(self, terms: list[str], k: int = 10, *, prune: bool | None = None,
             compiled: bool | None = None) -> list[tuple[int, float]]:
        """Best k (chunk id, score): exactly `top_k(*score_terms(terms), k)` — same chunks, same
        scores bit for bit, same tie order — touching only the query terms' postings.

        Large indexes use the compiled kernel (`index.kernel`, one machine-code pass per list).
        Otherwise large queries use MaxScore (`ranking.maxscore_top_k`: a threshold from real
        scores of the rarest term's chunks, then only the lists that can still matter are
        scattered); small ones, or when no threshold can be set, term-at-a-time. `compiled` and
        `prune` force the choice (tests; `compiled=True` needs numba)."""
        if k <= 0:
            return []
        with self._lock:
            if compiled is None and prune is None and self._compiled is None and self._want_compiled \
                    and kernel.ready():
                self._compiled = kernel.CompiledRanker(len(self.lengths))  # the background warm-up finished
            ranker = None
            if compiled if compiled is not None else self._compiled is not None:
                ranker = self._compiled or self._forced_ranker()
            lists = self.posting_lists(terms, ranker)
            if not lists:
                return []
            if prune is None:
                prune = sum(len(pl.ids) for pl in lists) >= MAXSCORE_MIN_POSTINGS
            if ranker is not None:
                got = ranker.maxscore(lists, k, self.norms, self.live, self.stats, self.params) if prune else None
                return got if got is not None else ranker.top_k(lists, k, self.norms, self.live, self.params)
            if prune:
                got = maxscore_top_k(lists, k, self.norms, self.live, self._acc, self._flag, self._slot,
                                     self.stats, self.params)
                if got is not None:
                    return got
            return taat_top_k(lists, k, self.norms, self.live, self._acc, self.params)

    def _forced_ranker(self) -> "kernel.CompiledRanker":
        """A compiled ranker for `rank(compiled=True)` on an index that would not use one by itself
        (tests); kept apart so the automatic choice stays what the index size says."""
        if getattr(self, "_forced", None) is None or len(self._forced.acc) != len(self.lengths):
            if not kernel.available():
                raise RuntimeError("the compiled kernel is not available here (numba missing or not compiling)")
            self._forced = kernel.CompiledRanker(len(self.lengths))
        return self._forced

    def search(self, query: str, k: int = 10) -> list[SearchHit]:
        with self.snapshot():
            analysis = self.analyze_query(query)
            return self.hits(self.rank(analysis.terms, k))

    # ---- fetching ------------------------------------------------------------------------
    def hits(self, ranked: list[tuple[int, float]], with_duplicates: bool = True) -> list[SearchHit]:
        if not ranked:
            return []
        ids = [cid for cid, _ in ranked]
        marks = ",".join("?" * len(ids))
        rows = {r[0]: r for r in self._conn.execute(
            "SELECT c.id, d.doc_id, coalesce(d.source, f.source), c.start, c.end, d.block, d.at, d.size, "
            "c.paragraph, d.title, d.date, c.dup_key, c.digest, "
            "(SELECT count(*) FROM (SELECT 1 FROM chunks x WHERE x.dup_key = c.dup_key LIMIT 2)) "
            f"FROM chunks c JOIN documents d ON d.id = c.doc {store.FILE_JOIN} WHERE c.id IN ({marks})", ids)}
        # most chunks have no duplicate: the count above (an index probe each) spares them the
        # duplicates query, which joins and sorts and cost more than the rest of `hits`
        dup_refs = self._duplicates_of({cid: r[11] if r[13] > 1 else None for cid, r in rows.items()}) \
            if with_duplicates else {}
        out = []
        for cid, score in ranked:
            r = rows.get(cid)
            if r is None:
                continue
            dups = dup_refs.get(cid, ()) if with_duplicates else ()
            out.append(SearchHit(chunk_id=cid, doc_id=r[1], source=r[2], score=score, start=r[3], end=r[4],
                                 paragraph=r[8], title=r[9], date=r[10], duplicates=dups, digest=r[12],
                                 read_text=functools.partial(self._passage, *r[5:8], r[3], r[4])))
        return out

    def _passage(self, block: int, at: int, size: int, start: int, end: int) -> str:
        text = self._texts.cached(block, at)
        if text is None:
            with self.snapshot():
                text = self._text(block, at, size)
        return text[start:end]

    def _text(self, block: int, at: int, size: int) -> str:
        """A document's stored text; "" if its block is damaged, so the passage's digest check
        withholds every quote from it instead of failing the whole question."""
        try:
            return self._texts.text(block, at, size)
        except ValueError:
            return ""

    def _duplicates_of(self, keys: dict[int, int]) -> dict[int, tuple[DuplicateRef, ...]]:
        """chunk id -> its duplicates, for many chunks in one query (one per hit cost ~10 queries a
        search); cached per chunk like `duplicates`."""
        cache = self._dup_cache
        out = {cid: cache[cid] for cid in keys if cid in cache}
        todo = {cid: key for cid, key in keys.items() if cid not in out and key is not None}
        if todo:
            if len(cache) > 100_000:
                cache.clear()
            by_key: dict[int, list[tuple]] = {}
            marks = ",".join("?" * len(set(todo.values())))
            for row in self._conn.execute(
                    "SELECT c.dup_key, c.id, d.doc_id, coalesce(d.source, f.source) AS src, c.start, c.end, "
                    f"c.paragraph, d.title, d.date FROM chunks c JOIN documents d ON d.id = c.doc {store.FILE_JOIN} "
                    f"WHERE c.dup_key IN ({marks}) ORDER BY src, c.start", sorted(set(todo.values()))):
                by_key.setdefault(row[0], []).append(row)
            for cid, key in todo.items():
                out[cid] = cache[cid] = tuple(DuplicateRef(*r[2:]) for r in by_key.get(key, ()) if r[1] != cid)
        for cid in keys:
            out.setdefault(cid, ())
        return out

    def duplicates(self, chunk_id: int, key: str) -> tuple[DuplicateRef, ...]:
        cached = self._dup_cache.get(chunk_id)
        if cached is not None:
            return cached
        if len(self._dup_cache) > 100_000:
            self._dup_cache.clear()
        rows = self._conn.execute(
            "SELECT d.doc_id, coalesce(d.source, f.source) AS src, c.start, c.end, c.paragraph, d.title, d.date "
            f"FROM chunks c JOIN documents d ON d.id = c.doc {store.FILE_JOIN} "
            "WHERE c.dup_key = ? AND c.id != ? ORDER BY src, c.start",
            (key, chunk_id)).fetchall()
        refs = self._dup_cache[chunk_id] = tuple(DuplicateRef(*r) for r in rows)
        return refs

    def source_text(self, doc_id: str) -> str | None:
        """The document's text from its source: the file itself when the document is a whole file
        (read fresh if it changed on disk), else the text stored at indexing (HTML, JSONL records).
        Quotes are cut from this, so what is shown is what the source says now."""
        row = self._conn.execute("SELECT path FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        path = row[0] if row else None
        if not path:
            return self.document_text(doc_id)
        try:
            st = os.stat(path)
            key = (path, st.st_mtime_ns, st.st_size)
            cached = self._file_cache.get(path)
            if cached and cached[0] == key:
                return cached[1]
            with open(path, "rb") as f:
                text = f.read().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            return None  # the source is gone or unreadable: nothing can be quoted from it
        if len(self._file_cache) > 256:
            self._file_cache.clear()
        self._file_cache[path] = (key, text)
        return text

    def document_text(self, doc_id: str) -> str | None:
        row = self._conn.execute("SELECT block, at, size FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        return self._text(*row) if row else None

    def documents(self) -> list[dict]:
        cols = ["doc_id", "source", "title", "date", "publisher", "url", "n_chunks"]
        return [dict(zip(cols, r)) for r in self._conn.execute(
            "SELECT d.doc_id, coalesce(d.source, f.source) AS src, d.title, d.date, d.publisher, d.url, d.n_chunks "
            f"FROM documents d {store.FILE_JOIN} ORDER BY src, d.doc_id")]

    def stats_dict(self) -> dict:
        m = self.meta
        n_docs = self._conn.execute("SELECT count(*) FROM documents").fetchone()[0]
        segments = self._conn.execute("SELECT count(DISTINCT segment) FROM postings").fetchone()[0]
        return {
            "db": str(self.db_path), "documents": n_docs, "chunks": self.stats.n_chunks,
            "vocabulary": m.get("vocabulary"), "avgdl": round(self.stats.avgdl, 3), "segments": segments,
            "variant": m.get("variant"), "k1": self.params.k1, "b": self.params.b, "epsilon": self.params.epsilon,
            "tokenizer_version": m.get("tokenizer_version"), "analysis": m.get("analysis"),
            "built_at": m.get("built_at"), "corpus": m.get("corpus"),
            "last_build": {k: v for k, v in (m.get("last_build") or {}).items() if k != "problems"},
            "problems": len((m.get("last_build") or {}).get("problems", [])),
        }
