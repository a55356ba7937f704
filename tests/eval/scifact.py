"""BEIR SciFact retrieval evaluation of the index, driven through its command line.

Why through the CLI: the number we publish must describe what a user gets from `python -m index build`
and `python -m index search`, including ingestion of the BEIR `corpus.jsonl` as is, chunking of long
abstracts and the stored BM25 parameters, not a private code path.

Why these rules (they make the figure comparable with the published BM25 baselines):
- queries use the claim `text` only (SciFact's `metadata` holds gold evidence and must not leak);
- the index returns chunks; a document's score is its best chunk's score (MaxP), top 100 documents;
- metrics come from an established library, pytrec_eval (trec_eval's code): nDCG@10 and Recall@100,
  averaged over every query of the split, a query with no hits counting 0 (trec_eval `-c`);
- every parameter is chosen on the train qrels (`--grid`); the test split is scored once (`--report`).

Usage (from the repository root; add `--at HEAD` to measure the committed index/, not the working tree):
    .venv/bin/python tests/eval/scifact.py --grid     # train (809 claims): max-chars x k1 x b, ~10 min
    .venv/bin/python tests/eval/scifact.py --report   # the train-chosen setting on test (300), once
    .venv/bin/python tests/eval/scifact.py --split train --k1 0.9 --b 0.4 --option=--max-chars --option=1500
Results: tests/eval/work/scifact-grid.json (every train point, the chosen one) and
tests/eval/work/scifact.json (the test figure). Companion studies: tokenizer_study.py (tokenizer,
chunking, BM25 variant with rank-bm25 outside the CLI), query_study.py (search-time query analysis).
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import itertools
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytrec_eval

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data" / "scifact"
WORK = Path(__file__).resolve().parent / "work"

# Published checksum of the decompressed BEIR corpus (shared/data/README.md): we feed the index the
# genuine file byte for byte, so any difference from peers is ours, not the data's.
CORPUS_SHA256 = "dec31c8182f3d744c7d2c09423756fd1d17cbef75808db13ba01cc0aab4d1ac6"
MEASURES = ("ndcg_cut_10", "recall_100")
TOP_DOCS = 100
# Chunks requested per query. A long abstract can fill several of the top chunk slots, so asking for
# exactly 100 chunks would leave fewer than 100 distinct documents and understate Recall@100.
DEFAULT_DEPTH = 300

GRID_K1 = (0.6, 0.9, 1.2, 1.5)
GRID_B = (0.3, 0.4, 0.6, 0.75)
# Analysis options (each a full build): chunk length and title handling, picked after the rank-bm25
# study in tokenizer_study.py showed both move nDCG@10 by more than k1/b do.
GRID_MAX_CHARS = (900, 1500, 2500)
GRID_TITLE_TERMS = ("on",)
GRID_FILE = WORK / "scifact-grid.json"
REPORT_FILE = WORK / "scifact.json"


# ---------------------------------------------------------------- data

def corpus_jsonl() -> Path:
    """The BEIR corpus decompressed unchanged into the work dir (checked against its checksum)."""
    (WORK / "scifact").mkdir(parents=True, exist_ok=True)
    out = WORK / "scifact" / "corpus.jsonl"
    if out.exists() and _sha256(out) == CORPUS_SHA256:
        return out
    tmp = out.with_suffix(".tmp")
    with gzip.open(DATA / "corpus.jsonl.gz", "rb") as src, tmp.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    if _sha256(tmp) != CORPUS_SHA256:
        raise SystemExit(f"{tmp}: checksum differs from the BEIR corpus; is {DATA} intact?")
    tmp.replace(out)
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_corpus() -> dict[str, dict]:
    """doc id -> {"title", "text"} (for studies that score outside the CLI)."""
    with gzip.open(DATA / "corpus.jsonl.gz", "rt", encoding="utf-8") as f:
        return {d["_id"]: {"title": d["title"], "text": d["text"]} for d in map(json.loads, f)}


def load_queries() -> dict[str, str]:
    """query id -> claim text. Only `text`: `metadata` is gold evidence."""
    with gzip.open(DATA / "queries.jsonl.gz", "rt", encoding="utf-8") as f:
        return {q["_id"]: q["text"] for q in map(json.loads, f)}


def load_qrels(split: str) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with (DATA / "qrels" / f"{split}.tsv").open(encoding="utf-8") as f:
        next(f)  # header
        for line in f:
            qid, did, score = line.rstrip("\n").split("\t")
            qrels.setdefault(qid, {})[did] = int(score)
    return qrels


# ---------------------------------------------------------------- metrics

def evaluate(run: Mapping[str, Mapping[str, float]], qrels: Mapping[str, Mapping[str, int]]) -> dict:
    """Mean nDCG@10 and Recall@100 over ALL qrels queries (a query missing from the run counts 0).

    pytrec_eval only scores queries present in the run, so we average over the qrels ourselves: that
    is trec_eval's `-c` convention used by the published baselines.
    """
    run = {q: dict(run.get(q) or {}) for q in qrels}
    scored = {q: r for q, r in run.items() if r}
    evaluator = pytrec_eval.RelevanceEvaluator(dict(qrels), {"ndcg_cut.10", "recall.100"})
    per_query = evaluator.evaluate(scored) if scored else {}
    means = {m: sum(per_query.get(q, {}).get(m, 0.0) for q in qrels) / len(qrels) for m in MEASURES}
    means["queries"] = len(qrels)
    means["queries_without_hits"] = len(qrels) - len(scored)
    return means


def top_docs(chunk_hits: Iterable[tuple[str, float]], k: int = TOP_DOCS) -> dict[str, float]:
    """Chunk hits -> documents scored by their best chunk (MaxP), the k best kept."""
    best: dict[str, float] = {}
    for doc_id, score in chunk_hits:
        if score > best.get(doc_id, float("-inf")):
            best[doc_id] = score
    return dict(sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))[:k])


# ---------------------------------------------------------------- the CLI

# Where `python -m index` is imported from: the working tree, or a `git archive` snapshot of one
# commit (--at REV) so a figure can be measured while others are editing index/.
SRC = REPO
SRC_REV: str | None = None


def use_commit(rev: str) -> None:
    """Export index/ at `rev` into the work dir and run the CLI from there."""
    global SRC, SRC_REV
    # name the snapshot by the last commit that touched index/, so later unrelated commits reuse it
    sha = subprocess.run(["git", "log", "-1", "--format=%h", rev, "--", "index"], cwd=REPO,
                         capture_output=True, text=True, check=True).stdout.strip()
    dest = WORK / "scifact" / f"src-{sha}"
    if not (dest / "index" / "__main__.py").exists():
        dest.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", sha, "index"], cwd=REPO, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    SRC, SRC_REV = dest, sha


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def _cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "index", *args], cwd=SRC, input=stdin, env=_env(),
                          capture_output=True, text=True, encoding="utf-8")
    if proc.returncode != 0:
        raise SystemExit(f"python -m index {' '.join(args[:3])} ... failed ({proc.returncode}):\n"
                         f"{proc.stderr[-3000:]}")
    return proc


def db_path(options: tuple[str, ...] = ()) -> Path:
    """One db per analysis setting: k1/b are re-set on it by an incremental `index build`."""
    tag = "".join(o.strip("-").replace("=", "") for o in options)
    return WORK / "scifact" / f"index{'-' + tag if tag else ''}.db"


def cli_build(db: Path, corpus: Path, k1: float, b: float, options: tuple[str, ...] = ()) -> float:
    """`python -m index build --db DB --k1 K1 --b B [options] CORPUS`; returns wall seconds."""
    t0 = time.perf_counter()
    _cli("build", "--db", str(db), "--k1", f"{k1:g}", "--b", f"{b:g}", "-q", *options, str(corpus))
    return time.perf_counter() - t0


def build(k1: float, b: float, options: tuple[str, ...] = (), fresh: bool = True) -> tuple[Path, float]:
    """Build the SciFact index in the work dir (fresh, or incrementally re-set k1/b on the same db)."""
    corpus = corpus_jsonl()
    db = db_path(options)
    if fresh:
        for p in db.parent.glob(db.name + "*"):  # the db and any -wal/-shm leftovers
            p.unlink()
    return db, cli_build(db, corpus, k1, b, options)


def search(db: Path, queries: Mapping[str, str], depth: int = DEFAULT_DEPTH,
           workdir: Path | None = None) -> tuple[dict, float]:
    """All queries in one `python -m index search --jsonl` process; returns (run, wall seconds).

    Output is read line by line (each hit carries its chunk text, so a full train run is ~100 MB).
    """
    workdir = workdir or WORK / "scifact"
    ids = list(queries)
    texts = [" ".join(queries[q].split()) for q in ids]  # one query per line, whatever its whitespace
    workdir.mkdir(parents=True, exist_ok=True)
    qfile = workdir / "queries.txt"
    qfile.write_text("\n".join(texts) + "\n", encoding="utf-8")
    run: dict[str, dict[str, float]] = {}
    t0 = time.perf_counter()
    errfile = workdir / "search.stderr"
    with qfile.open("rb") as stdin, errfile.open("wb") as stderr, subprocess.Popen(
            [sys.executable, "-m", "index", "search", "--db", str(db), "-k", str(depth), "--jsonl"],
            cwd=SRC, env=_env(), stdin=stdin, stdout=subprocess.PIPE, stderr=stderr,
            text=True, encoding="utf-8") as proc:
        lines = (line for line in proc.stdout if line.strip())
        for qid, text, line in zip(ids, texts, lines):
            out = json.loads(line)
            if out.get("query") != text:
                raise SystemExit(f"search --jsonl answered out of order: {out.get('query')!r} != {text!r}")
            run[qid] = top_docs((h["doc_id"], float(h["score"])) for h in out["hits"])
        rest = proc.stdout.read()
    err = errfile.read_text(encoding="utf-8", errors="replace")
    seconds = time.perf_counter() - t0
    if proc.returncode != 0 or len(run) != len(ids):
        raise SystemExit(f"search --jsonl answered {len(run)} of {len(ids)} queries "
                         f"(exit {proc.returncode}):\n{(rest + err)[-3000:]}")
    return run, seconds


def code_version() -> str:
    """The commit the figures describe, marked "+dirty" when index/ has uncommitted edits."""
    if SRC_REV:
        return SRC_REV
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "index"], cwd=REPO,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def evaluate_setting(split: str, k1: float, b: float, options: tuple[str, ...] = (),
                     depth: int = DEFAULT_DEPTH, fresh: bool = True) -> dict:
    """Build (fresh, or incrementally re-parameterise an existing db) and score one setting."""
    qrels = load_qrels(split)
    queries = load_queries()
    db, build_s = build(k1, b, options, fresh=fresh)
    stats = json.loads(_cli("stats", "--db", str(db), "--json").stdout)
    if (stats.get("k1"), stats.get("b")) != (k1, b):  # the figure must describe the setting it names
        raise SystemExit(f"index reports k1={stats.get('k1')} b={stats.get('b')}, asked for {k1:g}/{b:g}")
    run, search_s = search(db, {q: queries[q] for q in qrels}, depth)
    result = evaluate(run, qrels)
    result.update(code=code_version(), split=split, k1=k1, b=b, options=list(options), depth=depth, fresh_build=fresh,
                  build_seconds=round(build_s, 2), search_seconds=round(search_s, 2),
                  queries_under_100_docs=sum(len(r) < TOP_DOCS for r in run.values()),
                  index={k: stats.get(k) for k in ("variant", "epsilon", "tokenizer_version", "analysis",
                                                   "documents", "chunks", "vocabulary")})
    return result


def analysis_options(max_chars: list[int], title_terms: list[str]) -> list[tuple[str, ...]]:
    """Chunking/analysis options to tune, limited to what `python -m index build --help` exposes.

    These change the indexed terms, so each needs a full build; k1/b do not (the index stores term
    frequencies), so the k1 x b grid re-runs `index build` incrementally on the same db.
    """
    help_text = _cli("build", "--help").stdout
    chars = [str(c) for c in max_chars] if "--max-chars" in help_text else [""]
    titles = title_terms if "--title-terms" in help_text else [""]
    out = []
    for c, t in itertools.product(chars, titles):
        opts: tuple[str, ...] = ("--max-chars", c) if c else ()
        if t:
            opts += ("--title-terms",) if t == "on" else ("--no-title-terms",)
        out.append(opts)
    return out


def grid(depth: int, max_chars: list[int], title_terms: list[str]) -> dict:
    """Every analysis option x k1 x b on the TRAIN qrels; the best nDCG@10 is the chosen setting."""
    results = []
    for options in analysis_options(max_chars, title_terms):
        db_path(options).unlink(missing_ok=True)
        for i, (k1, b) in enumerate(itertools.product(GRID_K1, GRID_B)):
            r = evaluate_setting("train", k1, b, options, depth, fresh=(i == 0))
            results.append(r)
            print(_row(r), flush=True)
        for p in db_path(options).parent.glob(db_path(options).name + "*"):
            p.unlink()
    best = max(results, key=lambda r: (r["ndcg_cut_10"], r["recall_100"]))
    out = {"chosen_on": "train", "best": best, "results": results}
    GRID_FILE.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(f"best on train: k1={best['k1']:g} b={best['b']:g} {' '.join(best['options'])} "
          f"nDCG@10={best['ndcg_cut_10']:.4f} R@100={best['recall_100']:.4f} -> {GRID_FILE}")
    return best


def _row(r: dict) -> str:
    opts = " ".join(r["options"]) or "-"
    return (f"| {r['split']} | {r['k1']:g} | {r['b']:g} | {opts} | {r['ndcg_cut_10']:.4f} | "
            f"{r['recall_100']:.4f} | {r['build_seconds']:.1f} | {r['search_seconds']:.1f} |")


HEADER = ("| split | k1 | b | options | nDCG@10 | R@100 | build s | search s |\n"
          "| --- | --- | --- | --- | --- | --- | --- | --- |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", choices=("train", "test"), default="train")
    ap.add_argument("--k1", type=float)
    ap.add_argument("--b", type=float)
    ap.add_argument("--option", action="append", default=[],
                    help="extra argument passed to `index build` (repeatable), e.g. --option=--variant ...")
    ap.add_argument("--depth", type=int, default=DEFAULT_DEPTH, help="chunks requested per query")
    ap.add_argument("--grid-max-chars", default=",".join(map(str, GRID_MAX_CHARS)),
                    help="comma-separated --max-chars values the grid tries")
    ap.add_argument("--grid-title-terms", default=",".join(GRID_TITLE_TERMS),
                    help="comma-separated on/off values of --title-terms the grid tries")
    ap.add_argument("--at", metavar="REV", help="measure index/ as committed at REV (a git archive "
                    "snapshot), not the working tree")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--grid", action="store_true", help="tune on the train qrels")
    mode.add_argument("--report", action="store_true", help="score the train-chosen setting on test, once")
    args = ap.parse_args(argv)
    if (args.k1 is None) != (args.b is None):
        ap.error("give both --k1 and --b, or neither")

    if args.at:
        use_commit(args.at)
    grid_args = ([int(c) for c in args.grid_max_chars.split(",") if c],
                 [t for t in args.grid_title_terms.split(",") if t])
    if args.grid:
        print(HEADER)
        grid(args.depth, *grid_args)
        return 0
    if args.report:
        if args.k1 is not None:
            k1, b, options = args.k1, args.b, tuple(args.option)
        else:
            if not GRID_FILE.exists():
                print("no train grid yet: running --grid first", file=sys.stderr)
                print(HEADER)
                grid(args.depth, *grid_args)
            best = json.loads(GRID_FILE.read_text(encoding="utf-8"))["best"]
            k1, b, options = best["k1"], best["b"], tuple(best["options"])
        r = evaluate_setting("test", k1, b, options, args.depth)
        REPORT_FILE.write_text(json.dumps(r) + "\n", encoding="utf-8")
        print(HEADER)
        print(_row(r))
        print(json.dumps(r))
        return 0
    if args.k1 is None:
        ap.error("give --k1 and --b (or --grid / --report)")
    r = evaluate_setting(args.split, args.k1, args.b, tuple(args.option), args.depth)
    print(HEADER)
    print(_row(r))
    print(json.dumps(r))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
