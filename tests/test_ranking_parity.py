"""Our precomputed-postings scores must equal rank-bm25's BM25Okapi.get_scores for the same tokens."""
from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from index import codec, kernel, store
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
    texts = store.TextReader(conn)
    rows = [(cid, texts.text(block, at, size)[start:end], title) for cid, start, end, block, at, size, title in conn.execute(
        "SELECT c.id, c.start, c.end, d.block, d.at, d.size, d.title FROM chunks c "
        "JOIN documents d ON d.id = c.doc ORDER BY c.id")]
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
            if COMPILED:
                assert searcher.rank(query, k, compiled=True) == top_k(ids, scores, k), (query, k)


# ---- MaxScore and the compiled kernel: exact equality with the exhaustive path ----------------------

COMPILED = kernel.available()  # numba importable and compiling here (a project dependency)


def test_compiled_kernel_is_available():
    """numba is a dependency: if it stops compiling, large indexes silently lose their fast path."""
    assert COMPILED


def test_compiled_kernel_is_chosen_by_size_and_by_setting(tmp_path, monkeypatch):
    rng = random.Random(5)
    corpus = tmp_path / "c"
    _zipf_corpus(corpus, rng, 30)
    db = tmp_path / "i.db"
    build_index([corpus], db)
    assert Searcher.open(db)._compiled is None  # small index: numpy, no numba import cost
    monkeypatch.setenv("VERBATIM_KERNEL", "compiled")
    s = Searcher.open(db)
    assert s._compiled is not None
    q = ["w1x", "w5x", "w9x"]
    assert s.rank(q, 5) == s.rank(q, 5, compiled=False, prune=False)
    monkeypatch.setenv("VERBATIM_KERNEL", "numpy")
    assert Searcher.open(db)._compiled is None
    monkeypatch.setenv("VERBATIM_KERNEL", "auto")
    monkeypatch.setattr(kernel, "MIN_CHUNKS", 10)  # "large": loaded in the background, then used
    s = Searcher.open(db)
    assert kernel.wait_ready(60)
    assert s.rank(q, 5) == s.rank(q, 5, compiled=False, prune=False)
    assert s._compiled is not None

ZIPF_VOCAB = [f"w{i}x" for i in range(300)]  # distinct index terms (stemming leaves them alone)


def _zipf_corpus(root: Path, rng: random.Random, n_docs: int, prefix: str = "z", long: bool = False) -> None:
    """Zipfian word frequencies: rare terms have high idf, common ones low, so MaxScore prunes."""
    root.mkdir(parents=True, exist_ok=True)
    weights = [1.0 / (r + 1) for r in range(len(ZIPF_VOCAB))]
    for i in range(n_docs):
        paras = []
        for _ in range(rng.randint(1, 3)):
            n = rng.randint(30, 90) if long else rng.randint(5, 40)
            paras.append(" ".join(rng.choices(ZIPF_VOCAB, weights, k=n)) + ".")
        (root / f"{prefix}{i:04}.txt").write_text("\n\n".join(paras), encoding="utf-8")


def _zipf_query(rng: random.Random) -> list[str]:
    weights = [1.0 / (r + 1) ** 0.5 for r in range(len(ZIPF_VOCAB))]
    q = rng.choices(ZIPF_VOCAB, weights, k=rng.randint(2, 8))
    if rng.random() < 0.3:
        q.append(q[0])  # repeated query term: counts twice, as in rank-bm25
    if rng.random() < 0.1:
        q.append("unseenterm")
    return q


def _assert_rank_exact(db: Path, rng: random.Random, n_queries: int = 60) -> int:
    """rank() with and without pruning equals top_k over the exhaustive scores, bit for bit.
    Returns how many (query, k) pairs MaxScore actually pruned (not fell back)."""
    from index.ranking import maxscore_top_k, top_k

    s = Searcher.open(db)
    pruned = compiled_pruned = with_bits = 0
    try:
        for _ in range(n_queries):
            q = _zipf_query(rng)
            ids, scores = s.score_terms(q)
            for k in (1, 3, 10, 100):
                want = top_k(ids, scores, k)
                assert s.rank(q, k, prune=True) == want, (q, k)
                assert s.rank(q, k, prune=False) == want, (q, k)
                if COMPILED:
                    assert s.rank(q, k, compiled=True) == want, (q, k)
                    assert s.rank(q, k, compiled=True, prune=True) == want, (q, k)
                    assert s.rank(q, k, compiled=True, prune=False) == want, (q, k)
                    ranker = s._forced_ranker()
                    lists = s.posting_lists(q, ranker)
                    with_bits += any(pl.bits is not None for pl in lists)
                    got = ranker.maxscore(lists, k, s.norms, s.live, s.stats, s.params)
                    assert got is None or got == want, (q, k)
                    compiled_pruned += got is not None
                    narrowed = ranker.maxscore(s.posting_lists(q, ranker), k, s.norms, s.live, s.stats, s.params,
                                               narrow=1)  # seed from the two rarest terms' overlap
                    assert narrowed is None or narrowed == want, (q, k)
                    assert not ranker.acc.any() and not ranker.flag.any()  # scratch left clean
                got = maxscore_top_k(s.posting_lists(q), k, s.norms, s.live, s._acc, s._flag, s._slot, s.stats,
                                     s.params)
                if got is not None:
                    assert got == want, (q, k)
                    pruned += 1
                narrowed = maxscore_top_k(s.posting_lists(q), k, s.norms, s.live, s._acc, s._flag, s._slot,
                                          s.stats, s.params, narrow=1)  # seed from two terms' overlap
                assert narrowed is None or narrowed == want, (q, k)
                assert not s._acc.any() and not s._flag.any()  # scratch left clean
    finally:
        s.close()
    if COMPILED:
        assert compiled_pruned >= pruned // 2  # the compiled MaxScore prunes too, not only falls back
        assert with_bits > 0  # long rows were probed through their bitmaps
    return pruned


@pytest.mark.skipif(not COMPILED, reason="numba not compiling here")
def test_compiled_kernel_is_exact_where_float32_impacts_order_chunks_wrongly():
    """The compiled kernel finds candidates with float32 impacts, then scores them exactly. Chunk 5
    (only in term A's list) scores exactly a hair above chunk 3 (only in term B's), while their
    float32 impacts order them the other way: the kernel must still return chunk 5 first, with
    rank-bm25's exact score, whether it scans every list or prunes with MaxScore."""
    from index.ranking import Bm25Params, CorpusStats, PostingList, term_weights, top_k

    params = Bm25Params()
    ranker = kernel.CompiledRanker(8)
    one = np.array([1], dtype=np.uint8)
    norms = np.full(8, 5.0)
    live = np.ones(8, dtype=bool)
    for step in range(1, 5_000):
        norms[5], norms[3] = 1.3, 1.3 + step * 1e-7
        ea, eb = term_weights(one, norms[[5]], 1.0, params)[0], term_weights(one, norms[[3]], 1.0, params)[0]
        w_b = 1.7 * ea / eb * (1 - 1e-13)            # exact: 1.7 * ea just above w_b * eb
        fa = float(ranker.impacts(np.array([5], np.uint32), one, norms, params.k1)[0])
        fb = float(ranker.impacts(np.array([3], np.uint32), one, norms, params.k1)[0])
        if 1.7 * ea > w_b * eb and 1.7 * fa < w_b * fb:
            break
    else:
        pytest.fail("no float32 inversion found")

    def row(term, ids, weight):
        ids = np.array(ids, dtype=np.uint32)
        tfs = np.ones(len(ids), dtype=np.uint8)
        return PostingList(term, ids, tfs, weight, 1, 1, ranker.impacts(ids, tfs, norms, params.k1))

    lists = [row(0, [1, 5], 1.7), row(1, [3], w_b)]
    ids = np.array([1, 3, 5], dtype=np.int64)
    exact = np.zeros(3)
    exact[[0, 2]] += term_weights(np.ones(2, np.uint8), norms[[1, 5]], 1.7, params)  # the reference order
    exact[[1]] += term_weights(one, norms[[3]], w_b, params)
    want = top_k(ids, exact, 1)
    assert want[0][0] == 5
    assert ranker.top_k(lists, 1, norms, live, params) == want
    assert ranker.top_k(lists, 2, norms, live, params) == top_k(ids, exact, 2)
    assert not ranker.acc.any() and not ranker.flag.any()
    stats = CorpusStats(8, 8 * 10, 1.0)
    got = ranker.maxscore(lists + [row(2, [1, 3, 5, 6, 7], 0.01)], 1, norms, live, stats, params)
    assert got is None or got[0][0] == 5


@pytest.mark.skipif(not COMPILED, reason="numba not compiling here")
@pytest.mark.parametrize("seed", range(6))
def test_row_bitmaps_find_the_same_postings_as_the_ids(seed):
    """A long row's bitmap (`CompiledRanker.bits`) answers "is chunk c in the row, at which
    position" exactly as a search of its ids does: intersections, exact sums and impact sums
    through it equal the ones through the ids, at word edges (ids 0, 63, 64, n - 1) too."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(65, 5_000))
    ranker = kernel.CompiledRanker(n)
    density = rng.uniform(1 / kernel.BITS_DENSITY, 1.0)
    ids = np.unique(np.concatenate([rng.choice(n, int(n * density), replace=False),
                                    [0, 63, 64, n - 1]])).astype(np.uint32)
    dtype = np.uint16 if seed % 2 else np.uint8
    tfs = rng.integers(1, np.iinfo(dtype).max, len(ids)).astype(dtype)
    bits = ranker.bits(ids)
    assert bits is not None and ranker.bits(ids[: n // kernel.BITS_DENSITY - 1]) is None  # short rows: none
    words, ranks = bits
    assert int(np.unpackbits(words.view(np.uint8)).sum()) == len(ids)
    cand = np.unique(rng.integers(0, n, int(rng.integers(1, n)))).astype(np.int64)
    fn = ranker.fn
    out_bits, out_ids = np.empty(len(cand), np.int64), np.empty(len(cand), np.int64)
    found = out_bits[:fn.intersect_bits(cand, words, out_bits)]
    assert found.tolist() == out_ids[:fn.intersect(cand, ids, out_ids)].tolist() \
        == np.intersect1d(cand, ids).tolist()
    norms = rng.uniform(0.3, 3.0, n)
    a, b = np.zeros(len(cand)), np.zeros(len(cand))
    fn.probe_add_bits(cand, a, words, ranks, tfs, norms, 1.3, 1.9)
    fn.probe_add(cand, b, ids, tfs, norms, 1.3, 1.9)
    assert a.tolist() == b.tolist() and (a > 0).sum() == len(found)
    vals = ranker.impacts(ids, tfs, norms, 0.9)
    via_bits, via_ids, via_search = np.zeros(len(cand)), np.zeros(len(cand)), np.zeros(len(cand))
    fn.probe_bits(cand, via_bits, words, ranks, vals, 2.0)
    # weight 2: one posting times it is exact in float32 too, so the pass (which sums a row in the
    # float32 accumulator) and the bitmap (float64) agree bit for bit
    fn.probe_dense(cand, via_ids, ranker.acc, ranker.flag, ids, vals, 2.0)  # one pass over the row
    fn.probe_dense(cand[:1], via_search[:1], ranker.acc, ranker.flag, ids, vals, 2.0)  # a binary search
    assert via_bits.tolist() == via_ids.tolist() and np.count_nonzero(via_bits) == len(found)
    assert via_search[0] == via_bits[0]
    assert not ranker.acc.any() and not ranker.flag.any()  # scratch left clean


def _assert_bounds_hold(db: Path) -> None:
    """Every row's stored (max tf, min length) bounds each of its live chunks' contributions under
    the *current* avgdl, however many incremental updates changed it since the row was written."""
    from index.ranking import PostingList, term_weights, upper_bound

    s = Searcher.open(db)
    conn = sqlite3.connect(db)
    try:
        for cb, tb, max_tf, min_len in conn.execute("SELECT chunks, tfs, max_tf, min_len FROM postings"):
            ids, tfs = codec.unpack_postings(cb, tb)
            pl = PostingList(0, ids, tfs, 2.5, max_tf, min_len)
            assert pl.tfs.max() == max_tf
            contrib = term_weights(pl.tfs, s.norms[pl.ids], pl.weight, s.params)
            assert contrib.max() <= upper_bound(pl, s.stats, s.params) * (1 + 1e-12)
            assert np.all(np.diff(pl.ids.astype(np.int64)) > 0)  # sorted, unique
    finally:
        conn.close()
        s.close()


@pytest.mark.parametrize("seed", [21, 22])
def test_maxscore_equals_exhaustive_single_segment(tmp_path, seed):
    rng = random.Random(seed)
    corpus = tmp_path / "c"
    _zipf_corpus(corpus, rng, 250)
    for i in range(6):  # identical passages: exact score ties, broken by chunk id
        (corpus / f"twin{i}.txt").write_text("w0x w5x w17x w40x. w3x w17x w80x w120x.", encoding="utf-8")
    db = tmp_path / "i.db"
    build_index([corpus], db, params=BuildParams(title_terms=False))
    assert _assert_rank_exact(db, rng) > 20  # the pruning path really ran


def test_maxscore_equals_exhaustive_after_incremental_adds_and_removes(tmp_path):
    rng = random.Random(33)
    corpus = tmp_path / "c"
    _zipf_corpus(corpus, rng, 150)
    params = BuildParams(title_terms=False)
    db = tmp_path / "i.db"
    build_index([corpus], db, params=params)
    for step in range(3):  # new segments; removed documents leave dead chunks in old rows
        for i in range(step, 150, 15):  # stays under the dead fraction that forces a merge
            p = corpus / f"z{i:04}.txt"
            if p.exists():
                p.unlink()
        _zipf_corpus(corpus, rng, 25, prefix=f"add{step}-", long=True)  # longer chunks: avgdl grows
        (corpus / f"twin-a{step}.txt").write_text("w1x w9x w33x. w2x w9x w70x.", encoding="utf-8")
        build_index([corpus], db, params=params)
        conn = sqlite3.connect(db)
        segments = conn.execute("SELECT count(DISTINCT segment) FROM postings").fetchone()[0]
        dead = conn.execute("SELECT data FROM arrays WHERE name = 'live'").fetchone()[0].count(0) - 1
        conn.close()
        assert segments >= 2 and dead > 0
        _assert_bounds_hold(db)
        assert _assert_rank_exact(db, rng, n_queries=30) > 5


def test_maxscore_dead_chunks_never_set_the_threshold(tmp_path):
    """The rarest term's best chunks are deleted: were they to seed the threshold, the live
    answers (all scoring lower) would be pruned away."""
    rng = random.Random(44)
    corpus = tmp_path / "c"
    _zipf_corpus(corpus, rng, 120)
    for i in range(12):
        (corpus / f"best{i}.txt").write_text("w250x w250x w250x w1x w2x.", encoding="utf-8")
    params = BuildParams(title_terms=False)
    db = tmp_path / "i.db"
    build_index([corpus], db, params=params)
    for i in range(12):
        if i != 5:
            (corpus / f"best{i}.txt").unlink()
    build_index([corpus], db, params=params)
    from index.ranking import top_k

    s = Searcher.open(db)
    for q in (["w250x", "w1x", "w2x"], ["w250x", "w0x"], ["w250x", "w250x", "w3x", "w1x"]):
        ids, scores = s.score_terms(q)
        for k in (1, 3, 10, 100):
            assert s.rank(q, k, prune=True) == top_k(ids, scores, k), (q, k)
    s.close()


def test_maxscore_equals_exhaustive_after_a_merge(tmp_path):
    """A merge rewrites the rows without dead chunks: their bounds are recomputed, still exact."""
    rng = random.Random(55)
    corpus = tmp_path / "c"
    _zipf_corpus(corpus, rng, 120)
    params = BuildParams(title_terms=False)
    db = tmp_path / "i.db"
    build_index([corpus], db, params=params)
    for i in range(0, 120, 2):
        (corpus / f"z{i:04}.txt").unlink()
    _zipf_corpus(corpus, rng, 20, prefix="late", long=True)
    assert build_index([corpus], db, params=params).merged
    _assert_bounds_hold(db)
    assert _assert_rank_exact(db, rng, n_queries=30) > 5


def test_rows_with_large_term_frequencies_round_trip(tmp_path):
    """Term frequencies above 1 live in a row's second varint stream: a tf of 300 comes back exactly
    (as two bytes in memory), a row of tf 1 only has none, and ranking stays exact."""
    rng = random.Random(66)
    corpus = tmp_path / "c"
    _zipf_corpus(corpus, rng, 60)
    (corpus / "many.txt").write_text(" ".join(["w7x"] * 300 + ["w8x"] * 3), encoding="utf-8")
    params = BuildParams(title_terms=False)
    db = tmp_path / "i.db"
    build_index([corpus], db, params=params)
    conn = sqlite3.connect(db)
    rows = {t: (tb, codec.unpack_postings(cb, tb)[1]) for t, cb, tb in conn.execute(
        "SELECT t.term, p.chunks, p.tfs FROM postings p JOIN terms t ON t.id = p.term")}
    conn.close()
    assert rows["w7x"][1].max() == 300 and rows["w7x"][1].dtype == np.uint16
    assert 3 in rows["w8x"][1].tolist() and rows["w8x"][1].max() <= 255 and rows["w8x"][1].dtype == np.uint8
    assert any(tb == b"" for tb, _ in rows.values())
    _assert_bounds_hold(db)
    _assert_parity(db, params, rng, params.k1, params.b)
    assert _assert_rank_exact(db, rng, n_queries=10) >= 0


def test_cached_postings_never_outlive_a_committed_build(tmp_path):
    """An open Searcher keeps hot postings rows in memory; a build committed by someone else must
    replace them at the next snapshot, so rank() still equals the exhaustive path on the new index."""
    from index.ranking import top_k

    rng = random.Random(77)
    corpus = tmp_path / "c"
    _zipf_corpus(corpus, rng, 80)
    params = BuildParams(title_terms=False)
    db = tmp_path / "i.db"
    build_index([corpus], db, params=params)
    s = Searcher.open(db)
    q = ["w0x", "w1x", "w150x", "w2x"]
    with s.snapshot():
        before = s.rank(q, 10, prune=True)
    for i in range(5):
        (corpus / f"fresh{i}.txt").write_text("w150x w150x w150x w0x w1x.", encoding="utf-8")
    build_index([corpus], db, params=params)
    with s.snapshot():
        after = s.rank(q, 10, prune=True)
        ids, scores = s.score_terms(q)
        assert after == top_k(ids, scores, 10) and after != before
    s.close()


def _zipf_index(tmp_path: Path, seed: int, n_queries: int) -> tuple[Path, list[list[str]]]:
    """A 40-document Zipfian index and queries for it."""
    rng = random.Random(seed)
    _zipf_corpus(tmp_path / "c", rng, 40)
    db = tmp_path / "i.db"
    build_index([tmp_path / "c"], db)
    return db, [_zipf_query(rng) for _ in range(n_queries)]


def test_postings_cache_respects_its_limit_and_never_changes_results(tmp_path, monkeypatch):
    """`VERBATIM_POSTINGS_CACHE_MB` bounds the decoded postings a Searcher keeps (impacts included);
    with no cache at all every row is read again, with the same ranking."""
    db, queries = _zipf_index(tmp_path, seed=11, n_queries=25)
    roomy = Searcher.open(db)
    want = [roomy.rank(q, 5, compiled=COMPILED or None) for q in queries]
    assert roomy._row_cache_bytes > 0
    monkeypatch.setenv("VERBATIM_POSTINGS_CACHE_MB", "0")
    tight = Searcher.open(db)
    assert [tight.rank(q, 5, compiled=COMPILED or None) for q in queries] == want
    assert tight._row_cache_bytes <= 0 and not tight._row_cache
    monkeypatch.setenv("VERBATIM_POSTINGS_CACHE_MB", "not a number")  # a typo falls back to the default
    assert Searcher.open(db)._cache_limit == 768 * 2**20


def test_preload_fills_the_cache_most_frequent_terms_first_and_changes_no_ranking(tmp_path, monkeypatch):
    """`Searcher.preload` (the Slack bot's warm-up of a large index) reads postings rows ahead of
    the questions, with impacts when the compiled kernel is on, up to the cache limit."""
    db, queries = _zipf_index(tmp_path, seed=12, n_queries=20)
    want = [Searcher.open(db).rank(q, 5, compiled=False, prune=False) for q in queries]
    if COMPILED:
        monkeypatch.setenv("VERBATIM_KERNEL", "compiled")
    s = Searcher.open(db)
    n_rows = s._conn.execute("SELECT count(*) FROM postings").fetchone()[0]
    assert s.preload() == n_rows
    assert sum(len(rows) for rows in s._row_cache.values()) == n_rows
    if COMPILED:
        assert all(row[4] is not None for rows in s._row_cache.values() for row in rows)
    assert [s.rank(q, 5) for q in queries] == want
    # a small cache: the most frequent terms are loaded, and loading stops at the limit
    monkeypatch.setenv("VERBATIM_POSTINGS_CACHE_MB", str(4096 / 2**20))
    small = Searcher.open(db)
    small.preload(batch_bytes=256)
    assert 0 < small._row_cache_bytes <= 4096
    top = small._conn.execute("SELECT id FROM terms ORDER BY df DESC, id LIMIT 1").fetchone()[0]
    assert top in small._row_cache
    assert [small.rank(q, 5) for q in queries] == want
    # in the background, as the bot starts it
    monkeypatch.delenv("VERBATIM_POSTINGS_CACHE_MB")
    bg = Searcher.open(db)
    bg.preload_in_background().join(60)
    assert sum(len(rows) for rows in bg._row_cache.values()) == n_rows
