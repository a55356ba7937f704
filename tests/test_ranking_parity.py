"""Our precomputed-postings scores must equal rank-bm25's BM25Okapi.get_scores for the same tokens."""
from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from index.build import BuildParams, build_index, chunk_terms
from index.search import Searcher

VOCAB = ("alpha beta gamma delta epsilon zeta theta kappa lambda omicron sigma omega river mountain "
         "forest ocean desert valley harbor bridge tower garden market castle").split()


def _write_corpus(root: Path, rng: random.Random, n_docs: int) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n_docs):
        paras = []
        for _ in range(rng.randint(1, 4)):
            words = [rng.choice(VOCAB[: rng.randint(3, len(VOCAB))]) for _ in range(rng.randint(6, 40))]
            paras.append(" ".join(words).capitalize() + ".")
        (root / f"doc{i:03}.txt").write_text("\n\n".join(paras), encoding="utf-8")


def _rank_bm25_view(db: Path, params: BuildParams) -> tuple[list[int], list[list[str]]]:
    """The live chunks in id order and their tokens, computed the way the build computes them."""
    conn = sqlite3.connect(db)
    rows = conn.execute(
        "SELECT c.id, substr(d.text, c.start + 1, c.end - c.start), d.title FROM chunks c "
        "JOIN documents d ON d.id = c.doc ORDER BY c.id").fetchall()
    conn.close()
    return [r[0] for r in rows], [chunk_terms(r[1], r[2], params)[1] for r in rows]


def _assert_parity(db: Path, params: BuildParams, rng: random.Random, k1: float, b: float) -> None:
    ids, corpus = _rank_bm25_view(db, params)
    reference = BM25Okapi(corpus, k1=k1, b=b)
    searcher = Searcher.open(db)
    vocab = sorted({t for doc in corpus for t in doc}) + ["unseen"]
    for _ in range(25):
        query = [rng.choice(vocab) for _ in range(rng.randint(1, 6))]
        expected = reference.get_scores(query)
        got_ids, got_scores = searcher.score_terms(query)
        ours = dict(zip(got_ids.tolist(), got_scores.tolist()))
        mine = np.array([ours.get(cid, 0.0) for cid in ids])
        assert np.max(np.abs(mine - expected)) <= 1e-6, query
    searcher.close()


@pytest.mark.parametrize("seed,k1,b", [(1, 1.2, 0.75), (2, 0.9, 0.4), (3, 1.5, 0.3)])
def test_scores_equal_rank_bm25_on_random_corpora(tmp_path, seed, k1, b):
    rng = random.Random(seed)
    corpus = tmp_path / "c"
    _write_corpus(corpus, rng, n_docs=rng.randint(4, 30))
    params = BuildParams(k1=k1, b=b, title_terms=False)
    build_index([corpus], tmp_path / "i.db", params=params)
    _assert_parity(tmp_path / "i.db", params, rng, k1, b)


def test_parity_holds_after_incremental_add_change_remove(tmp_path):
    rng = random.Random(7)
    corpus = tmp_path / "c"
    _write_corpus(corpus, rng, n_docs=12)
    params = BuildParams(title_terms=False)
    db = tmp_path / "i.db"
    build_index([corpus], db, params=params)
    (corpus / "doc003.txt").unlink()
    (corpus / "doc005.txt").write_text("Omega omega river bridge. Tower harbor market alpha.", encoding="utf-8")
    (corpus / "new.txt").write_text("Castle garden desert valley alpha beta gamma delta.", encoding="utf-8")
    report = build_index([corpus], db, params=params)
    assert (report.documents_indexed, report.documents_removed, report.documents_unchanged) == (2, 1, 10)
    _assert_parity(db, params, rng, params.k1, params.b)


def test_incremental_ranking_equals_full_rebuild(tmp_path):
    rng = random.Random(11)
    corpus = tmp_path / "c"
    _write_corpus(corpus, rng, n_docs=15)
    params = BuildParams(title_terms=False)
    inc, full = tmp_path / "inc.db", tmp_path / "full.db"
    build_index([corpus], inc, params=params)
    for i in (1, 4, 9):
        (corpus / f"doc{i:03}.txt").write_text(f"Forest ocean sigma {i}. Mountain river kappa.", encoding="utf-8")
    (corpus / "doc002.txt").unlink()
    build_index([corpus], inc, params=params)
    build_index([corpus], full, params=params)
    a, b_ = Searcher.open(inc), Searcher.open(full)
    for query in ("forest ocean", "sigma kappa river", "alpha", "omega tower harbor"):
        ra = [(h.doc_id, h.start, round(h.score, 9)) for h in a.search(query, 10)]
        rb = [(h.doc_id, h.start, round(h.score, 9)) for h in b_.search(query, 10)]
        assert ra == rb


def test_fast_top_k_equals_exact_top_k_with_dead_chunks_and_ties(tmp_path):
    """rank()'s partial selection must return exactly what sorting every match would."""
    from index.ranking import top_k

    rng = random.Random(3)
    corpus = tmp_path / "c"
    _write_corpus(corpus, rng, n_docs=40)
    for i in range(0, 40, 7):  # identical documents make exact score ties
        (corpus / f"twin{i}.txt").write_text("Alpha beta gamma. Alpha beta.", encoding="utf-8")
    params = BuildParams(title_terms=False)
    db = tmp_path / "i.db"
    build_index([corpus], db, params=params)
    for i in range(0, 40, 5):  # dead chunks in the postings until the next merge
        (corpus / f"doc{i:03}.txt").unlink()
    build_index([corpus], db, params=params)
    searcher = Searcher.open(db)
    vocab = VOCAB[:12]
    for _ in range(60):
        query = [rng.choice(vocab) for _ in range(rng.randint(1, 4))]
        for k in (1, 3, 10):
            ids, scores = searcher.score_terms(query)
            assert searcher.rank(query, k) == top_k(ids, scores, k), (query, k)
