"""BM25 exactly as rank-bm25's `BM25Okapi` defines it, computed from precomputed postings.

rank-bm25 is the definition of the score (design card); its `get_scores` walks every chunk in
Python for every query term, so we store per-term postings (chunk ids + term frequencies) and a
per-chunk length array, and evaluate the same formula only over the chunks a query term touches:

  idf(t)   = ln(N - df + 0.5) - ln(df + 0.5), and where that is negative: epsilon * mean idf
  score(c) = sum over query tokens t (repeats count, as in rank-bm25) of
             idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(c) / avgdl))

The parity test (tests/test_ranking_parity.py) holds these numbers to rank-bm25's within 1e-6.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

VARIANT = "BM25Okapi"
SEED_FACTOR = 2   # MaxScore seeds its threshold from the rarest terms until they hold this many x k postings
SEED_NARROW = 50  # above this many x k seed chunks, seed only from those sharing the two rarest terms
DEFAULT_K1 = 0.9  # k1/b chosen on SciFact train (809 claims; grid in tests/eval/scifact.py)
DEFAULT_B = 0.4
DEFAULT_EPSILON = 0.25


@dataclass(frozen=True)
class Bm25Params:
    k1: float = DEFAULT_K1
    b: float = DEFAULT_B
    epsilon: float = DEFAULT_EPSILON
    variant: str = VARIANT


@dataclass(frozen=True)
class CorpusStats:
    """Global statistics over live chunks; they change with every add/remove, so they are global, not per segment."""

    n_chunks: int
    total_length: int
    average_idf: float  # rank-bm25's mean of raw idf over the vocabulary (before the epsilon floor)

    @property
    def avgdl(self) -> float:
        return self.total_length / self.n_chunks if self.n_chunks else 0.0


def raw_idf(n: int, df: np.ndarray | int) -> np.ndarray | float:
    return np.log(n - df + 0.5) - np.log(df + 0.5)


def average_idf(n: int, dfs: np.ndarray) -> float:
    """Mean raw idf over every term with df > 0 (rank-bm25 averages before flooring negatives)."""
    dfs = dfs[dfs > 0]
    if not len(dfs):
        return 0.0
    return float(np.sum(raw_idf(n, dfs.astype(np.float64))) / len(dfs))


def idf(stats: CorpusStats, params: Bm25Params, df: int) -> float:
    if df <= 0 or stats.n_chunks <= 0:
        return 0.0
    value = math.log(stats.n_chunks - df + 0.5) - math.log(df + 0.5)
    return params.epsilon * stats.average_idf if value < 0 else value


def length_norm(lengths: np.ndarray, stats: CorpusStats, params: Bm25Params) -> np.ndarray:
    """k1 * (1 - b + b * len / avgdl) per chunk: computed once per index load, reused by every query."""
    avgdl = stats.avgdl or 1.0
    return params.k1 * (1.0 - params.b + params.b * lengths.astype(np.float64) / avgdl)


def term_weights(tfs: np.ndarray, norms: np.ndarray, term_idf: float, params: Bm25Params) -> np.ndarray:
    tf = tfs.astype(np.float64)
    return term_idf * (tf * (params.k1 + 1.0) / (tf + norms))


def top_k(candidates: np.ndarray, scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """Best k (chunk id, score) by score desc, ties by chunk id asc (deterministic)."""
    if k <= 0 or not len(candidates):
        return []
    if len(candidates) > k:
        idx = np.argpartition(-scores, k - 1)[:k]
        # include every candidate tied with the k-th score so tie order is by chunk id, not partition luck
        kth = scores[idx].min()
        idx = np.nonzero(scores >= kth)[0]
    else:
        idx = np.arange(len(candidates))
    order = np.lexsort((candidates[idx], -scores[idx]))[:k]
    chosen = idx[order]
    return [(int(candidates[i]), float(scores[i])) for i in chosen]


# ---- query kernels ------------------------------------------------------------------------------
# Both kernels return exactly `top_k(*Searcher.score_terms(terms), k)`: the same chunks, the same
# float scores bit for bit (every reported score is summed in the reference order: the query's
# distinct terms in first-occurrence order, each term's segments in segment order), the same tie
# order. MaxScore only decides *which* chunks need exact scores; it never reports its own sums.

@dataclass(frozen=True)
class PostingList:
    """One (term, segment) row of the postings table, as one query sees it."""

    term: int            # the term's position among the query's distinct terms
    ids: np.ndarray      # chunk ids, sorted ascending (uint32)
    tfs: np.ndarray      # term frequencies (uint16)
    weight: float        # idf x the term's repeats in the query
    max_tf: int          # largest tf in the row        } bound any chunk's contribution
    min_len: int         # shortest chunk in the row    } under the current avgdl
    impacts: np.ndarray | None = None  # float32 tf-parts for the compiled kernel (index.kernel)
    bits: tuple[np.ndarray, np.ndarray] | None = None  # a long row as a bitmap with ranks (index.kernel)


def upper_bound(pl: PostingList, stats: CorpusStats, params: Bm25Params) -> float:
    """Largest contribution any chunk of the row can get: the tf-part grows with tf and shrinks with
    chunk length (k1 > 0, 0 <= b <= 1), so max tf with min length bounds it. A row whose weight is
    not positive can only lower scores: its bound is 0."""
    if pl.weight <= 0 or not len(pl.ids):
        return 0.0
    norm = params.k1 * (1.0 - params.b + params.b * pl.min_len / (stats.avgdl or 1.0))
    return pl.weight * pl.max_tf * (params.k1 + 1.0) / (pl.max_tf + norm)


def prunable(params: Bm25Params) -> bool:
    """Upper bounds are only valid where the tf-part is monotone in tf and chunk length."""
    return params.k1 > 0 and 0.0 <= params.b <= 1.0


def taat_top_k(lists: list[PostingList], k: int, norms: np.ndarray, live: np.ndarray, acc: np.ndarray,
               params: Bm25Params) -> list[tuple[int, float]]:
    """Term-at-a-time into the zeroed dense accumulator `acc` (left zeroed), then top-k over the
    touched entries without sorting them all. A chunk occurs at most once per list, so its k best
    distinct chunks are among the k x lists best touched entries; ties at the cut and dead chunks
    fall back to selecting among every touched chunk."""
    for pl in lists:
        acc[pl.ids] += term_weights(pl.tfs, norms[pl.ids], pl.weight, params)
    cand = lists[0].ids if len(lists) == 1 else np.concatenate([pl.ids for pl in lists])
    scores = acc[cand]
    try:
        m = k * len(lists)
        if len(cand) > m:
            sel = np.argpartition(-scores, m - 1)[:m]
            cut = scores[sel].min()
            if np.count_nonzero(scores >= cut) > m:  # ties straddle the cut: be exact
                sel = np.flatnonzero(scores >= cut)
            cand_sel, score_sel = cand[sel], scores[sel]
        else:
            cand_sel, score_sel = cand, scores
        uniq, first = np.unique(cand_sel, return_index=True)
        alive = live[uniq]
        if not alive.all() and len(cand) > len(cand_sel):  # dead chunks took places: redo over all
            uniq, first = np.unique(cand, return_index=True)
            alive = live[uniq]
            return top_k(uniq[alive].astype(np.int64), scores[first][alive], k)
        return top_k(uniq[alive].astype(np.int64), score_sel[first][alive], k)
    finally:
        acc[cand] = 0.0


def _probe(pl: PostingList, chosen: np.ndarray, flag: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Entries of `pl` whose chunk is in `chosen` (unique, marked in `flag`): (ids, tfs).
    Few chosen chunks against a long list: binary search (C log L); otherwise one streaming byte
    gather over the list (~1 ns a posting, no sort, instead of ~20 ns for a numpy scatter-add)."""
    ids = pl.ids
    if len(chosen) * 16 < len(ids):
        pos = np.searchsorted(ids, chosen)
        np.minimum(pos, len(ids) - 1, out=pos)
        hit = ids[pos] == chosen
        return chosen[hit], pl.tfs[pos[hit]]
    m = flag[ids]
    return ids[m], pl.tfs[m]


def _add(acc: np.ndarray, pl: PostingList, ids: np.ndarray, tfs: np.ndarray, norms: np.ndarray,
         params: Bm25Params) -> None:
    """acc[ids] += the row's BM25 contributions, for pruning decisions only (rounded differently
    from `term_weights`: reported scores never come from here). Indices are converted to intp
    once, not on each of the three fancy-indexing passes, and the arithmetic runs in place."""
    i = ids.astype(np.intp)
    tf = tfs.astype(np.float64)
    den = norms.take(i)
    den += tf
    tf *= pl.weight * (params.k1 + 1.0)
    tf /= den
    acc[i] += tf


def _distinct(ids: np.ndarray, slot: np.ndarray) -> np.ndarray:
    """`ids` without repeats, in first-occurrence order, in O(len(ids)) (np.unique hashes or sorts:
    ~10x slower here). `slot` is a dense int32 scratch array; whatever it holds is overwritten."""
    n = np.arange(len(ids), dtype=np.int32)
    slot[ids] = n  # a repeated id keeps its last position
    return ids[slot[ids] == n]


def holding_any(seed: np.ndarray, rows: list[np.ndarray], flag: np.ndarray) -> np.ndarray:
    """The chunks of `seed` (sorted, distinct) found in any of `rows`, sorted: one pass over the
    rows against marks in `flag` (a dense bool scratch array, False on entry and exit)."""
    flag[seed] = True
    try:
        both = rows[0][flag[rows[0]]] if len(rows) == 1 else np.unique(np.concatenate([r[flag[r]] for r in rows]))
    finally:
        flag[seed] = False
    return both


def seed_chunks(lists: list[PostingList], k: int, live: np.ndarray, flag: np.ndarray,
                narrow: int | None = None, intersect=None) -> np.ndarray | None:
    """MaxScore's seed (step 1 of `maxscore_top_k`): the live chunks of the rarest term(s), enough
    to hold >= SEED_FACTOR x k postings — or, when that list is long (> `narrow` x k), only those of
    its chunks that also hold the next rarest term (the likely top scorers, far fewer to score).
    Sorted, distinct. None when there is nothing to prune (every list needed) or fewer than k.
    `flag` is a dense bool scratch array, False on entry and exit. `intersect(seed, group)` finds
    the seed chunks in the next term's rows (`holding_any` unless a faster one is given)."""
    groups: dict[int, list[PostingList]] = {}
    for pl in lists:
        groups.setdefault(pl.term, []).append(pl)
    if len(groups) < 2:
        return None
    ordered = sorted(groups.values(), key=lambda g: sum(len(pl.ids) for pl in g))
    parts: list[np.ndarray] = []
    n_seed = 0
    for group in ordered:
        parts.extend(pl.ids for pl in group)
        n_seed += sum(len(pl.ids) for pl in group)
        if n_seed >= SEED_FACTOR * k:
            break
    if len(parts) == len(lists):
        return None
    seed = parts[0] if len(parts) == 1 else np.unique(np.concatenate(parts))
    seed = seed[live[seed]]
    if len(seed) < k:
        return None
    if len(seed) > (SEED_NARROW if narrow is None else narrow) * k and len(parts) == len(ordered[0]):
        both = intersect(seed, ordered[1]) if intersect is not None \
            else holding_any(seed, [pl.ids for pl in ordered[1]], flag)
        if len(both) >= SEED_FACTOR * k:
            seed = both
    return seed


def split_rows(lists: list[PostingList], theta: float, tol: float, stats: CorpusStats,
               params: Bm25Params) -> tuple[list[int], list[int], float]:
    """MaxScore's step 2: (non-essential row indexes by bound ascending, essential row indexes,
    sum of the non-essential bounds). Non-essential: the longest prefix, by upper bound, whose
    bounds sum below theta — a chunk found only in those rows cannot reach theta."""
    bounded = sorted(((upper_bound(pl, stats, params), i) for i, pl in enumerate(lists)))
    rest, n_non = 0.0, 0
    for ub, _ in bounded:
        if rest + ub < theta - tol:
            rest += ub
            n_non += 1
        else:
            break
    return [i for _, i in bounded[:n_non]], [i for _, i in bounded[n_non:]], rest


def tolerance(lists: list[PostingList], params: Bm25Params) -> float:
    """Margin for every MaxScore comparison: far above float rounding of any sum of these rows."""
    return 1e-9 * max(1.0, sum(abs(pl.weight) for pl in lists) * (params.k1 + 1.0))


def kth_largest(values: np.ndarray, k: int) -> float:
    """The k-th largest of `values` (k <= len(values))."""
    return float(np.partition(values, len(values) - k)[len(values) - k])


def prune_candidates(cand: np.ndarray, partial: np.ndarray, k: int, theta: float, tol: float, left: float,
                     positive: bool) -> tuple[np.ndarray, float]:
    """Between two non-essential rows: raise theta to the k-th best partial score (valid only when
    every weight is positive, so partial scores can only grow) and keep the candidates that can
    still reach it with the bounds `left`. Returns (candidates, theta). (`kernel`'s `prune` is
    the same step compiled, in place.)"""
    if positive and len(cand) >= k:
        theta = max(theta, kth_largest(partial, k) - tol)
    return cand[partial >= theta - tol - left], theta


def within_reach(cand: np.ndarray, approx: np.ndarray, k: int, tol: float, kth=kth_largest) -> np.ndarray:
    """The candidates whose approximate full score is within rounding distance of the k-th best:
    the only ones worth scoring exactly."""
    if len(cand) <= k:
        return cand
    return cand[approx >= float(kth(approx, k)) - 2 * tol]


def maxscore_top_k(lists: list[PostingList], k: int, norms: np.ndarray, live: np.ndarray, acc: np.ndarray,
                   flag: np.ndarray, slot: np.ndarray, stats: CorpusStats, params: Bm25Params,
                   *, narrow: int | None = None) -> list[tuple[int, float]] | None:
    """Exact top-k with MaxScore pruning; None when pruning cannot help (use `taat_top_k`).

    1. Seed: fully score every live chunk of the shortest term(s) (>= 2k postings) — or, when
       that list is long (> `narrow` x k), only its chunks that also hold the next rarest term:
       the k-th best of these real scores is a threshold theta the k-th answer cannot fall below.
       Dead chunks never seed it.
    2. Rows by upper bound ascending: the longest prefix whose bounds sum below theta is
       non-essential (a chunk found only there cannot reach theta). Only essential rows are
       scattered into `acc`; chunks whose partial score plus the non-essential bounds cannot reach
       theta are dropped; the survivors are probed in the non-essential rows.
    3. The chunks within rounding distance of the k-th best are re-scored in the reference order
       and ranked by `top_k`. Every comparison keeps a margin `tol` far above float rounding.
    `acc` (float64) and `flag` (bool) are dense per-chunk scratch arrays, zero on entry and exit;
    `slot` (int32, per chunk) is scratch with no invariant. Candidate arrays need not be sorted:
    binary search looks them up in the (sorted) posting lists.
    """
    if k <= 0 or len(lists) < 2 or not prunable(params):
        return None
    tol = tolerance(lists, params)
    # 1. seed
    seed = seed_chunks(lists, k, live, flag, narrow)
    if seed is None:
        return None
    flag[seed] = True
    try:
        for pl in lists:
            _add(acc, pl, *_probe(pl, seed, flag), norms, params)
        seed_scores = acc[seed]
        acc[seed] = 0.0
    finally:
        flag[seed] = False
    theta = kth_largest(seed_scores, k)
    # 2. essential / non-essential rows
    non_idx, ess_idx, rest = split_rows(lists, theta, tol, stats, params)
    if not non_idx:
        return None
    non = [lists[i] for i in non_idx]
    essential = [lists[i] for i in ess_idx]
    touched = (essential[0].ids if len(essential) == 1 else np.concatenate([pl.ids for pl in essential])).astype(np.intp)
    try:
        for pl in essential:
            _add(acc, pl, pl.ids, pl.tfs, norms, params)
        cand = touched[acc[touched] >= theta - tol - rest]
        cand = cand[live[cand]]
        if len(essential) > 1:
            cand = _distinct(cand, slot)
        # probe the non-essential rows, largest bound first; between rows, drop candidates that
        # cannot reach theta with the rows left, and (all weights positive: partial scores only
        # grow) raise theta to the k-th best partial score, so later long rows are probed for
        # few candidates (binary search) instead of gathered whole
        positive = all(pl.weight > 0 for pl in lists)
        left = rest
        for pl in reversed(non):
            if len(cand) <= k:
                break
            cand, theta = prune_candidates(cand, acc[cand], k, theta, tol, left, positive)
            flag[cand] = True
            try:
                _add(acc, pl, *_probe(pl, cand, flag), norms, params)
            finally:
                flag[cand] = False
            left -= upper_bound(pl, stats, params)
        cand = within_reach(cand, acc[cand], k, tol)
    finally:
        acc[touched] = 0.0
    # 3. exact scores, summed in the reference order, for the few chunks that can be in the top k
    if not len(cand):
        return []
    exact = np.zeros(len(cand))
    for pl in lists:
        ids = pl.ids
        pos = np.searchsorted(ids, cand)
        np.minimum(pos, len(ids) - 1, out=pos)
        hit = ids[pos] == cand
        if hit.any():
            exact[hit] += term_weights(pl.tfs[pos[hit]], norms[cand[hit]], pl.weight, params)
    return top_k(cand.astype(np.int64), exact, k)
