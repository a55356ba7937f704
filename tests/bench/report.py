"""Render work/results.json as RESULTS.md: the tables, the target ratios, cuts and versions.

Kept apart from run_bench.py so the report can be re-rendered (``run_bench.py --report-only``)
or changed without re-measuring anything.
"""
from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np

import peers

MiB = 2 ** 20
DATASETS = ["scifact", "synth-10k", "synth-100k", "synth-1M"]
TARGET_RSS = 1.5 * 2 ** 30


def _med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def _f(x, digits=None) -> str:
    """Numbers for humans: 3 significant-ish digits, thousands separators."""
    if x is None:
        return "—"
    if isinstance(x, str):
        return x
    if digits is not None:
        return f"{x:,.{digits}f}"
    ax = abs(x)
    if ax >= 100:
        return f"{x:,.0f}"
    if ax >= 10:
        return f"{x:.1f}"
    if ax >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def _row(cells) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _table(head: list[str], rows: list[list], right_from: int = 2) -> list[str]:
    align = ["---" if i < right_from else "---:" for i in range(len(head))]
    return [_row(head), _row(align), *(_row(r) for r in rows), ""]


def _label(e: str) -> str:
    return peers.ENGINES[e].label if e in peers.ENGINES else e


class View:
    """Summaries of one results.json (medians over repeats/passes)."""

    def __init__(self, data: dict):
        self.data = data
        self.runs = data.get("runs", {})
        self.datasets = [d for d in DATASETS if any(k.startswith(d + "|") for k in self.runs)]
        self.engines = [e for e in peers.ENGINES if any(k.split("|")[1] == e for k in self.runs)]

    def get(self, ds, e, phase):
        r = self.runs.get(f"{ds}|{e}|{phase}")
        return r if r and r.get("ok") else None

    def build(self, ds, e):
        owner = getattr(peers.ENGINES.get(e), "shares_index_with", e)
        r = self.get(ds, owner, "build")
        if not r:
            return None
        ok = [x for x in r["reps"] if x.get("ok")]
        if not ok:
            return None
        return {
            "wall": _med([x["wall_s"] for x in ok]), "n": len(ok), "cpu": _med([x["cpu_s"] for x in ok]),
            "ready": _med([x.get("to_queryable_s") for x in ok]),
            # with worker processes (Verbatim's build pool), their summed memory if it was larger
            "peak": _med([max(x["peak_rss"], x.get("tree_peak") or 0) for x in ok]),
            "engine_peak": _med([x["peak_rss"] - x["rss_corpus"] for x in ok]),
            "disk": ok[-1]["disk_bytes"], "chunks": ok[-1].get("chunks"),
        }

    def query(self, ds, e):
        r = self.get(ds, e, "query")
        if not r:
            return None
        ps = r["passes"]
        lat = lambda q: _med([float(np.percentile(p["lat_ms"], q)) for p in ps])  # noqa: E731
        return {"p50": lat(50), "p95": lat(95), "p99": lat(99),
                "mean": _med([float(np.mean(p["lat_ms"])) for p in ps]),
                "qps": _med([len(p["lat_ms"]) / p["wall_s"] for p in ps]),
                "n": r["n"], "total": r["total"], "passes": len(ps), "rss_load": r["rss_load"],
                "peak": r["peak_rss"], "src": r.get("source_in_top10"), "load": r["load_s"]}

    def cold(self, ds, e):
        r = self.get(ds, e, "cold")
        if not r or not r.get("warm"):
            return None
        w, ev = r["warm"], r.get("evicted", [])
        return {"import": _med([x["import_s"] for x in w]), "load": _med([x["load_s"] for x in w]),
                "first": _med([x["first_ms"] for x in w]), "warm": _med([x["load_first_s"] for x in w]),
                "nw": len(w), "evicted": _med([x["load_first_s"] for x in ev]), "ne": len(ev),
                "rss": _med([x["rss"] for x in w]), "wall": _med([x["process_wall_s"] for x in w])}


def _ratio(a, b, fmt="{:.2f}×"):
    if a is None or b is None or b == 0:
        return "—"
    return fmt.format(a / b)


def targets(v: View) -> list[str]:
    out = ["## Targets (issue 5): Verbatim against the peers, ratios within this run", ""]
    rows = []
    for ds in [d for d in v.datasets if d.startswith("synth-")]:
        q = {e: v.query(ds, e) for e in ("verbatim", "bm25s_numba", "rank_bm25")}
        b = {e: v.build(ds, e) for e in ("verbatim", "bm25s", "bm25s_numba")}
        c = v.cold(ds, "verbatim")
        vq, nq, rq = q["verbatim"], q["bm25s_numba"], q["rank_bm25"]
        vb, sb = b["verbatim"], b["bm25s"] or b["bm25s_numba"]
        rows.append([
            ds,
            f"{_f(vq and vq['p50'])} / {_f(nq and nq['p50'])} = {_ratio(vq and vq['p50'], nq and nq['p50'])}",
            _ratio(rq and rq["p50"], vq and vq["p50"], "{:,.0f}×"),
            _f(c and c["warm"]),
            f"{_f(vb and vb['wall'])} / {_f(sb and sb['wall'])} = {_ratio(vb and vb['wall'], sb and sb['wall'])} "
            f"(CPU {_ratio(vb and vb['cpu'], sb and sb['cpu'])})",
            _f(vq and vq["peak"] / MiB),
            f"{_f(vb and vb['disk'] / MiB)} / {_f(sb and sb['disk'] / MiB)} = "
            f"{_ratio(vb and vb['disk'], sb and sb['disk'])}",
        ])
    out += _table(["dataset", "p50 ms: Verbatim / bm25s+numba (≤ 1×)", "rank-bm25 p50 ÷ Verbatim p50 (≥ 500×)",
                   "cold start s (≤ 1)", "build wall s: Verbatim / bm25s (≤ 1×)", "serving peak RSS MiB (≤ 1,536)",
                   "disk MiB: Verbatim / bm25s (≤ 1×)"], rows, right_from=1)
    seeds = v.runs.get("seeds|verbatim|bot")
    if seeds and seeds.get("ok"):
        cold = _med(seeds["cold_s"])
        qps = seeds["jsonl_n"] / _med(seeds["jsonl_wall_s"])
        out += [f"Seeds (`python -m bot ask --json`, index already built): cold process {_f(cold)} s "
                f"(target < 0.5 s, n={len(seeds['cold_s'])}); `--jsonl` {_f(qps)} questions/s for "
                f"{seeds['jsonl_n']} questions, whole process including start-up (target ≥ 500).", ""]
    out += ["Targets apply at synth-1M; smaller sizes show the trend. Verbatim's build time includes reading "
            "and chunking the JSONL file (the peers get the texts already in memory), so the build ratio is "
            "conservative for Verbatim. *serving peak RSS* is the whole query process (interpreter, "
            "libraries, index) at its high-water mark. On a busy shared machine wall time includes waiting for a core; "
            "the CPU-seconds ratio is the steadier build comparison.", ""]
    return out


def build_table(v: View) -> list[str]:
    rows = []
    for ds in v.datasets:
        for e in v.engines:
            if getattr(peers.ENGINES.get(e), "shares_index_with", None):
                continue
            b = v.build(ds, e)
            if b:
                rows.append([ds, _label(e), _f(b["wall"]), b["n"], _f(b["cpu"]), _f(b["ready"]),
                             _f(b["peak"] / MiB, 0), _f(b["engine_peak"] / MiB, 0), _f(b["disk"] / MiB, 1)])
    out = ["## Index build (fresh process; peers from texts in memory, Verbatim from the JSONL file)", "",
           *_table(["dataset", "engine", "build wall s", "n", "CPU s", "to-queryable s", "peak RSS MiB",
                    "peak − corpus MiB", "index on disk MiB"], rows)]
    comp = []
    for ds in v.datasets:
        r = v.get(ds, "verbatim", "build")
        tb = r and next((x.get("table_bytes") for x in reversed(r["reps"]) if x.get("table_bytes")), None)
        if tb:
            text = tb.get("documents", 0) + tb.get("chunks", 0)
            post = tb.get("postings", 0)
            comp.append([ds, _f(text / MiB, 1), _f(post / MiB, 1), _f((sum(tb.values()) - text - post) / MiB, 1)])
    if comp:
        out += ["Where Verbatim's index bytes go (SQLite `dbstat`): the peers store no text, Verbatim keeps "
                "the documents (and today each chunk's text again) to quote from.", "",
                *_table(["dataset", "documents + chunks tables MiB", "postings MiB", "everything else MiB"], comp)]
    return out


def query_table(v: View) -> list[str]:
    rows = []
    for ds in v.datasets:
        for e in v.engines:
            q = v.query(ds, e)
            if q:
                rows.append([ds, _label(e), _f(q["p50"], 3), _f(q["p95"], 3), _f(q["p99"], 3), _f(q["mean"], 3),
                             _f(q["qps"]), f"{q['n']}/{q['total']} ×{q['passes']}", _f(q["rss_load"] / MiB, 0),
                             _f(q["peak"] / MiB, 0), _f(q["src"], 3) if q["src"] is not None else "—"])
    return ["## Query latency: top-10, warm, one query at a time (ms)", "",
            *_table(["dataset", "engine", "p50", "p95", "p99", "mean", "QPS", "queries timed",
                     "RSS after load MiB", "serving peak RSS MiB", "source paragraph in top-10"], rows)]


def cold_table(v: View) -> list[str]:
    rows = []
    for ds in v.datasets:
        for e in v.engines:
            c = v.cold(ds, e)
            if c:
                rows.append([ds, _label(e), _f(c["import"]), _f(c["load"]), _f(c["first"]), _f(c["warm"]),
                             c["nw"], _f(c["evicted"]), c["ne"], _f(c["rss"] / MiB, 0)])
    return ["## Cold start: fresh process, open the index, answer the first query", "",
            "`load+first` is the cold-start figure; `import` (the engine's Python modules) comes before it and "
            "is not included. *evicted*: `posix_fadvise(DONTNEED)` on the index files first.", "",
            *_table(["dataset", "engine", "import s", "load s", "first query ms", "load+first s (page cache warm)",
                     "n", "load+first s (evicted)", "n", "RSS MiB"], rows)]


def quality_table(v: View) -> list[str]:
    rows = []
    for e in v.engines:
        r = v.get("scifact", e, "quality")
        if r:
            rows.append([_label(e), _f(r["ndcg10"], 4), _f(r["recall100"], 4)])
    if not rows:
        return []
    return ["## SciFact quality (BEIR test split, 300 queries; pytrec_eval)", "",
            "Each engine with its own defaults (rank-bm25/bm25s: k1 1.5, b 0.75 with our analyzer; tantivy and "
            "FTS5: k1 1.2, b 0.75 with their stemmers; Verbatim: the parameters stored in its index). Verbatim "
            "ranks chunks: a document's rank is that of its best chunk.", "",
            *_table(["engine", "nDCG@10", "Recall@100"], rows, right_from=1)]


def postings_table(v: View) -> list[str]:
    post = v.data.get("postings", {})
    if not post:
        return []
    rows = []
    for ds in v.datasets:
        p = post.get(ds)
        if p:
            rows.append([ds, f"{p['stop_nnz']:,}", _f(float(np.mean(p["stop"])), 0),
                         _f(float(np.percentile(p["stop"], 95)), 0), f"{p['nostop_nnz']:,}",
                         _f(float(np.mean(p["nostop"])), 0), _f(float(np.percentile(p["nostop"], 95)), 0)])
    out = ["## Postings touched per query", "",
           "Sum over a query's distinct analysed terms of their document frequency: what an exhaustive "
           "term-at-a-time scorer must read. Exact, from the generator. *stop* = our analyzer "
           "(Verbatim, rank-bm25, bm25s, fts5_stop); *no stop list* = the same stems without stop-word removal "
           "(approximates tantivy's en_stem and FTS5's porter).", "",
           *_table(["dataset", "index postings (stop)", "mean/query (stop)", "p95", "index postings (no stop list)",
                    "mean/query (no stop list)", "p95"], rows)]
    rows = []
    for ds in v.datasets:
        p = post.get(ds)
        if not p:
            continue
        for e in v.engines:
            q = v.query(ds, e)
            if q:
                an = peers.ENGINES[e].analysis
                mean_post = float(np.mean(p[an][:q["n"]]))
                rows.append([ds, _label(e), _f(q["mean"], 3), _f(mean_post, 0), an,
                             _f(mean_post / q["mean"] / 1e3)])
    out += _table(["dataset", "engine", "mean latency ms", "postings/query", "analysis", "effective M postings/s"],
                  rows)
    return out


def growth_table(v: View) -> list[str]:
    sizes = [d for d in ("synth-10k", "synth-100k", "synth-1M") if d in v.datasets]
    if len(sizes) < 2:
        return []
    rows = []
    post = v.data.get("postings", {})
    for e in v.engines:
        p50 = [v.query(d, e) and v.query(d, e)["p50"] for d in sizes]
        if not any(p50):
            continue
        grow = [_ratio(p50[i + 1], p50[i]) for i in range(len(sizes) - 1)]
        rows.append([_label(e), *(_f(x, 3) for x in p50), *grow])
    mp = [post.get(d) and float(np.mean(post[d]["stop"])) for d in sizes]
    rows.append(["(postings/query, stop)", *(_f(x, 0) for x in mp),
                 *(_ratio(mp[i + 1], mp[i]) for i in range(len(sizes) - 1))])
    head = ["engine", *(f"p50 ms {d}" for d in sizes), *(f"×{sizes[i + 1][6:]}/{sizes[i][6:]}"
                                                         for i in range(len(sizes) - 1))]
    return ["## How query cost grows with the corpus", "", *_table(head, rows, right_from=1)]


def write(data: dict, out: Path) -> None:
    v = View(data)
    meta = data.get("meta", {})
    lines = ["# Benchmark results: Verbatim vs BM25 peers", "",
             f"Generated by `tests/bench/run_bench.py` (see [README.md](README.md)); last measurement "
             f"{data.get('updated', '?')} UTC.", "",
             f"Machine: {meta.get('machine', '?')}. The machine is shared and noisy: compare engines only "
             "within one run; every timing is the median over repeats (*n*) or passes.", ""]
    for part in (targets, query_table, build_table, cold_table, quality_table, postings_table, growth_table):
        lines += part(v)
    cuts = data.get("cuts", {})
    fails = [f"{k}: {r.get('error')}" for k, r in data.get("runs", {}).items() if not r.get("ok", True)]
    lines += ["## Skips, cuts and failures", ""]
    lines += [f"- {c}" for c in cuts.values()] + [f"- FAILED {f}" for f in fails] or ["- none"]
    lines += ["", "## Versions", ""]
    lines += _table(["package", "version"], [[k, val] for k, val in meta.get("versions", {}).items()], right_from=2)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
