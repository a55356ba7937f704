"""Compiled query kernel for large indexes: term-at-a-time BM25 and top-k selection in machine code.

Why: at a million chunks a query's terms touch hundreds of thousands of postings, and the numpy
kernels in `ranking` pay for them in many passes over temporary arrays (gather norms, compute
weights, scatter, partition, unique, lexsort) plus Python overhead between passes. One compiled
loop per posting list does the same arithmetic in a single pass, and one more pass over the touched
chunks keeps the best k — the same approach as bm25s's numba backend, on our exact scores.

Exactness: each posting adds `weight * (tf * (k1 + 1) / (tf + norm))`, the same IEEE operations in
the same order as `ranking.term_weights`, and lists are visited in the reference order of
`Searcher.score_terms` (distinct terms in first-occurrence order, segments ascending), so every
score is bit-identical to the reference and the order (score desc, chunk id asc) is `ranking.top_k`'s.
tests/test_ranking_parity.py holds the two to equality.

numba is imported only when an index is large enough to need it (`enabled`): importing it and
loading the cached machine code costs ~0.3-0.5 s, more than a seeds-sized question takes in total.
Compiled code is cached on disk (`cache=True`), so only the first process on a machine compiles.
"""
from __future__ import annotations

import os
import threading
from functools import lru_cache

import numpy as np

from index.ranking import (SEED_FACTOR, SEED_NARROW, Bm25Params, CorpusStats, PostingList, prunable, top_k,
                           upper_bound)

MIN_CHUNKS = 200_000  # below this the numpy kernels answer in well under a millisecond anyway


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
            a = lo
            b = n
            while a < b:
                m = (a + b) >> 1
                if ids[m] < x:
                    a = m + 1
                else:
                    b = m
            lo = a
            if a < n and ids[a] == x:
                tf = np.float64(tfs[a])
                out[c] += weight * (tf * k1p1 / (tf + norms[x]))
            if lo >= n:
                break

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def collect(acc, flag, touched, n_touched, live, threshold, out_ids, out_part):
        # live touched chunks whose partial score reaches the threshold; scratch reset on the way
        m = 0
        for t in range(n_touched):
            i = touched[t]
            s = acc[i]
            acc[i] = 0.0
            flag[i] = False
            if live[i] and s >= threshold:
                out_ids[m] = i
                out_part[m] = s
                m += 1
        return m

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def daat(ids, tfs, starts, ends, weights, bounds, norms, live, k, k1p1, tol, theta, out_ids, out_scores):
        # Document-at-a-time MaxScore over lists sorted by upper bound ascending. Lists
        # [0, first) are non-essential: their bounds sum below the k-th best score found so far,
        # so a chunk that none of the essential lists holds cannot enter the top k and is never
        # visited; the non-essential lists are only probed (forward binary search) for chunks
        # the essential lists bring up, highest bound first, stopping as soon as the bounds left
        # cannot lift the chunk to the threshold. Records every chunk whose approximate score
        # came within 2 x tol of the threshold at the time (the caller re-scores those exactly).
        n_lists = starts.shape[0]
        prefix = np.zeros(n_lists + 1)
        for l in range(n_lists):
            prefix[l + 1] = prefix[l] + bounds[l]
        pos = starts.copy()
        heap = np.full(k, -np.inf)  # min-heap of the k best approximate scores
        n_heap = 0
        first = 0  # theta (the caller's seed, or -inf) is a score the k-th best cannot fall below
        while first < n_lists and prefix[first + 1] < theta - tol:
            first += 1
        m = 0
        big = np.uint64(0xFFFFFFFFFFFFFFFF)
        while first < n_lists:
            d = big
            for l in range(first, n_lists):
                if pos[l] < ends[l]:
                    x = np.uint64(ids[pos[l]])
                    if x < d:
                        d = x
            if d == big:
                break
            score = 0.0
            for l in range(first, n_lists):
                p = pos[l]
                if p < ends[l] and np.uint64(ids[p]) == d:
                    tf = np.float64(tfs[p])
                    score += weights[l] * (tf * k1p1 / (tf + norms[d]))
                    pos[l] = p + 1
            if not live[d]:
                continue
            pruned = False
            for l in range(first - 1, -1, -1):
                if score + prefix[l + 1] < theta - tol:
                    pruned = True
                    break
                a = pos[l]
                b = ends[l]
                step = 1  # gallop forward, then binary search: chunks arrive in ascending order
                while a + step < b and np.uint64(ids[a + step]) < d:
                    a += step
                    step *= 2
                hi = min(a + step + 1, b)
                while a < hi:
                    mid = (a + hi) >> 1
                    if np.uint64(ids[mid]) < d:
                        a = mid + 1
                    else:
                        hi = mid
                pos[l] = a
                if a < b and np.uint64(ids[a]) == d:
                    tf = np.float64(tfs[a])
                    score += weights[l] * (tf * k1p1 / (tf + norms[d]))
            if pruned or score < theta - 2.0 * tol:
                continue
            out_ids[m] = np.int64(d)
            out_scores[m] = score
            m += 1
            if n_heap < k:
                heap[n_heap] = score  # sift up
                c = n_heap
                n_heap += 1
                while c > 0 and heap[(c - 1) >> 1] > heap[c]:
                    par = (c - 1) >> 1
                    heap[c], heap[par] = heap[par], heap[c]
                    c = par
            elif score > heap[0]:
                heap[0] = score  # sift down
                c = 0
                while True:
                    lft = 2 * c + 1
                    if lft >= k:
                        break
                    small = lft
                    if lft + 1 < k and heap[lft + 1] < heap[lft]:
                        small = lft + 1
                    if heap[small] < heap[c]:
                        heap[c], heap[small] = heap[small], heap[c]
                        c = small
                    else:
                        break
            if n_heap == k and heap[0] > theta:
                theta = heap[0]
                while first < n_lists and prefix[first + 1] < theta - tol:
                    first += 1
        return m

    try:  # compile (or load from the on-disk cache) now, for both stored tf widths
        acc = np.zeros(4)
        flag = np.zeros(4, dtype=np.bool_)
        touched = np.zeros(4, dtype=np.int64)
        norms = np.ones(4)
        ids = np.array([1, 3], dtype=np.uint32)
        for tfs in (np.array([1, 2], dtype=np.uint8), np.array([1, 2], dtype=np.uint16)):
            n = scatter(acc, flag, touched, 0, ids, tfs, norms, 1.0, 2.0)
            select(acc, flag, touched, n, np.ones(4, dtype=np.bool_), 1, np.zeros(1, np.int64), np.zeros(1))
            n = scatter(acc, flag, touched, 0, ids, tfs, norms, 1.0, 2.0)
            collect(acc, flag, touched, n, np.ones(4, dtype=np.bool_), 0.0, np.zeros(4, np.int64), np.zeros(4))
            probe_add(np.array([1, 2], dtype=np.int64), np.zeros(2), ids, tfs, norms, 1.0, 2.0)
            daat(ids, tfs, np.array([0, 1], np.int64), np.array([1, 2], np.int64), np.ones(2), np.ones(2), norms,
                 np.ones(4, dtype=np.bool_), 1, 2.0, 1e-9, -np.inf, np.zeros(2, np.int64), np.zeros(2))
    except Exception:  # noqa: BLE001 - any compiler failure means "use numpy", never a failed query
        return None
    return scatter, select, probe_add, collect, daat


class CompiledRanker:
    """Per-Searcher scratch (dense accumulator, touched marks, touched list) and the two kernels."""

    def __init__(self, n: int) -> None:
        self.scatter, self.select, self.probe_add, self.collect, self.daat = _functions()
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
        """Exact top-k by document-at-a-time MaxScore (`daat`); None when pruning cannot apply.

        The threshold rises with every chunk that enters the running top k, so rows whose bounds
        fall below it stop being walked and are only probed — unlike the numpy MaxScore, which
        fixes its threshold before scattering. Scores found this way sum the rows in bound order,
        so they only choose candidates: every chunk within 2 x tol (far above float rounding) of
        the k-th best is scored again in the reference order, and `ranking.top_k` ranks those —
        the same chunks, scores (bit for bit) and tie order as `Searcher.score_terms`."""
        if k <= 0 or len(lists) < 2 or not prunable(params):
            return None
        k1p1 = params.k1 + 1.0
        tol = 1e-9 * max(1.0, sum(abs(pl.weight) for pl in lists) * k1p1)
        theta = self._seed_threshold(lists, k, norms, live, k1p1) - tol
        bounds = [upper_bound(pl, stats, params) for pl in lists]
        order = sorted(range(len(lists)), key=bounds.__getitem__)
        ids = np.concatenate([lists[i].ids for i in order])
        tfs = np.concatenate([lists[i].tfs for i in order])
        ends = np.cumsum([len(lists[i].ids) for i in order], dtype=np.int64)
        starts = ends - np.array([len(lists[i].ids) for i in order], dtype=np.int64)
        out_ids = np.empty(len(ids), dtype=np.int64)
        out_scores = np.empty(len(ids), dtype=np.float64)
        m = self.daat(ids, tfs, starts, ends, np.array([lists[i].weight for i in order]),
                      np.array([bounds[i] for i in order]), norms, live, k, k1p1, tol, theta, out_ids, out_scores)
        cand, approx = out_ids[:m], out_scores[:m]
        if m > k:
            kth = float(np.partition(approx, m - k)[m - k])
            cand = cand[approx >= kth - 2 * tol]
        if not len(cand):
            return []
        exact = np.zeros(len(cand))
        for pl in lists:  # reference order; cand ascending (document-at-a-time)
            self.probe_add(cand, exact, pl.ids, pl.tfs, norms, pl.weight, k1p1)
        return top_k(cand, exact, k)

    def _seed_threshold(self, lists: list[PostingList], k: int, norms: np.ndarray, live: np.ndarray,
                        k1p1: float) -> float:
        """A score the k-th best answer cannot fall below, before walking any long row: the k-th
        best exact score among the rarest term's live chunks (or, when that row is long, its chunks
        that also hold the next rarest term). Without it the walk starts at -inf and scans the
        frequent rows until good chunks happen to turn up in id order. -inf if fewer than k."""
        groups: dict[int, list[PostingList]] = {}
        for pl in lists:
            groups.setdefault(pl.term, []).append(pl)
        ordered = sorted(groups.values(), key=lambda g: sum(len(pl.ids) for pl in g))
        parts: list[np.ndarray] = []
        n_seed = 0
        for group in ordered:
            parts.extend(pl.ids for pl in group)
            n_seed += sum(len(pl.ids) for pl in group)
            if n_seed >= SEED_FACTOR * k:
                break
        if len(parts) == len(lists):
            return -np.inf
        seed = parts[0] if len(parts) == 1 else np.unique(np.concatenate(parts))
        seed = seed[live[seed]]
        if len(seed) < k:
            return -np.inf
        if len(seed) > SEED_NARROW * k and len(parts) == len(ordered[0]) and len(ordered) > 1:
            flag = self.flag
            flag[seed] = True
            nxt = ordered[1][0].ids if len(ordered[1]) == 1 else np.concatenate([pl.ids for pl in ordered[1]])
            both = nxt[flag[nxt]]
            flag[seed] = False
            if len(both) >= SEED_FACTOR * k:
                seed = np.sort(both)
        seed = seed.astype(np.int64)
        partial = np.zeros(len(seed))
        for pl in lists:
            self.probe_add(seed, partial, pl.ids, pl.tfs, norms, pl.weight, k1p1)
        return float(np.partition(partial, len(seed) - k)[len(seed) - k])
