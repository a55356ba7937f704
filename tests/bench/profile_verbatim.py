"""Where Verbatim's query time goes: stage timings and a cProfile of `Searcher.search`.

    .venv/bin/python tests/bench/profile_verbatim.py --db tests/bench/work/index/synth-100k/verbatim/index.db \
        --queries tests/bench/work/corpus/synth-100k/queries.jsonl [-n 300] [--top 25]

Stages use the Searcher's own methods (analyze_query -> rank -> hits), so the split follows the
code as it is; the profile shows which calls inside them cost. Each stage is timed over the same
queries after a warm-up pass, one query at a time; medians and means in ms.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SRC = os.environ.get("VERBATIM_BENCH_SRC") or str(REPO)  # a run_bench --snapshot export, if given
if SRC not in sys.path:
    sys.path.insert(0, SRC)


def stage_times(searcher, queries: list[str], k: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"analyze_query": [], "rank": [], "hits": [], "search (total)": []}
    for q in queries:
        t0 = time.perf_counter()
        a = searcher.analyze_query(q)
        t1 = time.perf_counter()
        ranked = searcher.rank(a.terms, k)
        t2 = time.perf_counter()
        searcher.hits(ranked)
        t3 = time.perf_counter()
        searcher.search(q, k)
        t4 = time.perf_counter()
        for name, dt in zip(out, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            out[name].append(dt * 1e3)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--queries", type=Path, required=True)
    ap.add_argument("-n", type=int, default=300)
    ap.add_argument("-k", type=int, default=10)
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args(argv)

    from index.search import Searcher
    qs = [json.loads(line)["text"] for line in args.queries.read_text().splitlines() if line.strip()][:args.n]
    t0 = time.perf_counter()
    s = Searcher.open(args.db)
    print(f"open: {(time.perf_counter() - t0) * 1e3:.1f} ms; {len(qs)} queries, k={args.k}")
    for q in qs[:50]:
        s.search(q, args.k)
    st = stage_times(s, qs, args.k)
    print(f"{'stage':<18}{'p50 ms':>10}{'mean ms':>10}{'share of mean':>15}")
    total = statistics.mean(st["search (total)"])
    for name, xs in st.items():
        print(f"{name:<18}{statistics.median(xs):>10.3f}{statistics.mean(xs):>10.3f}"
              f"{statistics.mean(xs) / total:>14.0%}")
    prof = cProfile.Profile()
    prof.enable()
    for q in qs:
        s.search(q, args.k)
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(args.top)
    print(buf.getvalue())


if __name__ == "__main__":
    main()
