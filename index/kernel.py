"""Compiled query kernels for large indexes: BM25 scoring, MaxScore pruning and top-k in machine code.

Why: at a million chunks a query's terms touch hundreds of thousands of postings, and the numpy
kernels in `ranking` pay for them in many passes over temporary arrays (gather norms, compute
weights, scatter, partition, unique, lexsort) plus Python overhead between passes. Here each
posting list is one compiled loop: `CompiledRanker.maxscore` is `ranking.maxscore_top_k`'s
algorithm with its loops compiled (scatter the rows that can lift a chunk to the threshold, probe
the others for the surviving candidates only), and `CompiledRanker.top_k` is plain term-at-a-time
with a compiled top-k, for queries pruning cannot help — bm25s's numba approach, on exact scores.

Probes are where MaxScore spends: the surviving candidates (often tens of thousands) looked up in
rows of hundreds of thousands of postings, for the threshold, the pruning and the exact scores. A
row holding at least 1/BITS_DENSITY of all chunks therefore also gets a bitmap over chunk ids with
per-word posting counts (`CompiledRanker.bits`, cached with the row): a lookup is one word test and
a popcount, so probing costs O(candidates) instead of a pass over the row or a binary search (a
chain of cache misses) per candidate. On the 1M-chunk benchmark this cut ranking time by ~30%.

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
from types import SimpleNamespace

import numpy as np

from index.ranking import (Bm25Params, CorpusStats, PostingList, holding_any, prunable, seed_chunks,
                           split_rows, tolerance, top_k, upper_bound, within_reach)

MIN_CHUNKS = 20_000  # below this the numpy kernels answer in well under a millisecond anyway
BITS_DENSITY = 32  # rows holding at least 1/32 of all chunks also get a bitmap (`CompiledRanker.bits`)


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
    """The kernels compiled by numba (a namespace), or None when numba is not installed or cannot compile
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
    def gallop(ids, a, n, x):
        # lower_bound(ids, a, n, x), searching outward from a: O(log distance), reading cache
        # lines near a, which successive searches for ascending values have just read
        step = 1
        b = a
        while b < n and ids[b] < x:
            a = b + 1
            b += step
            step <<= 1
        return lower_bound(ids, a, min(b, n), x)

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def intersect(a, b, out):
        # the values of a found in b (both ascending) into out, ascending; returns their number.
        # A binary search of b for each value of a, from where the previous one ended: a is the
        # short list, so this reads a few cache lines of b per value instead of all of b
        n = b.shape[0]
        lo = 0
        m = 0
        for j in range(a.shape[0]):
            x = a[j]
            lo = gallop(b, lo, n, x)
            if lo >= n:
                break
            if b[lo] == x:
                out[m] = x
                m += 1
        return m

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def popcount(v):
        # set bits of a uint64 (SWAR: no intrinsic needed)
        v = v - ((v >> np.uint64(1)) & np.uint64(0x5555555555555555))
        v = (v & np.uint64(0x3333333333333333)) + ((v >> np.uint64(2)) & np.uint64(0x3333333333333333))
        v = (v + (v >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
        return np.int64((v * np.uint64(0x0101010101010101)) >> np.uint64(56))

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def build_bits(ids, words, ranks):
        # the row as a bitmap over chunk ids plus, per 64-bit word, the number of postings before it
        for j in range(ids.shape[0]):
            x = np.uint64(ids[j])
            words[x >> np.uint64(6)] |= np.uint64(1) << (x & np.uint64(63))
        total = 0
        for w in range(words.shape[0]):
            ranks[w] = total
            total += popcount(words[w])

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def position(words, ranks, x):
        # where chunk x is in the row, or -1: one word test and a popcount, whatever the row's length
        w = x >> 6
        bit = np.uint64(1) << np.uint64(x & 63)
        v = words[w]
        if v & bit == np.uint64(0):
            return -1
        return np.int64(ranks[w]) + popcount(v & (bit - np.uint64(1)))

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def probe_add_bits(cand, out, words, ranks, tfs, norms, weight, k1p1):
        # probe_add through the row's bitmap: the same sums, in O(1) per candidate
        for c in range(cand.shape[0]):
            x = cand[c]
            p = position(words, ranks, x)
            if p >= 0:
                tf = np.float64(tfs[p])
                out[c] += weight * (tf * k1p1 / (tf + norms[x]))

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def probe_bits(cand, sc, words, ranks, vals, weight):
        # probe_dense through the row's bitmap
        for j in range(cand.shape[0]):
            p = position(words, ranks, cand[j])
            if p >= 0:
                sc[j] += weight * vals[p]

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def intersect_bits(a, words, out):
        # intersect through the row's bitmap
        m = 0
        for j in range(a.shape[0]):
            x = a[j]
            if words[x >> 6] & (np.uint64(1) << np.uint64(x & 63)) != np.uint64(0):
                out[m] = x
                m += 1
        return m

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def impacts(ids, tfs, norms, k1p1, out):
        # each posting's tf-part, rank-bm25's expression in float64, stored as float32
        for j in range(ids.shape[0]):
            tf = np.float64(tfs[j])
            out[j] = tf * k1p1 / (tf + norms[ids[j]])

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def scatter(acc, flag, touched, n_touched, ids, vals, weight):
        # acc[i] += weight * impact, recording each chunk once in touched without a branch (a
        # mispredicted "first time?" test cost 3x the scatter itself)
        for j in range(ids.shape[0]):
            i = ids[j]
            acc[i] += weight * vals[j]
            touched[n_touched] = i
            n_touched += 1 - flag[i]
            flag[i] = 1
        return n_touched

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def keep_best(best, count, k, s):
        # s into best[:count] (descending, at most k kept); returns the new count
        if count == k:
            if s <= best[k - 1]:
                return count
            pos = k - 1
        else:
            pos = count
            count += 1
        while pos > 0 and best[pos - 1] < s:
            best[pos] = best[pos - 1]
            pos -= 1
        best[pos] = s
        return count

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def kth_largest(values, k):
        # the k-th largest value (k <= len): one pass keeping the k best in a small sorted buffer
        best = np.empty(k)
        count = 0
        for t in range(values.shape[0]):
            count = keep_best(best, count, k, values[t])
        return best[k - 1]

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def near_top(acc, flag, touched, n_touched, live, k, margin, out_ids, out_scores):
        # live touched chunks whose approximate score is within `margin` of the k-th best
        # approximate score (all of them when fewer than k are live), in one pass that also resets
        # the scratch: a chunk is kept if it is within margin of the k-th best seen so far, and
        # the kept ones are filtered by the final k-th best at the end (few: the running k-th
        # best rises fast)
        best = np.empty(k)
        count = 0
        m = 0
        for t in range(n_touched):
            i = touched[t]
            s = acc[i]
            acc[i] = 0.0
            flag[i] = 0
            if not live[i] or (count == k and s < best[k - 1] - margin):
                continue
            out_ids[m] = i
            out_scores[m] = s
            m += 1
            count = keep_best(best, count, k, s)
        cut = best[k - 1] - margin if count == k else -np.inf
        kept = 0
        for t in range(m):
            if out_scores[t] >= cut:
                out_ids[kept] = out_ids[t]
                kept += 1
        return kept

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def keep_one_row(ids, vals, weight, live, threshold, out_ids, out_scores):
        # keep_reaching for a single essential row, without the scatter: its live chunks whose
        # contribution reaches the threshold, in row order (ascending), with that contribution
        m = 0
        for j in range(ids.shape[0]):
            i = ids[j]
            s = weight * vals[j]
            if s >= threshold and live[i]:
                out_ids[m] = i
                out_scores[m] = s
                m += 1
        return m

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def prune(cand, sc, n, k, theta, tol, left, positive):
        # ranking.prune_candidates in place on (cand, sc)[:n]: returns (new n, theta)
        if positive and n >= k:
            best = np.empty(k)
            count = 0
            for t in range(n):
                count = keep_best(best, count, k, sc[t])
            theta = max(theta, best[k - 1] - tol)
        cut = theta - tol - left
        m = 0
        for t in range(n):
            if sc[t] >= cut:
                cand[m] = cand[t]
                sc[m] = sc[t]
                m += 1
        return m, theta

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
    def keep_reaching(acc, flag, touched, n_touched, live, threshold, out_ids, out_scores):
        # touched live chunks whose partial score reaches the threshold, with that score, into
        # contiguous arrays (the probes then read and write them in order instead of gathering
        # from the dense accumulator); the scratch is reset for every touched chunk
        m = 0
        for t in range(n_touched):
            i = touched[t]
            flag[i] = 0
            s = acc[i]
            acc[i] = 0.0
            if live[i] and s >= threshold:
                out_ids[m] = i
                out_scores[m] = s
                m += 1
        return m

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def probe_dense(cand, sc, acc, flag, ids, vals, weight):
        # sc[j] += weight * impact for every candidate cand[j] the row holds. Few candidates
        # against a long row: a binary search each; otherwise one pass over the row against
        # candidate marks, summing into the (zeroed, and left zeroed) dense acc
        n = ids.shape[0]
        if cand.shape[0] * 16 < n:
            for j in range(cand.shape[0]):
                x = cand[j]
                a = lower_bound(ids, 0, n, x)
                if a < n and ids[a] == x:
                    sc[j] += weight * vals[a]
            return
        for j in range(cand.shape[0]):
            flag[cand[j]] = 1
        for p in range(n):
            i = ids[p]
            if flag[i]:
                acc[i] += weight * vals[p]
        for j in range(cand.shape[0]):
            x = cand[j]
            flag[x] = 0
            sc[j] += acc[x]
            acc[x] = 0.0

    try:  # compile (or load from the on-disk cache) now, for both stored tf widths
        acc = np.zeros(4, dtype=np.float32)
        flag = np.zeros(4, dtype=np.uint8)
        touched = np.zeros(4, dtype=np.int64)
        norms = np.ones(4)
        live = np.ones(4, dtype=np.bool_)
        ids = np.array([1, 3], dtype=np.uint32)
        vals = np.zeros(2, dtype=np.float32)
        stored = ids.copy()
        stored.setflags(write=False)  # rows read from SQLite are read-only buffers: their own
        for tfs in (np.array([1, 2], dtype=np.uint8), np.array([1, 2], dtype=np.uint16)):  # signatures
            for row_ids in (ids, stored):
                impacts(row_ids, tfs, norms, 2.0, vals)
                probe_add(np.array([1, 2], dtype=np.int64), np.zeros(2), row_ids, tfs, norms, 1.0, 2.0)
                n = scatter(acc, flag, touched, 0, row_ids, vals, 1.0)
                keep_reaching(acc, flag, touched, n, live, 0.0, np.zeros(4, np.int64), np.zeros(4))
                probe_dense(np.array([1], np.int64), np.zeros(1), acc, flag, row_ids, vals, 1.0)
                probe_dense(np.array([1, 3], np.int64), np.zeros(2), acc, flag, row_ids[:1], vals[:1], 1.0)
        n = scatter(acc, flag, touched, 0, ids, vals, 1.0)
        near_top(acc, flag, touched, n, live, 1, 0.0, np.zeros(4, np.int64), np.zeros(4))
        n = scatter(acc, flag, touched, 0, ids, vals, 1.0)
        keep_reaching(acc, flag, touched, n, live, 0.0, np.zeros(4, np.int64), np.zeros(4))
        kth_largest(np.array([1.0, 2.0]), 1)
        for a in (ids, stored):
            for b in (ids, stored):
                intersect(a, b, np.zeros(2, np.uint32))
            words, ranks = np.zeros(1, np.uint64), np.zeros(1, np.uint32)
            build_bits(a, words, ranks)
            intersect_bits(a, words, np.zeros(2, np.uint32))
        for tfs in (np.array([1, 2], dtype=np.uint8), np.array([1, 2], dtype=np.uint16)):
            probe_add_bits(np.array([1, 2], np.int64), np.zeros(2), words, ranks, tfs, norms, 1.0, 2.0)
        probe_bits(np.array([1, 2], np.int64), np.zeros(2), words, ranks, vals, 1.0)
        for row_ids in (ids, stored):
            keep_one_row(row_ids, vals, 1.0, live, 0.0, np.zeros(4, np.int64), np.zeros(4))
        for positive in (True, False):
            prune(np.array([1, 3], np.int64), np.zeros(2), 2, 1, 0.0, 0.0, 0.0, positive)
        acc[:] = 0.0
    except Exception:  # noqa: BLE001 - any compiler failure means "use numpy", never a failed query
        return None
    return SimpleNamespace(impacts=impacts, scatter=scatter, near_top=near_top, kth_largest=kth_largest,
                           probe_add=probe_add, keep_reaching=keep_reaching, probe_dense=probe_dense,
                           intersect=intersect, build_bits=build_bits, probe_add_bits=probe_add_bits,
                           probe_bits=probe_bits, intersect_bits=intersect_bits, keep_one_row=keep_one_row,
                           prune=prune)


def impact_tolerance(lists: list[PostingList], params: Bm25Params) -> float:
    """Margin for comparisons between approximate scores. An impact is the float64 tf-part (at most
    k1 + 1) rounded to float32, off by at most 2^-24 of it; approximate scores are then summed in a
    float32 accumulator (half the memory traffic of float64), each of at most one addition per row
    rounding the running sum, itself at most S = sum|weight| x (k1 + 1), by 2^-24 of it. So an
    approximate score is within (rows + 1) x 2^-24 x S of the exact one; twice that, plus the
    float64 margin, covers every comparison here."""
    total = sum(abs(pl.weight) for pl in lists) * (params.k1 + 1.0)
    return tolerance(lists, params) + 2.0 ** -23 * (len(lists) + 1) * total


class CompiledRanker:
    """Per-Searcher scratch (dense float32 accumulator, touched marks, touched list, candidate ids
    and partial scores; all zeroed or overwritten by the kernels that use them) and the kernels.

    Candidates are found with impacts: each posting's tf-part precomputed as float32 for the
    index's current average length (`impacts`, cached with the postings by the Searcher), so a
    posting costs one multiply-add instead of a norm lookup and a division. Impacts are only used
    to decide which chunks can be in the top k; every reported score is then computed exactly from
    the stored term frequencies, in the reference order (`_exact`)."""

    def __init__(self, n: int) -> None:
        self.fn = _functions()
        self.acc = np.zeros(n, dtype=np.float32)
        self.flag = np.zeros(n, dtype=np.uint8)
        self.touched = np.zeros(n, dtype=np.int64)
        self.out_ids = np.zeros(n, dtype=np.int64)   # scratch for candidate lists: allocating
        self.out_scores = np.zeros(n)                 # ~1 MB per query costs page faults

    def impacts(self, ids: np.ndarray, tfs: np.ndarray, norms: np.ndarray, k1: float) -> np.ndarray:
        out = np.empty(len(ids), dtype=np.float32)
        self.fn.impacts(ids, tfs, norms, k1 + 1.0, out)
        return out

    def _impacts_of(self, lists: list[PostingList], norms: np.ndarray, k1: float) -> list[np.ndarray]:
        """Each list's impacts: the cached ones (`Searcher.posting_lists(..., ranker)`), else computed."""
        return [pl.impacts if pl.impacts is not None else self.impacts(pl.ids, pl.tfs, norms, k1) for pl in lists]

    def bits(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """A long row (at least 1/BITS_DENSITY of all chunks) as a bitmap over chunk ids with the
        count of postings before each 64-bit word: "does the row hold chunk c, and where" becomes
        one word test and a popcount, so probing it for C candidates costs O(C) instead of a pass
        over the row or C binary searches, each a chain of cache misses. N/8 + N/16 bytes per row
        (N chunks): for such rows, less than the ids themselves."""
        n = len(self.acc)
        if len(ids) * BITS_DENSITY < n:
            return None
        words = np.zeros((n + 63) >> 6, dtype=np.uint64)
        ranks = np.empty(len(words), dtype=np.uint32)
        self.fn.build_bits(ids, words, ranks)
        return words, ranks

    def _intersect(self, seed: np.ndarray, group: list[PostingList]) -> np.ndarray:
        """`ranking.holding_any` for one row: through its bitmap, or binary searches from the
        (short) seed, instead of a pass over the (long) row."""
        if len(group) != 1:
            return holding_any(seed, [pl.ids for pl in group], self.flag.view(np.bool_))
        pl = group[0]
        out = np.empty(len(seed), dtype=seed.dtype)
        m = self.fn.intersect_bits(seed, pl.bits[0], out) if pl.bits is not None \
            else self.fn.intersect(seed, pl.ids, out)
        return out[:m]

    def _add_exact(self, cand: np.ndarray, out: np.ndarray, pl: PostingList, norms: np.ndarray,
                   k1p1: float) -> None:
        """out[c] += the row's exact contribution to each (ascending) candidate c."""
        if pl.bits is not None:
            self.fn.probe_add_bits(cand, out, *pl.bits, pl.tfs, norms, pl.weight, k1p1)
        else:
            self.fn.probe_add(cand, out, pl.ids, pl.tfs, norms, pl.weight, k1p1)

    def _exact(self, cand: np.ndarray, lists: list[PostingList], k: int, norms: np.ndarray,
               params: Bm25Params) -> list[tuple[int, float]]:
        """Exact scores of the (sorted) candidates, summed in the reference order, ranked."""
        if not len(cand):
            return []
        exact = np.zeros(len(cand))
        k1p1 = params.k1 + 1.0
        for pl in lists:
            self._add_exact(cand, exact, pl, norms, k1p1)
        return top_k(cand, exact, k)

    def top_k(self, lists: list[PostingList], k: int, norms: np.ndarray, live: np.ndarray,
              params: Bm25Params) -> list[tuple[int, float]]:
        """Term-at-a-time over every list (impacts), then exact scores for the chunks within
        rounding distance of the k-th. Same result as `ranking.top_k` over `Searcher.score_terms`."""
        if k <= 0:
            return []
        fn, n = self.fn, 0
        for pl, vals in zip(lists, self._impacts_of(lists, norms, params.k1)):
            n = fn.scatter(self.acc, self.flag, self.touched, n, pl.ids, vals, pl.weight)
        m = fn.near_top(self.acc, self.flag, self.touched, n, live, k, 2 * impact_tolerance(lists, params),
                        self.out_ids, self.out_scores)
        return self._exact(np.sort(self.out_ids[:m]), lists, k, norms, params)

    def maxscore(self, lists: list[PostingList], k: int, norms: np.ndarray, live: np.ndarray,
                 stats: CorpusStats, params: Bm25Params, *, narrow: int | None = None) -> list[tuple[int, float]] | None:
        """`ranking.maxscore_top_k` compiled, on impacts: the rows whose bounds can lift a chunk to
        the seeded threshold are scattered (a single such row is filtered in one pass instead),
        every other row is probed for the surviving candidates only (through its bitmap when it has
        one; else binary searches, or one pass against candidate marks), highest bound first,
        pruning and raising the threshold between rows. Candidates carry their partial scores in
        a parallel array (`out_ids`, `out_scores`), so pruning reads them in order. The last
        candidates are re-scored exactly in the reference order. None when pruning cannot apply."""
        if k <= 0 or len(lists) < 2 or not prunable(params):
            return None
        fn = self.fn
        k1p1 = params.k1 + 1.0
        tol = impact_tolerance(lists, params)
        seed = seed_chunks(lists, k, live, self.flag.view(np.bool_), narrow, intersect=self._intersect)
        if seed is None:
            return None
        seed = seed.astype(np.int64)
        partial = np.zeros(len(seed))
        for pl in lists:  # exact: theta must not exceed the k-th best exact score
            self._add_exact(seed, partial, pl, norms, k1p1)
        theta = float(fn.kth_largest(partial, k))
        non_idx, ess_idx, rest = split_rows(lists, theta, tol, stats, params)
        if not non_idx:
            return None
        acc, flag = self.acc, self.flag
        vals = self._impacts_of(lists, norms, params.k1)
        cut = theta - tol - rest
        cand, sc = self.out_ids, self.out_scores
        if len(ess_idx) == 1:  # nothing to sum: keep the row's chunks that reach the cut directly
            i = ess_idx[0]
            n = fn.keep_one_row(lists[i].ids, vals[i], lists[i].weight, live, cut, cand, sc)
        else:
            n = 0
            for i in ess_idx:
                n = fn.scatter(acc, flag, self.touched, n, lists[i].ids, vals[i], lists[i].weight)
            n = fn.keep_reaching(acc, flag, self.touched, n, live, cut, cand, sc)
        positive = all(pl.weight > 0 for pl in lists)
        left = rest
        for i in reversed(non_idx):
            if n <= k:
                break
            n, theta = fn.prune(cand, sc, n, k, theta, tol, left, positive)
            pl = lists[i]
            if pl.bits is not None:
                fn.probe_bits(cand[:n], sc[:n], *pl.bits, vals[i], pl.weight)
            else:
                fn.probe_dense(cand[:n], sc[:n], acc, flag, pl.ids, vals[i], pl.weight)
            left -= upper_bound(pl, stats, params)
        cand = within_reach(cand[:n], sc[:n], k, tol, fn.kth_largest)
        return self._exact(np.sort(cand), lists, k, norms, params)
