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
DEFAULT_K1 = 1.2
DEFAULT_B = 0.75
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
