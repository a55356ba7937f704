"""Compiled query kernels for large indexes: BM25 scoring, MaxScore pruning and top-k in machine code.

Why: at a million chunks a query's terms touch hundreds of thousands of postings, and the numpy
kernels in `ranking` pay for them in many passes over temporary arrays (gather norms, compute
weights, scatter, partition, unique, lexsort) plus Python overhead between passes. Here each
posting list is one compiled loop: `CompiledRanker.maxscore` is `ranking.maxscore_top_k`'s
algorithm with its loops compiled (scatter the rows that can lift a chunk to the threshold, probe
the others for the surviving candidates only), and `CompiledRanker.top_k` is plain term-at-a-time
with a compiled top-k, for queries pruning cannot help — bm25s's numba approach, on exact scores.

Exactness: each posting adds `weight * (tf * (k1 + 1) / (tf + norm))`, the same IEEE operations in
the same order as `ranking.term_weights`; reported scores are summed over the lists in the
reference order of `Searcher.score_terms` (distinct terms in first-occurrence order, segments
ascending), so every score is bit-identical to the reference and the order (score desc, chunk id
asc) is `ranking.top_k`'s. tests/test_ranking_parity.py holds them to equality.

numba is imported only for indexes of MIN_CHUNKS or more, in a background thread (`Searcher`):
importing it and loading the cached machine code costs ~0.5-1 s, more than a seeds-sized question
takes in total. Compiled code is cached on disk (`cache=True`): only the first process compiles.
"""
from __future__ import annotations

import os
import threading
from functools import lru_cache

import numpy as np

from index.ranking import (Bm25Params, CorpusStats, PostingList, prunable, prune_candidates, seed_chunks,
                           split_rows, tolerance, top_k, upper_bound, within_reach)

MIN_CHUNKS = 20_000  # below this the numpy kernels answer in well under a millisecond anyway


def mode() -> str:
    """`$VERBATIM_KERNEL`: `auto` (compiled for indexes of MIN_CHUNKS or more), `compiled`, `numpy`."""
    value = (os.environ.get("VERBATIM_KERNEL") or "auto").strip().lower()
    return value if value in ("auto", "compiled", "numpy") else "auto"


def wanted(n_chunks: int) -> bool:
    """Whether a Searcher over `n_chunks` chunks should rank with the compiled kernel (if it can)."""
    m = mode()
    return not (m == "numpy" or (m == "auto" and n_chunks < MIN_CHUNKS))


def available() -> bool:
    """numba is installed and the kernel compiles here (imports numba and loads the kernel now)."""
    return _functions() is not None


def enabled(n_chunks: int) -> bool:
    """`wanted` and `available`."""
    return wanted(n_chunks) and available()


_warming: threading.Thread | None = None
_warm_lock = threading.Lock()


def warm_up_in_background() -> None:
    """Import numba and load the kernel in a daemon thread, once per process. A freshly opened
    large index answers its first questions with the numpy kernels (identical results) instead of
    waiting ~0.5-1 s for numba; `ready()` tells when the compiled kernel can take over."""
    global _warming
    with _warm_lock:
        if _warming is None and _functions.cache_info().currsize == 0:
            _warming = threading.Thread(target=_functions, name="verbatim-kernel-warm-up", daemon=True)
            _warming.start()


def ready() -> bool:
    """The compiled kernel is loaded and usable (never blocks)."""
    return _functions.cache_info().currsize == 1 and (_warming is None or not _warming.is_alive()) \
        and _functions() is not None


def wait_ready(timeout: float | None = None) -> bool:
    """Block until a background warm-up (if any) has finished; True if the kernel is usable."""
    thread = _warming
    if thread is not None:
        thread.join(timeout)
    return ready()


@lru_cache(maxsize=1)
def _functions():
    """(scatter, select) compiled by numba, or None when numba is not installed or cannot compile
    here (then the numpy kernels, which give identical results, are used)."""
    try:
        import numba
    except ImportError:
        return None

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def lower_bound(ids, a, b, x):
        # first position in ids[a:b] (ascending) whose value is >= x
        while a < b:
            m = (a + b) >> 1
            if ids[m] < x:
                a = m + 1
            else:
                b = m
        return a

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def scatter(acc, flag, touched, n_touched, ids, tfs, norms, weight, k1p1):
        for j in range(ids.shape[0]):
            i = ids[j]
            tf = np.float64(tfs[j])
            acc[i] += weight * (tf * k1p1 / (tf + norms[i]))
            if not flag[i]:
                flag[i] = True
                touched[n_touched] = i
                n_touched += 1
        return n_touched

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def select(acc, flag, touched, n_touched, live, k, out_ids, out_scores):
        # best k live chunks by (score desc, id asc), kept sorted in out_*; scratch reset on the way
        count = 0
        for t in range(n_touched):
            i = touched[t]
            s = acc[i]
            acc[i] = 0.0
            flag[i] = False
            if not live[i]:
                continue
            if count == k:
                ws = out_scores[k - 1]
                if s < ws or (s == ws and i > out_ids[k - 1]):
                    continue
                pos = k - 1
            else:
                pos = count
                count += 1
            while pos > 0 and (out_scores[pos - 1] < s or (out_scores[pos - 1] == s and out_ids[pos - 1] > i)):
                out_scores[pos] = out_scores[pos - 1]
                out_ids[pos] = out_ids[pos - 1]
                pos -= 1
            out_scores[pos] = s
            out_ids[pos] = i
        return count

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def probe_add(cand, out, ids, tfs, norms, weight, k1p1):
        # out[c] += the row's contribution for each candidate chunk cand[c] it holds; cand and ids
        # both ascending, so each binary search starts where the previous one ended
        n = ids.shape[0]
        lo = 0
        for c in range(cand.shape[0]):
            x = cand[c]
            a = lower_bound(ids, lo, n, x)
            lo = a
            if a < n and ids[a] == x:
                tf = np.float64(tfs[a])
                out[c] += weight * (tf * k1p1 / (tf + norms[x]))
            if lo >= n:
                break

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def keep_reaching(acc, flag, touched, n_touched, live, threshold, out_ids):
        # touched live chunks whose partial score reaches the threshold; the others' scratch is
        # reset here, the kept ones' partial scores stay in acc for the probes (caller resets them)
        m = 0
        for t in range(n_touched):
            i = touched[t]
            flag[i] = False
            if live[i] and acc[i] >= threshold:
                out_ids[m] = i
                m += 1
            else:
                acc[i] = 0.0
        return m

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def probe_dense(cand, acc, flag, ids, tfs, norms, weight, k1p1):
        # acc[c] += the row's contribution for every candidate c it holds. Few candidates against a
        # long row: a binary search each; otherwise one pass over the row against candidate marks
        n = ids.shape[0]
        if cand.shape[0] * 16 < n:
            for j in range(cand.shape[0]):
                x = cand[j]
                a = lower_bound(ids, 0, n, x)
                if a < n and ids[a] == x:
                    tf = np.float64(tfs[a])
                    acc[x] += weight * (tf * k1p1 / (tf + norms[x]))
            return
        for j in range(cand.shape[0]):
            flag[cand[j]] = True
        for p in range(n):
            i = ids[p]
            if flag[i]:
                tf = np.float64(tfs[p])
                acc[i] += weight * (tf * k1p1 / (tf + norms[i]))
        for j in range(cand.shape[0]):
            flag[cand[j]] = False

    try:  # compile (or load from the on-disk cache) now, for both stored tf widths
        acc = np.zeros(4)
        flag = np.zeros(4, dtype=np.bool_)
        touched = np.zeros(4, dtype=np.int64)
        norms = np.ones(4)
        ids = np.array([1, 3], dtype=np.uint32)
        for tfs in (np.array([1, 2], dtype=np.uint8), np.array([1, 2], dtype=np.uint16)):
            n = scatter(acc, flag, touched, 0, ids, tfs, norms, 1.0, 2.0)
            select(acc, flag, touched, n, np.ones(4, dtype=np.bool_), 1, np.zeros(1, np.int64), np.zeros(1))
            probe_add(np.array([1, 2], dtype=np.int64), np.zeros(2), ids, tfs, norms, 1.0, 2.0)
            n = scatter(acc, flag, touched, 0, ids, tfs, norms, 1.0, 2.0)
            m = keep_reaching(acc, flag, touched, n, np.ones(4, dtype=np.bool_), 0.0, np.zeros(4, np.int64))
            probe_dense(np.array([1], np.int64), acc, flag, ids, tfs, norms, 1.0, 2.0)
            probe_dense(np.array([1, 3], np.int64), acc, flag, ids[:1], tfs[:1], norms, 1.0, 2.0)
            acc[:] = 0.0
    except Exception:  # noqa: BLE001 - any compiler failure means "use numpy", never a failed query
        return None
    return scatter, select, probe_add, keep_reaching, probe_dense


class CompiledRanker:
    """Per-Searcher scratch (dense accumulator, touched marks, touched list) and the two kernels."""

    def __init__(self, n: int) -> None:
        self.scatter, self.select, self.probe_add, self.keep_reaching, self.probe_dense = _functions()
        self.acc = np.zeros(n, dtype=np.float64)
        self.flag = np.zeros(n, dtype=np.bool_)
        self.touched = np.zeros(n, dtype=np.int64)

    def top_k(self, lists, k: int, norms: np.ndarray, live: np.ndarray, k1: float) -> list[tuple[int, float]]:
        """`lists`: (ids, tfs, weight) in the reference order. Same result as `ranking.top_k` over
        `Searcher.score_terms`."""
        n = 0
        k1p1 = k1 + 1.0
        for ids, tfs, weight in lists:
            n = self.scatter(self.acc, self.flag, self.touched, n, ids, tfs, norms, weight, k1p1)
        out_ids = np.zeros(k, dtype=np.int64)
        out_scores = np.zeros(k, dtype=np.float64)
        count = self.select(self.acc, self.flag, self.touched, n, live, k, out_ids, out_scores)
        return list(zip(out_ids[:count].tolist(), out_scores[:count].tolist()))

    def maxscore(self, lists: list[PostingList], k: int, norms: np.ndarray, live: np.ndarray,
                 stats: CorpusStats, params: Bm25Params) -> list[tuple[int, float]] | None:
        """`ranking.maxscore_top_k` with its loops compiled: the rows whose bounds can lift a chunk to
        the seeded threshold are scattered, every other row is probed for the surviving candidates
        only (binary searches, or one pass against candidate marks), highest bound first, pruning
        and raising the threshold between rows; the last candidates are re-scored exactly in the
        reference order. None when pruning cannot apply."""
        if k <= 0 or len(lists) < 2 or not prunable(params):
            return None
        k1p1 = params.k1 + 1.0
        tol = tolerance(lists, params)
        seed = seed_chunks(lists, k, live, self.flag)
        if seed is None:
            return None
        seed = seed.astype(np.int64)
        partial = np.zeros(len(seed))
        for pl in lists:
            self.probe_add(seed, partial, pl.ids, pl.tfs, norms, pl.weight, k1p1)
        theta = float(np.partition(partial, len(seed) - k)[len(seed) - k])
        non_idx, ess_idx, rest = split_rows(lists, theta, tol, stats, params)
        if not non_idx:
            return None
        acc, flag = self.acc, self.flag
        n = 0
        for i in ess_idx:
            pl = lists[i]
            n = self.scatter(acc, flag, self.touched, n, pl.ids, pl.tfs, norms, pl.weight, k1p1)
        kept = np.empty(n, dtype=np.int64)
        kept = kept[:self.keep_reaching(acc, flag, self.touched, n, live, theta - tol - rest, kept)]
        cand = kept
        try:
            positive = all(pl.weight > 0 for pl in lists)
            left = rest
            for i in reversed(non_idx):
                if len(cand) <= k:
                    break
                cand, theta = prune_candidates(cand, acc[cand], k, theta, tol, left, positive)
                pl = lists[i]
                self.probe_dense(cand, acc, flag, pl.ids, pl.tfs, norms, pl.weight, k1p1)
                left -= upper_bound(pl, stats, params)
            cand = within_reach(cand, acc[cand], k, tol)
        finally:
            acc[kept] = 0.0
        if not len(cand):
            return []
        cand = np.sort(cand)
        exact = np.zeros(len(cand))
        for pl in lists:  # reference order
            self.probe_add(cand, exact, pl.ids, pl.tfs, norms, pl.weight, k1p1)
        return top_k(cand, exact, k)
