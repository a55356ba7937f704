"""Incremental updates at scale: add, change and remove one document in a big index, with a reader
answering throughout, then compare the ranking with a full rebuild of the same corpus.

    .venv/bin/python tests/bench/bench_incremental.py --size 1M            # index built here if missing
    .venv/bin/python tests/bench/bench_incremental.py --size 100k --check  # + full rebuild, rankings compared

The corpus is the synthetic JSONL of `synth.py` (tests/bench/work/corpus/synth-<size>/corpus.jsonl)
plus a folder `extra/` with one small text file, which is what a team's wiki page looks like next
to a large export. Each step is one `build_index` call on [corpus.jsonl, extra/] (the JSONL file is
unchanged, so it is skipped by its signature) timed end to end, including the commit. A reader
thread keeps querying the same index file during every step; its slowest query is reported (WAL:
readers never wait for the writer). With --check, a fresh index of the final corpus is built and
the top-10 of 200 queries must be identical (ids and scores) to the incrementally updated one.
Not collected by pytest.
"""
from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import sys
import multiprocessing
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from index.build import build_index  # noqa: E402
from index.search import Searcher  # noqa: E402

PAGE = ("Runbook: when the nightly export stalls, restart the ingest worker, then re-run the export for the "
        "failed window. The on-call engineer confirms the row counts in the dashboard before closing the page.\n")
CHANGED = ("Runbook: when the nightly export stalls, drain the queue first, then restart the ingest worker and "
           "re-run the export. The on-call engineer confirms row counts and posts the incident summary.\n")


def _read_loop(db: Path, queries: list[str], stop, marks, results) -> None:
    searcher = Searcher.open(db)
    latencies: list[tuple[float, float]] = []  # (time.time() at the start, ms)
    i = 0
    marks.put("ready")
    while not stop.is_set():
        t0, t = time.time(), time.perf_counter()
        searcher.search(queries[i % len(queries)], 10)
        latencies.append((t0, (time.perf_counter() - t) * 1000))
        i += 1
    results.put(latencies)
    searcher.close()


class Reader:
    """Another process (as the bot would be) querying the index in a loop, timing each query (ms)."""

    def __init__(self, db: Path, queries: list[str]) -> None:
        # spawn, not fork: a child forked from a process with SQLite files open inherits SQLite's
        # per-process lock bookkeeping for them and must not use SQLite (sqlite.org/howtocorrupt.html)
        ctx = multiprocessing.get_context("spawn")
        self.stop = ctx.Event()
        self.marks = ctx.Queue()
        self.results = ctx.Queue()
        self.proc = ctx.Process(target=_read_loop, args=(db, queries, self.stop, self.marks, self.results),
                                daemon=True)


    def start(self) -> None:
        self.proc.start()
        self.marks.get(timeout=120)

    def finish(self) -> list[tuple[float, float]]:
        self.stop.set()
        got = self.results.get(timeout=60)
        self.proc.join(10)
        return got


def step(name: str, db: Path, corpus: list[Path], queries: list[str], probe: str) -> dict:
    reader = Reader(db, queries)
    reader.start()
    time.sleep(0.5)
    began = time.time()
    t = time.perf_counter()
    report = build_index(corpus, db)
    seconds = time.perf_counter() - t
    ended = time.time()
    time.sleep(0.3)
    during = [ms for t0, ms in reader.finish() if began <= t0 <= ended]
    probe_searcher = Searcher.open(db)
    hits = probe_searcher.search(probe, 3)
    probe_searcher.close()
    return {"step": name, "seconds": seconds, "merged": report.merged, "indexed": report.documents_indexed,
            "removed": report.documents_removed, "unchanged": report.documents_unchanged,
            "reader_queries_during": len(during), "reader_max_ms": max(during, default=0.0),
            "reader_p50_ms": statistics.median(during) if during else 0.0,
            "probe_top": hits[0].doc_id if hits else None, "chunks_total": report.chunks_total}


def machine() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()} x {multiprocessing.cpu_count()} cores"
    except OSError:
        pass
    return platform.machine()


def top10(db: Path, queries: list[str]) -> list[list[tuple[str, int, float]]]:
    s = Searcher.open(db)
    try:
        return [[(h.doc_id, h.start, round(h.score, 9)) for h in s.search(q, 10)] for q in queries]
    finally:
        s.close()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="1M")
    ap.add_argument("--work", type=Path, default=HERE / "work" / "incremental")
    ap.add_argument("--check", action="store_true", help="also build the final corpus from scratch and compare")
    ap.add_argument("--cycles", type=int, default=0,
                    help="then this many more one-page builds (adds and removals), through segment merges")
    args = ap.parse_args()
    src = HERE / "work" / "corpus" / f"synth-{args.size}"
    corpus_jsonl = src / "corpus.jsonl"
    if not corpus_jsonl.exists():
        print(f"no {corpus_jsonl}: run tests/bench/synth.py --sizes {args.size} first", file=sys.stderr)
        return 2
    queries = [json.loads(line)["text"] for line in (src / "queries.jsonl").read_text().splitlines()][:200]
    work = args.work / args.size
    extra = work / "extra"
    shutil.rmtree(extra, ignore_errors=True)
    extra.mkdir(parents=True)
    db = work / "index.db"
    corpus = [corpus_jsonl, extra]
    t = time.perf_counter()
    base = build_index(corpus, db)  # a no-op when the index of the unchanged corpus is already there
    print(f"base index: {base.chunks_total:,} chunks ({time.perf_counter() - t:.1f} s to build or check)")
    (extra / "runbook.txt").write_text(PAGE)
    rows = [step("add one document", db, corpus, queries, "nightly export stalls ingest worker")]
    (extra / "runbook.txt").write_text(CHANGED)
    rows.append(step("change it", db, corpus, queries, "drain the queue incident summary"))
    if args.check:
        fresh = work / "fresh.db"
        for p in work.glob("fresh.db*"):
            p.unlink()
        t = time.perf_counter()
        build_index(corpus, fresh)
        rebuild = time.perf_counter() - t
        same = top10(db, queries + ["drain the queue incident summary"]) == \
            top10(fresh, queries + ["drain the queue incident summary"])
        print(f"full rebuild of the same corpus: {rebuild:.1f} s; top-10 of {len(queries) + 1} queries identical "
              f"(ids and scores): {same}")
    (extra / "runbook.txt").unlink()
    rows.append(step("remove it", db, corpus, queries, "drain the queue incident summary"))
    more = []
    for i in range(args.cycles):
        page = extra / f"page{i % 3}.txt"
        if page.exists():
            page.unlink()
        else:
            page.write_text(PAGE.replace("nightly", f"hourly {i}"))
        t = time.perf_counter()
        r = build_index(corpus, db)
        more.append((time.perf_counter() - t, r.merged))
    print(f"\nMachine: {machine()}, Python {platform.python_version()}; "
          f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; synth-{args.size}\n")
    print("| step | build s | indexed / removed / unchanged docs | reader queries during | reader p50 ms | "
          "reader max ms | top hit for the page's words |")
    print("|---|---:|---|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r['step']} | {r['seconds']:.3f} | {r['indexed']} / {r['removed']} / {r['unchanged']:,} | "
              f"{r['reader_queries_during']} | {r['reader_p50_ms']:.2f} | {r['reader_max_ms']:.1f} | {r['probe_top']} |")
    if more:
        secs = sorted(x for x, _ in more)
        print(f"\n{len(more)} more one-page builds: p50 {statistics.median(secs):.3f} s, max {secs[-1]:.3f} s; "
              f"{sum(m for _, m in more)} of them merged segments (max with a merge "
              f"{max((x for x, m in more if m), default=0):.3f} s)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
