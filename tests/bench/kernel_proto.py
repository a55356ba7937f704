"""Prototype query kernels over a Verbatim index, timed against `Searcher.rank` on the same queries.

    .venv/bin/python tests/bench/kernel_proto.py --db tests/bench/work/index/synth-100k/verbatim/index.db \
        --queries tests/bench/work/corpus/synth-100k/queries.jsonl [-n 500]

Not part of the product: evidence for what the query kernel in index/ should do. It loads the
index's postings into memory arrays (the real kernel should memory-map them instead) and compares:

  current    Searcher.rank as shipped (SQL per term, float64 weights, np.unique over touched ids)
  taat       same arithmetic on in-memory postings, no np.unique (duplicate-tolerant top-k)
  maxscore   exact top-k with MaxScore-style pruning: terms by upper bound (idf * max tf-part), full
             scatter while a doc outside the accumulator could still reach the k-th best score, then
             only the surviving candidates are looked up (searchsorted) in the remaining long lists

All three must return the same (chunk id, score) lists; the script checks it on every query.
"""
from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
SRC = os.environ.get("VERBATIM_BENCH_SRC") or str(REPO)  # a run_bench --snapshot export, if given
if SRC not in sys.path:
    sys.path.insert(0, SRC)

from index.ranking import idf as bm25_idf  # noqa: E402
from index.ranking import length_norm, top_k  # noqa: E402


class Postings:
    """All postings of an index in memory: per term id, sorted chunk ids and float64 tf-parts."""

    def __init__(self, searcher, db: Path):
        self.s = searcher
        conn = sqlite3.connect(db)
        p = searcher.params
        norms = length_norm(searcher.lengths, searcher.stats, p)
        live = searcher.live
        self.ids: dict[int, np.ndarray] = {}
        self.part: dict[int, np.ndarray] = {}
        self.maxpart: dict[int, float] = {}
        chunks: dict[int, list] = {}
        for tid, cb, tb in conn.execute("SELECT term, chunks, tfs FROM postings ORDER BY term, segment"):
            chunks.setdefault(tid, []).append((np.frombuffer(cb, np.uint32), np.frombuffer(tb, np.uint16)))
        for tid, parts in chunks.items():
            ids = np.concatenate([a for a, _ in parts]).astype(np.int64)
            tfs = np.concatenate([b for _, b in parts]).astype(np.float64)
            order = np.argsort(ids, kind="stable")
            ids, tfs = ids[order], tfs[order]
            part = tfs * (p.k1 + 1.0) / (tfs + norms[ids])
            part[~live[ids]] = 0.0       # dead chunks can never score, so never raise the threshold
            self.ids[tid], self.part[tid] = ids, part
            self.maxpart[tid] = float(part.max()) if len(part) else 0.0
        conn.close()
        self.acc = np.zeros(len(searcher.lengths), dtype=np.float64)

    def _weights(self, terms: list[str]):
        known = self.s.term_stats(terms)
        counts: dict[str, int] = {}
        for t in terms:
            if t in known:
                counts[t] = counts.get(t, 0) + 1
        out = []
        for t, rep in counts.items():
            tid, df = known[t]
            out.append((tid, bm25_idf(self.s.stats, self.s.params, df) * rep))
        return out

    def taat(self, terms: list[str], k: int) -> list[tuple[int, float]]:
        acc, touched = self.acc, []
        ws = self._weights(terms)
        for tid, w in ws:
            ids = self.ids[tid]
            acc[ids] += w * self.part[tid]
            touched.append(ids)
        if not touched:
            return []
        return self._finish(np.concatenate(touched), len(ws), k, touched)

    def _finish(self, cand: np.ndarray, n_terms: int, k: int, touched, unique=False):
        acc = self.acc
        scores = acc[cand]
        if not unique and len(cand) > k * n_terms:
            # a chunk appears at most n_terms times, always with the same (final) score
            idx = np.argpartition(-scores, k * n_terms - 1)[:k * n_terms]
            kth = scores[idx].min()
            idx = np.nonzero(scores >= kth)[0]
            cand, scores = cand[idx], scores[idx]
        if not unique:
            cand, first = np.unique(cand, return_index=True)
            scores = scores[first]
        keep = scores > 0
        res = top_k(cand[keep], scores[keep], k)
        for t in touched:
            acc[t] = 0.0
        return res

    def maxscore(self, terms: list[str], k: int) -> list[tuple[int, float]]:
        acc = self.acc
        ws = self._weights(terms)
        if not ws:
            return []
        ub = [(w * self.maxpart[tid], tid, w) for tid, w in ws]
        ub.sort(reverse=True)
        rem = sum(u for u, _, _ in ub)
        theta, touched, i = 0.0, [], 0
        eps = 1e-9
        while i < len(ub) and rem >= theta - eps:
            u, tid, w = ub[i]
            ids = self.ids[tid]
            acc[ids] += w * self.part[tid]
            touched.append(ids)
            rem -= u
            i += 1
            if len(ids) >= k and i < len(ub):
                theta = max(theta, float(np.partition(acc[ids], len(ids) - k)[len(ids) - k]))
        if i == len(ub):
            return self._finish(np.concatenate(touched), len(ub), k, touched)
        # candidate mode: no chunk outside the accumulator can reach theta any more
        cand = np.concatenate(touched)
        cand = cand[acc[cand] + rem >= theta - eps]
        cand = np.unique(cand)
        for u, tid, w in ub[i:]:
            ids = self.ids[tid]
            pos = np.searchsorted(ids, cand)
            pos[pos == len(ids)] = 0
            hit = ids[pos] == cand
            acc[cand[hit]] += w * self.part[tid][pos[hit]]
            rem -= u
            s = acc[cand]
            if len(cand) > k:
                theta = max(theta, float(np.partition(s, len(s) - k)[len(s) - k]))
            cand = cand[s + rem >= theta - eps]
        return self._finish(cand, len(ub), k, touched, unique=True)


def maxscore2(P: "Postings", terms: list[str], k: int) -> list[tuple[int, float]]:
    """MaxScore with a strong threshold from the start.

    1. Fully score every chunk of the shortest list (probe the other lists with searchsorted):
       real final scores, so the k-th best is a safe threshold theta, usually close to the answer.
    2. Terms by upper bound ascending: the longest prefix whose bounds sum below theta is
       non-essential (a chunk found only there cannot reach theta); scan the essential lists
       into the accumulator.
    3. Keep candidates whose partial score + non-essential bounds can reach theta; probe the
       non-essential lists for them only.
    """
    acc, eps = P.acc, 1e-9
    ws = P._weights(terms)
    if not ws:
        return []
    info = [(w * P.maxpart[tid], tid, w) for tid, w in ws]
    theta = 0.0
    short = min(info, key=lambda x: len(P.ids[x[1]]))
    cand = P.ids[short[1]]
    if len(cand) >= k and len(info) > 1:
        sc = short[2] * P.part[short[1]]
        for u, tid, w in info:
            if tid == short[1]:
                continue
            ids = P.ids[tid]
            pos = np.searchsorted(ids, cand)
            pos[pos == len(ids)] = 0
            hit = ids[pos] == cand
            sc = sc.copy()
            sc[hit] += w * P.part[tid][pos[hit]]
        theta = float(np.partition(sc, len(sc) - k)[len(sc) - k])
    info.sort()
    cum, n_non = 0.0, 0
    for u, _, _ in info:
        if cum + u < theta - eps:
            cum += u
            n_non += 1
        else:
            break
    touched = []
    for u, tid, w in info[n_non:]:
        ids = P.ids[tid]
        acc[ids] += w * P.part[tid]
        touched.append(ids)
    if n_non == 0:
        return P._finish(np.concatenate(touched), len(info), k, touched)
    cand = np.concatenate(touched)
    cand = np.unique(cand[acc[cand] + cum >= theta - eps])
    for u, tid, w in info[:n_non]:
        ids = P.ids[tid]
        pos = np.searchsorted(ids, cand)
        pos[pos == len(ids)] = 0
        hit = ids[pos] == cand
        acc[cand[hit]] += w * P.part[tid][pos[hit]]
    return P._finish(cand, len(info), k, touched, unique=True)


def maxscore3(P: "Postings", terms: list[str], k: int) -> list[tuple[int, float]]:
    """maxscore2 with long lists probed by a dense candidate flag instead of binary search.

    Probing a long list L for C candidates by searchsorted costs C*log(L) random reads; gathering
    a byte flag at every id of L costs ~1 ns a posting, streaming, and needs no sort. Scatter-add
    (~20 ns a posting in numpy) is then paid only for the essential lists and the few hits.
    """
    acc, eps = P.acc, 1e-9
    if not hasattr(P, "flag"):
        P.flag = np.zeros(len(acc), dtype=bool)
    flag = P.flag
    ws = P._weights(terms)
    if not ws:
        return []
    info = [(w * P.maxpart[tid], tid, w) for tid, w in ws]
    theta = 0.0
    short = min(info, key=lambda x: len(P.ids[x[1]]))
    seed = P.ids[short[1]]
    if len(seed) >= k and len(info) > 1:
        acc[seed] = short[2] * P.part[short[1]]
        flag[seed] = True
        for u, tid, w in info:
            if tid != short[1]:
                ids = P.ids[tid]
                m = flag[ids]
                acc[ids[m]] += w * P.part[tid][m]
        sc = acc[seed]
        theta = float(np.partition(sc, len(sc) - k)[len(sc) - k])
        acc[seed] = 0.0
        flag[seed] = False
    info.sort()
    cum, n_non = 0.0, 0
    for u, _, _ in info:
        if cum + u < theta - eps:
            cum += u
            n_non += 1
        else:
            break
    touched = []
    for u, tid, w in info[n_non:]:
        ids = P.ids[tid]
        acc[ids] += w * P.part[tid]
        touched.append(ids)
    if n_non == 0:
        return P._finish(np.concatenate(touched), len(info), k, touched)
    cand = np.concatenate(touched)
    cand = cand[acc[cand] + cum >= theta - eps]
    flag[cand] = True
    for u, tid, w in info[:n_non]:
        ids = P.ids[tid]
        m = flag[ids]
        acc[ids[m]] += w * P.part[tid][m]
    flag[cand] = False
    return P._finish(np.unique(cand), len(info), k, touched, unique=True)


def rank_maxscore(searcher, terms: list[str], k: int, state: dict) -> list[tuple[int, float]]:
    """Drop-in shape for `Searcher.rank` on today's storage: exact MaxScore with no stored bounds.

    Works on `searcher._postings(terms)` (one (ids, tfs, idf x repeats) per term and segment) and
    computes weights on the fly, so nothing about the index changes. Upper bound of a list: idf x
    (k1 + 1), the limit of tf(k1+1)/(tf+norm); valid for any avgdl, so incremental updates cannot
    make it stale. Threshold theta: real scores of the live chunks of the shortest list.
    """
    from index.ranking import term_weights
    p = searcher.params
    lists = searcher._postings(terms)
    if not lists or k <= 0:
        return []
    n = len(searcher.lengths)
    if state.get("n") != n:
        state.update(n=n, acc=np.zeros(n), flag=np.zeros(n, dtype=bool))
    acc, flag, norms, live = state["acc"], state["flag"], searcher.norms, searcher.live

    def add_where_flagged(ids, tfs, w):
        m = flag[ids]
        hit = ids[m]
        acc[hit] += term_weights(tfs[m], norms[hit], w, p)

    bounds = [w * (p.k1 + 1.0) for _, _, w in lists]
    theta = 0.0
    if len(lists) > 1:
        s_i = min(range(len(lists)), key=lambda i: len(lists[i][0]))
        seed = lists[s_i][0]
        seed = seed[live[seed]]
        if len(seed) >= k:
            flag[seed] = True
            for ids, tfs, w in lists:
                add_where_flagged(ids, tfs, w)
            sc = acc[seed]
            theta = float(np.partition(sc, len(sc) - k)[len(sc) - k])
            acc[seed] = 0.0
            flag[seed] = False
    order = sorted(range(len(lists)), key=lambda i: bounds[i])
    cum, n_non = 0.0, 0
    for i in order:
        if cum + bounds[i] < theta * (1 - 1e-12):
            cum += bounds[i]
            n_non += 1
        else:
            break
    essential = [lists[i] for i in order[n_non:]]
    for ids, tfs, w in essential:
        acc[ids] += term_weights(tfs, norms[ids], w, p)
    cand = essential[0][0] if len(essential) == 1 else np.concatenate([ids for ids, _, _ in essential])
    try:
        if n_non:
            keep = cand[acc[cand] + cum >= theta * (1 - 1e-12)]
            flag[keep] = True
            for i in order[:n_non]:
                add_where_flagged(*lists[i])
            flag[keep] = False
            uniq = np.unique(keep)
            uniq = uniq[live[uniq]]
            return top_k(uniq.astype(np.int64), acc[uniq], k)
        uniq = np.unique(cand)
        uniq = uniq[live[uniq]]
        return top_k(uniq.astype(np.int64), acc[uniq], k)
    finally:
        acc[cand] = 0.0
        if n_non:
            for i in order[:n_non]:
                acc[lists[i][0]] = 0.0


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--queries", type=Path, required=True)
    ap.add_argument("-n", type=int, default=500)
    ap.add_argument("-k", type=int, default=10)
    args = ap.parse_args(argv)
    from index.search import Searcher
    s = Searcher.open(args.db)
    t0 = time.perf_counter()
    P = Postings(s, args.db)
    print(f"loaded postings in {time.perf_counter() - t0:.2f} s")
    qs = [json.loads(line)["text"] for line in args.queries.read_text().splitlines() if line.strip()][:args.n]
    terms = [s.analyze_query(q).terms for q in qs]
    kernels = {"current": lambda t: s.rank(t, args.k), "taat": lambda t: P.taat(t, args.k),
               "maxscore": lambda t: P.maxscore(t, args.k), "maxscore2": lambda t: maxscore2(P, t, args.k),
               "maxscore3": lambda t: maxscore3(P, t, args.k)}
    if hasattr(s, "_postings"):
        st: dict = {}
        kernels["rank_maxscore"] = lambda t: rank_maxscore(s, t, args.k, st)
    for t in terms[:30]:
        for f in kernels.values():
            f(t)
    times = {name: [] for name in kernels}
    mismatches = 0
    for t in terms:
        res = {}
        for name, f in kernels.items():
            a = time.perf_counter()
            res[name] = f(t)
            times[name].append((time.perf_counter() - a) * 1e3)
        ref = res["current"]
        for name in [x for x in kernels if x != "current"]:
            got = res[name]
            if [c for c, _ in got] != [c for c, _ in ref] or any(abs(x - y) > 1e-9 for (_, x), (_, y) in zip(got, ref)):
                mismatches += 1
                if mismatches <= 3:
                    print("MISMATCH", name, t, got[:3], ref[:3])
    print(f"{len(terms)} queries, k={args.k}, mismatches {mismatches}")
    for name, xs in times.items():
        print(f"  {name:<10} p50 {statistics.median(xs):8.3f} ms  mean {statistics.mean(xs):8.3f} ms  "
              f"p95 {np.percentile(xs, 95):8.3f} ms")


if __name__ == "__main__":
    main()
