"""Query-kernel check on one built index: latency of `Searcher.rank(terms, 10)` and exact equality
with the exhaustive reference `top_k(*score_terms(terms), 10)` on every query of a corpus.

    .venv/bin/python tests/bench/kernel_check.py --db PATH/index.db \\
        --queries tests/bench/work/corpus/synth-100k/queries.jsonl [-k 10] [--repeats 3] [--build-log FILE]

Prints p50/p95/p99/mean of rank() (best of --repeats passes per query, after a warm-up pass), the
number of queries whose result differs from the reference in any chunk id, score bit or order
(must be 0), cold start (imports + open + first rank in this process), peak RSS of this process
while serving (before the exhaustive check), and the index's size on disk with
a per-table breakdown (SQLite's dbstat) when available. Not collected by pytest.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def disk_breakdown(db: Path) -> dict[str, float]:
    """MiB per table/index (dbstat), or {} when this SQLite lacks the dbstat virtual table."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").fetchall()
    except sqlite3.OperationalError:
        return {}
    finally:
        conn.close()
    return {name: round(size / 2**20, 2) for name, size in rows}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--queries", type=Path, required=True)
    ap.add_argument("-k", type=int, default=10)
    ap.add_argument("-n", type=int, default=0, help="first N queries only (0: all)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-check", action="store_true", help="skip the exhaustive equality check")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    from index.ranking import top_k
    from index.search import Searcher

    s = Searcher.open(args.db)
    texts = [json.loads(line)["text"] for line in args.queries.read_text().splitlines() if line.strip()]
    if args.n:
        texts = texts[:args.n]
    first = s.analyze_query(texts[0]).terms
    s.rank(first, args.k)
    cold = time.perf_counter() - t0
    terms = [s.analyze_query(q).terms for q in texts]
    for t in terms:  # warm-up: page cache and SQLite cache
        s.rank(t, args.k)
    times = []
    for t in terms:
        best = float("inf")
        for _ in range(args.repeats):
            a = time.perf_counter()
            s.rank(t, args.k)
            best = min(best, time.perf_counter() - a)
        times.append(best * 1e3)
    serving_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before the exhaustive check
    mismatches = 0
    if not args.no_check:
        for t in terms:
            ids, scores = s.score_terms(t)
            if s.rank(t, args.k) != top_k(ids, scores, args.k):
                mismatches += 1
                if mismatches <= 3:
                    print("MISMATCH", t, file=sys.stderr)
    size = os.path.getsize(args.db) / 2**20
    out = {
        "db": str(args.db), "queries": len(terms), "k": args.k, "chunks": s.stats.n_chunks,
        "p50_ms": round(statistics.median(times), 3), "p95_ms": round(float(np.percentile(times, 95)), 3),
        "p99_ms": round(float(np.percentile(times, 99)), 3), "mean_ms": round(statistics.mean(times), 3),
        "mismatches": None if args.no_check else mismatches, "cold_start_s": round(cold, 3),
        "disk_mib": round(size, 2), "peak_rss_serving_mib": round(serving_rss, 1),
        "tables_mib": disk_breakdown(args.db),
    }
    print(json.dumps(out, indent=1))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
