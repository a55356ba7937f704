"""One adapter per engine: build(corpus) -> persisted index, load(), search(q, k).

Every adapter has the same shape so run_bench.py can time them identically:

  build(texts, ids, corpus_path, index_dir) -> dict   persist an index into index_dir (empty dir);
        peers get the texts already in memory (reading the corpus is not timed), Verbatim gets the
        corpus file because reading and chunking it is part of its real build. The dict may carry
        `to_queryable_s` (when the engine could answer before it finished persisting).
  load(index_dir)                                      open the persisted index (cold-start part 1)
  search(query, k) -> list[int | str]                  top-k, best first: internal doc numbers
        (the harness maps them to corpus ids outside the timer, the same list lookup for all) or,
        for Verbatim, the SearchHit.doc_id strings its public API returns.

Analysis: rank-bm25 and bm25s have no tokenizer of their own in this bench, so they index and
query with `index.analyzer.analyze`, the project's tokenizer; their scores are then comparable to
ours term for term. tantivy and FTS5 use their own stemming analyzers (en_stem, porter), fed only
alphanumeric runs of the query so no query syntax reaches their parsers.
"""
from __future__ import annotations

import pickle
import re
import sqlite3
import sys
import time
from pathlib import Path

import os

REPO = Path(__file__).resolve().parents[2]
# run_bench.py --snapshot points this at an exported copy of one commit's `index`/`bot`, so every
# child of a run measures the same code while the working tree keeps changing.
SRC = Path(os.environ.get("VERBATIM_BENCH_SRC") or REPO)
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

_ALNUM = re.compile(r"[^\W_]+")


def _topk(scores, k: int) -> list[int]:
    """Indices of the k highest scores, best first, skipping zero scores (no query term matched)."""
    import numpy as np  # imported lazily so the cold-start phase times it as the engine's import
    k = min(k, len(scores))
    if k <= 0:
        return []
    part = np.argpartition(-scores, k - 1)[:k]
    part = part[np.argsort(-scores[part], kind="stable")]
    return [int(i) for i in part if scores[i] != 0]


class Engine:
    key = ""
    label = ""
    #: modules whose import the cold-start phase times separately
    modules: tuple[str, ...] = ()
    #: "stop" = our analyzer (stop words dropped); "nostop" = no stop-word list
    analysis = "stop"
    #: does build() need the corpus texts in memory?
    needs_texts = True

    def build(self, texts: list[str], ids: list[str], corpus_path: Path, index_dir: Path) -> dict:
        raise NotImplementedError

    def load(self, index_dir: Path) -> None:
        raise NotImplementedError

    def search(self, query: str, k: int = 10) -> list:
        raise NotImplementedError

    def versions(self) -> dict[str, str]:
        return {}


class RankBM25(Engine):
    """rank-bm25 BM25Okapi: `get_scores` walks every document for every query term (the anchor)."""

    key, label, modules = "rank_bm25", "rank-bm25 (BM25Okapi.get_scores)", ("rank_bm25", "index.analyzer")

    def build(self, texts, ids, corpus_path, index_dir):
        from rank_bm25 import BM25Okapi

        from index.analyzer import analyze
        t0 = time.perf_counter()
        bm = BM25Okapi([analyze(t) for t in texts])
        ready = time.perf_counter() - t0
        with (index_dir / "bm25okapi.pkl").open("wb") as fh:
            pickle.dump(bm, fh, protocol=pickle.HIGHEST_PROTOCOL)
        return {"to_queryable_s": ready}

    def load(self, index_dir):
        from index.analyzer import analyze
        self._analyze = analyze
        with (index_dir / "bm25okapi.pkl").open("rb") as fh:
            self.bm = pickle.load(fh)

    def search(self, query, k=10):
        return _topk(self.bm.get_scores(self._analyze(query)), k)

    def versions(self):
        from importlib.metadata import version
        return {"rank-bm25": version("rank-bm25")}


class BM25S(Engine):
    """bm25s: precomputed per-(term, doc) scores in a CSC matrix; numpy or numba retrieval."""

    key, label, backend = "bm25s", "bm25s (numpy)", "numpy"
    modules = ("bm25s", "index.analyzer")

    def build(self, texts, ids, corpus_path, index_dir):
        import bm25s

        from index.analyzer import analyze
        t0 = time.perf_counter()
        model = bm25s.BM25(k1=1.5, b=0.75, backend=self.backend)
        model.index([analyze(t) for t in texts], show_progress=False)
        ready = time.perf_counter() - t0
        model.save(str(index_dir))
        return {"to_queryable_s": ready}

    def load(self, index_dir):
        import logging

        import bm25s

        from index.analyzer import analyze
        logging.getLogger("bm25s").setLevel(logging.WARNING)
        self._analyze = analyze
        self.model = bm25s.BM25.load(str(index_dir), mmap=False, load_vocab=True,
                                     override_params={"backend": self.backend}, show_progress=False)
        self.vocab = self.model.vocab_dict

    def search(self, query, k=10):
        toks = [t for t in self._analyze(query) if t in self.vocab]
        if not toks:
            return []
        docs, scores = self.model.retrieve([toks], k=min(k, self.model.scores["num_docs"]),
                                           show_progress=False, n_threads=0)
        return [int(d) for d, s in zip(docs[0], scores[0]) if s > 0]

    def versions(self):
        from importlib.metadata import version
        out = {"bm25s": version("bm25s"), "scipy": version("scipy")}
        if self.backend == "numba":
            out |= {"numba": version("numba"), "llvmlite": version("llvmlite")}
        return out


class BM25SNumba(BM25S):
    key, label, backend = "bm25s_numba", "bm25s (numba)", "numba"
    modules = ("bm25s", "numba", "index.analyzer")


class Tantivy(Engine):
    """tantivy-py: Rust Lucene-like engine, en_stem analyzer (no stop words), block-max WAND top-k."""

    key, label, modules, analysis = "tantivy", "tantivy-py (en_stem)", ("tantivy",), "nostop"

    def _schema(self):
        import tantivy
        sb = tantivy.SchemaBuilder()
        sb.add_text_field("text", stored=False, tokenizer_name="en_stem")
        sb.add_unsigned_field("n", stored=False, indexed=False, fast=True)
        return sb.build()

    def build(self, texts, ids, corpus_path, index_dir):
        import tantivy
        t0 = time.perf_counter()
        index = tantivy.Index(self._schema(), path=str(index_dir))
        writer = index.writer(heap_size=256_000_000, num_threads=1)
        for i, t in enumerate(texts):
            doc = tantivy.Document()
            doc.add_text("text", t)
            doc.add_unsigned("n", i)  # Document(n=i) would infer i64 and panic on the u64 column
            writer.add_document(doc)
        writer.commit()
        ready = time.perf_counter() - t0
        writer.wait_merging_threads()
        return {"to_queryable_s": ready}

    def load(self, index_dir):
        import tantivy
        self.index = tantivy.Index.open(str(index_dir))
        self.searcher = self.index.searcher()

    def search(self, query, k=10):
        words = _ALNUM.findall(query.lower())
        if not words:
            return []
        q = self.index.parse_query(" ".join(words), ["text"])
        hits = self.searcher.search(q, k, count=False).hits
        return self.searcher.fast_field_values("n", [addr for _, addr in hits])

    def versions(self):
        from importlib.metadata import version
        return {"tantivy": version("tantivy")}


class FTS5(Engine):
    """SQLite FTS5 contentless table, porter tokenizer, `ORDER BY rank` (= bm25())."""

    key, label, modules, analysis = "fts5", "SQLite FTS5 bm25() (porter)", ("sqlite3",), "nostop"
    drop_stop = False

    def build(self, texts, ids, corpus_path, index_dir):
        con = sqlite3.connect(index_dir / "fts.db")
        con.execute("CREATE VIRTUAL TABLE f USING fts5(text, content='', tokenize='porter unicode61')")
        with con:
            con.executemany("INSERT INTO f(rowid, text) VALUES (?, ?)", ((i + 1, t) for i, t in enumerate(texts)))
        with con:
            con.execute("INSERT INTO f(f) VALUES ('optimize')")
        con.execute("VACUUM")
        con.close()
        return {}

    def load(self, index_dir):
        self.con = sqlite3.connect(index_dir / "fts.db")
        if self.drop_stop:
            from index.analyzer import STOP_WORDS
            self._stop = STOP_WORDS

    def search(self, query, k=10):
        words = _ALNUM.findall(query.lower())
        if self.drop_stop:
            words = [w for w in words if w not in self._stop]
        if not words:
            return []
        match = " OR ".join(f'"{w}"' for w in dict.fromkeys(words))
        rows = self.con.execute("SELECT rowid FROM f WHERE f MATCH ? ORDER BY rank LIMIT ?", (match, k))
        return [r[0] - 1 for r in rows]

    def versions(self):
        return {"SQLite": sqlite3.sqlite_version}


class FTS5Stop(FTS5):
    """The fts5 index, queried without our stop words (FTS5 has no stop-word list of its own)."""

    key, label, analysis, drop_stop = "fts5_stop", "FTS5 + query stop words dropped", "stop", True
    modules = ("sqlite3", "index.analyzer")
    shares_index_with = "fts5"


class Verbatim(Engine):
    """This project: `index.build.build_index` then `index.search.Searcher`, the public API."""

    key, label, modules = "verbatim", "Verbatim", ("index.search",)
    needs_texts = False

    def build(self, texts, ids, corpus_path, index_dir):
        from index.build import build_index
        report = build_index([corpus_path], index_dir / "index.db")
        out = {"documents": report.documents_total, "chunks": report.chunks_total,
               "problems": len(report.problems)}
        try:  # where the bytes go (dbstat is compiled into most SQLite builds)
            con = sqlite3.connect(index_dir / "index.db")
            out["table_bytes"] = dict(con.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"))
            con.close()
        except sqlite3.Error:
            pass
        return out

    def load(self, index_dir):
        from index.search import Searcher
        self.searcher = Searcher.open(index_dir / "index.db")

    def search(self, query, k=10):
        return [h.doc_id for h in self.searcher.search(query, k)]

    def warm_up(self):
        """Wait for the compiled kernel a large index loads in the background (numba import and
        cached machine code, ~0.5-1 s): the peers' numba backend compiles during warm-up queries.
        Then read the postings into the Searcher's cache, as the Slack bot does in the background
        when it starts (`AnswerService.warm_up`): the peers read their whole index in `load`."""
        from index import kernel
        kernel.wait_ready(60)
        if hasattr(self.searcher, "preload"):  # older snapshots have none
            self.searcher.preload()

    def versions(self):
        import subprocess
        try:
            rev = os.environ.get("VERBATIM_BENCH_REV") or subprocess.run(
                ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                capture_output=True, text=True, timeout=5).stdout.strip()
        except OSError:
            rev = "?"
        return {"verbatim (git)": rev or "?"}


ENGINES: dict[str, type[Engine]] = {
    e.key: e for e in (Verbatim, RankBM25, BM25S, BM25SNumba, Tantivy, FTS5, FTS5Stop)
}
