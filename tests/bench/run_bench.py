"""Run every engine on the same corpora and queries and write tests/bench/RESULTS.md.

    .venv/bin/python tests/bench/run_bench.py --sizes 10k,100k --engines all --repeats 3

Every measurement runs in a fresh child process (this same script with --child), one at a time,
so peak RSS (``ru_maxrss`` from ``os.wait4``) belongs to one build or one serving session and cold
start is a real new process. Results accumulate in ``work/results.json`` (a later run with other
sizes or engines adds to it; ``--resume`` skips what is already there), and RESULTS.md is rendered
from that file, so 10k/100k and a later 1M run end up in one table. See README.md for what each
figure means.
"""
from __future__ import annotations

import argparse
import gzip
import importlib
import json
import os
import platform
import resource
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
WORK = HERE / "work"
SCIFACT = REPO.parent / "shared" / "data" / "scifact"
RESULTS_MD = HERE / "RESULTS.md"
for p in (str(REPO), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)
if os.environ.get("VERBATIM_BENCH_SRC"):
    sys.path.insert(0, os.environ["VERBATIM_BENCH_SRC"])

import peers  # noqa: E402  (stdlib-only at import; engines import their libraries lazily)

ENGINE_ORDER = list(peers.ENGINES)
THREAD_ENV = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                               "NUMBA_NUM_THREADS", "RAYON_NUM_THREADS")}
CHILD_TIMEOUT = 3 * 3600


# ----------------------------------------------------------------------------------------------
# datasets

def dataset_paths(name: str, work: Path) -> dict:
    """corpus.jsonl, queries.jsonl (+ qrels for scifact) of a dataset, generated on first use."""
    if name == "scifact":
        out = work / "corpus" / "scifact"
        out.mkdir(parents=True, exist_ok=True)
        corpus, queries = out / "corpus.jsonl", out / "queries.jsonl"
        if not corpus.exists():
            with gzip.open(SCIFACT / "corpus.jsonl.gz", "rb") as src, corpus.open("wb") as dst:
                shutil.copyfileobj(src, dst)
        if not queries.exists():
            test = {line.split("\t")[0] for line in (SCIFACT / "qrels" / "test.tsv").read_text().splitlines()[1:]}
            with gzip.open(SCIFACT / "queries.jsonl.gz", "rt", encoding="utf-8") as fh, queries.open("w") as dst:
                for line in fh:
                    q = json.loads(line)
                    if q["_id"] in test:
                        dst.write(json.dumps({"_id": q["_id"], "text": q["text"]}) + "\n")
        return {"corpus": corpus, "queries": queries, "qrels": SCIFACT / "qrels" / "test.tsv"}
    import synth
    d = synth.generate(synth.parse_size(name.removeprefix("synth-")), work)
    return {"corpus": d / "corpus.jsonl", "queries": d / "queries.jsonl", "df": d / "df.json"}


def read_corpus(path: Path) -> tuple[list[str], list[str]]:
    """(ids, texts) of a BEIR-style JSONL; text = title + ' ' + text, as every engine indexes it."""
    ids, texts = [], []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            ids.append(str(d["_id"]))
            title = d.get("title") or ""
            texts.append(f"{title} {d.get('text') or ''}" if title else (d.get("text") or ""))
    return ids, texts


def read_ids(path: Path) -> list[str]:
    ids = []
    prefix = '{"_id": "'
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.startswith(prefix):
                ids.append(line[len(prefix):line.index('"', len(prefix))])
            else:
                ids.append(str(json.loads(line)["_id"]))
    return ids


def read_queries(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def dir_bytes(d: Path) -> int:
    return sum(f.stat().st_size for f in d.rglob("*") if f.is_file())


def rss_now() -> int:
    """Resident set size of this process now, in bytes (serving footprint)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # no /proc (macOS): psutil knows
        import psutil
        return psutil.Process().memory_info().rss


def maxrss() -> int:
    """Peak RSS of this process so far (VmHWM of its own address space), in bytes.

    Not ``ru_maxrss``: Linux carries the parent's high-water mark across fork+exec into the
    child's ``ru_maxrss``, so a child of a big parent would report the parent's size.
    """
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# ----------------------------------------------------------------------------------------------
# child side: one measurement per process

class _TreeMemory(threading.Thread):
    """Peak memory of this process plus its worker processes, sampled every 0.25 s as the sum of
    their proportional set sizes (PSS: pages shared after fork counted once, not per process)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.peak = 0

    @staticmethod
    def _pss(pid: int) -> int:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def run(self) -> None:
        me = os.getpid()
        while not self.stop.wait(0.25):
            try:
                kids = Path(f"/proc/{me}/task/{me}/children").read_text().split()
            except OSError:
                kids = []
            self.peak = max(self.peak, self._pss(me) + sum(self._pss(int(k)) for k in kids))


def _cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def child(spec: dict) -> dict:
    phase, eng = spec["phase"], peers.ENGINES[spec["engine"]]()
    index_dir = Path(spec["index_dir"])
    if phase == "build":
        texts = ids = []
        if eng.needs_texts:
            ids, texts = read_corpus(Path(spec["corpus"]))
        rss_corpus = maxrss()
        for m in eng.modules:
            importlib.import_module(m)
        # CPU of this process and of any worker processes it ran (reaped children: Verbatim's
        # build pool), so an engine that builds in parallel is not credited with less CPU
        c0, t0 = _cpu(), time.perf_counter()
        tree = _TreeMemory()
        tree.start()
        try:
            info = eng.build(texts, ids, Path(spec["corpus"]), index_dir)
        finally:
            tree.stop.set()
            tree.join()
        wall = time.perf_counter() - t0
        return {"wall_s": wall, "cpu_s": _cpu() - c0, "tree_peak": tree.peak,
                "rss_corpus": rss_corpus, "disk_bytes": dir_bytes(index_dir), **info}
    if phase == "cold":
        t0 = time.perf_counter()
        for m in eng.modules:
            importlib.import_module(m)
        t1 = time.perf_counter()
        eng.load(index_dir)
        t2 = time.perf_counter()
        eng.search(spec["query"], 10)
        t3 = time.perf_counter()
        return {"import_s": t1 - t0, "load_s": t2 - t1, "first_ms": (t3 - t2) * 1e3,
                "load_first_s": t3 - t1, "rss": rss_now()}
    queries = [q["text"] for q in read_queries(Path(spec["queries"]))]
    t0 = time.perf_counter()
    eng.load(index_dir)
    load_s = time.perf_counter() - t0
    rss_load = rss_now()
    if phase == "quality":
        run = []
        for q in queries:
            if eng.key == "verbatim":  # several chunks may come from one document: keep the best
                docs = list(dict.fromkeys(eng.search(q, 300)))[:100]
            else:
                docs = eng.search(q, 100)
            run.append(docs)
        return {"load_s": load_s, "rss_load": rss_load, "hits": run}
    # phase == "query": warm up on the last queries (numba compiles here), then timed passes
    warm: list[float] = []
    w0 = time.perf_counter()
    for q in queries[-20:]:
        s = time.perf_counter()
        eng.search(q, 10)
        warm.append(time.perf_counter() - s)
        if time.perf_counter() - w0 > 10 and len(warm) >= 3:
            break
    if hasattr(eng, "warm_up"):  # engines that load compiled code in the background (Verbatim's kernel)
        eng.warm_up()
    est = statistics.median(warm[len(warm) // 2:] or warm)
    repeats, budget = spec["repeats"], spec["budget"]
    n = len(queries)
    if est * n * repeats > budget:
        n = min(n, max(50, int(budget / (est * repeats))))
    passes, hits = [], []
    for r in range(repeats):
        lat = []
        p0 = time.perf_counter()
        for q in queries[:n]:
            s = time.perf_counter_ns()
            res = eng.search(q, 10)
            lat.append((time.perf_counter_ns() - s) / 1e6)
            if r == 0:
                hits.append(res)
        passes.append({"lat_ms": lat, "wall_s": time.perf_counter() - p0})
    return {"load_s": load_s, "rss_load": rss_load, "n": n, "total": len(queries),
            "warm_est_ms": est * 1e3, "passes": passes, "hits": hits}


def child_main(spec_path: str, out_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    try:
        res = {"ok": True, **child(spec), "hwm": maxrss()}
    except Exception as exc:  # reported in results.json; the parent goes on with the next engine
        import traceback
        traceback.print_exc()
        res = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    Path(out_path).write_text(json.dumps(res, default=str))


# ----------------------------------------------------------------------------------------------
# parent side

def spawn(spec: dict, work: Path, log_name: str) -> dict:
    """Run one measurement in a fresh process; add its peak RSS and wall time."""
    tmp = work / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    spec_path, out_path = tmp / f"{os.getpid()}.spec.json", tmp / f"{os.getpid()}.out.json"
    spec_path.write_text(json.dumps(spec))
    out_path.unlink(missing_ok=True)
    logs = work / "logs"
    logs.mkdir(exist_ok=True)
    env = {**os.environ, **THREAD_ENV, "PYTHONHASHSEED": "0"}
    with (logs / f"{log_name}.log").open("a") as log:
        log.write(f"\n=== {datetime.now().isoformat(timespec='seconds')} {json.dumps(spec)}\n")
        log.flush()
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--child", str(spec_path),
                                 "--child-out", str(out_path)], stdout=log, stderr=log, env=env)
        timer = threading.Timer(spec.get("timeout", CHILD_TIMEOUT), lambda: os.kill(proc.pid, signal.SIGKILL))
        timer.start()
        _, status, ru = os.wait4(proc.pid, 0)
        timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
    if out_path.exists():
        res = json.loads(out_path.read_text())
    else:
        res = {"ok": False, "error": f"child exited with {proc.returncode} (see logs/{log_name}.log)"}
    res["peak_rss"] = res.get("hwm") or ru.ru_maxrss * 1024
    res["process_wall_s"] = wall
    return res


def evict(d: Path) -> None:
    """Drop this index's files from the OS page cache (only ours; no global cache drop)."""
    for f in d.rglob("*"):
        if f.is_file():
            fd = os.open(f, os.O_RDONLY)
            try:
                os.fsync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


class Bench:
    def __init__(self, args):
        self.args = args
        self.work: Path = args.work
        self.path = self.work / "results.json"
        self.data = json.loads(self.path.read_text()) if self.path.exists() else {}
        self.data.setdefault("runs", {})
        self.data.setdefault("cuts", {})

    def save(self) -> None:
        self.data["updated"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data))
        tmp.replace(self.path)

    def have(self, key: str) -> bool:
        return self.args.resume and key in self.data["runs"] and self.data["runs"][key].get("ok", True)

    def cut(self, key: str, text: str) -> None:
        print("  cut:", text, flush=True)
        self.data["cuts"][key] = text

    def index_dir(self, ds: str, eng: str) -> Path:
        owner = getattr(peers.ENGINES[eng], "shares_index_with", eng)
        return self.work / "index" / ds / owner

    # -- phases --------------------------------------------------------------------------------
    def build(self, ds: str, engines: list[str], paths: dict) -> None:
        todo = [e for e in engines if not getattr(peers.ENGINES[e], "shares_index_with", None)]
        todo = [e for e in todo if not self.have(f"{ds}|{e}|build")]
        for e in list(todo):
            pred = self.predicted_build(ds, e)
            if pred is not None and pred > self.args.combo_limit:
                self.cut(f"{ds}|{e}|build", f"{ds}/{e}: skipped, build predicted {pred:.0f} s > combo limit "
                                            f"{self.args.combo_limit:.0f} s")
                todo.remove(e)
        for e in todo:
            self.data["cuts"].pop(f"{ds}|{e}|build", None)
        reps: dict[str, list] = {e: [] for e in todo}
        failed: set[str] = set()
        for r in range(self.args.repeats):
            for e in todo:
                if e in failed:
                    continue
                done = [x["wall_s"] for x in reps[e] if x.get("ok")]
                if r and (not done or sum(done) + statistics.mean(done) > self.args.phase_budget):
                    if done:
                        self.cut(f"{ds}|{e}|build", f"{ds}/{e}: build timed {len(done)}x only "
                                                    f"(phase budget {self.args.phase_budget:.0f} s)")
                    continue
                d = self.index_dir(ds, e)
                shutil.rmtree(d, ignore_errors=True)
                d.mkdir(parents=True)
                print(f"  build {ds}/{e} rep {r + 1}", flush=True)
                res = spawn({"phase": "build", "engine": e, "corpus": str(paths["corpus"]),
                             "index_dir": str(d)}, self.work, f"{ds}.{e}.build")
                print(f"    {'ok' if res.get('ok') else res.get('error')}: {res.get('wall_s', 0):.2f} s, "
                      f"peak {res['peak_rss'] / 2**20:.0f} MiB, disk {res.get('disk_bytes', 0) / 2**20:.1f} MiB",
                      flush=True)
                reps[e].append(res)
                if not res.get("ok"):
                    failed.add(e)
        for e in todo:
            self.data["runs"][f"{ds}|{e}|build"] = {"ok": any(x.get("ok") for x in reps[e]), "reps": reps[e],
                                                     "error": next((x["error"] for x in reps[e] if not x.get("ok")), None)}
        self.save()

    def predicted_build(self, ds: str, e: str) -> float | None:
        if not ds.startswith("synth-"):
            return None
        import synth
        n = synth.parse_size(ds.removeprefix("synth-"))
        best = None
        for key, run in self.data["runs"].items():
            d, eng, ph = key.split("|")
            if eng == e and ph == "build" and d.startswith("synth-") and run.get("ok"):
                m = synth.parse_size(d.removeprefix("synth-"))
                if m < n and (best is None or m > best[0]):
                    best = (m, med([x["wall_s"] for x in run["reps"] if x.get("ok")]))
        return None if best is None else best[1] * n / best[0]

    def ready(self, ds: str, e: str) -> bool:
        owner = getattr(peers.ENGINES[e], "shares_index_with", e)
        b = self.data["runs"].get(f"{ds}|{owner}|build")
        return bool(b and b.get("ok")) and self.index_dir(ds, e).exists()

    def query(self, ds: str, engines: list[str], paths: dict) -> None:
        for e in engines:
            key = f"{ds}|{e}|query"
            if self.have(key) or not self.ready(ds, e):
                continue
            print(f"  query {ds}/{e}", flush=True)
            self.data["cuts"].pop(key, None)
            res = spawn({"phase": "query", "engine": e, "queries": str(paths["queries"]),
                         "index_dir": str(self.index_dir(ds, e)), "repeats": self.args.repeats,
                         "budget": self.args.query_budget}, self.work, f"{ds}.{e}.query")
            if res.get("ok"):
                if res["n"] < res["total"]:
                    self.cut(key, f"{ds}/{e}: latency timed on the first {res['n']} of {res['total']} queries "
                                  f"(query budget {self.args.query_budget:.0f} s for {self.args.repeats} passes)")
                p50 = med([pct(p["lat_ms"], 50) for p in res["passes"]])
                print(f"    p50 {p50:.3f} ms over {res['n']} queries, RSS after load "
                      f"{res['rss_load'] / 2**20:.0f} MiB", flush=True)
                if "df" in paths:
                    ids = self.ids(paths["corpus"])
                    src = [q.get("source") for q in read_queries(paths["queries"])][:res["n"]]
                    got = [[ids[h] if isinstance(h, int) else h for h in hits] for hits in res["hits"]]
                    res["source_in_top10"] = sum(s in g for s, g in zip(src, got)) / max(1, len(got))
                res.pop("hits", None)
            else:
                print("    failed:", res.get("error"), flush=True)
            self.data["runs"][key] = res
            self.save()

    def cold(self, ds: str, engines: list[str], paths: dict) -> None:
        first_q = read_queries(paths["queries"])[0]["text"]
        for e in engines:
            key = f"{ds}|{e}|cold"
            if self.have(key) or not self.ready(ds, e):
                continue
            self.data["cuts"].pop(key, None)
            out: dict = {"ok": True, "warm": [], "evicted": []}
            spent = 0.0
            for r in range(self.args.repeats):
                for mode in ("warm", "evicted"):
                    done = out["warm"] + out["evicted"]
                    if done and spent + spent / len(done) > self.args.cold_budget:
                        continue
                    if mode == "evicted":
                        evict(self.index_dir(ds, e))
                    res = spawn({"phase": "cold", "engine": e, "query": first_q,
                                 "index_dir": str(self.index_dir(ds, e))}, self.work, f"{ds}.{e}.cold")
                    spent += res["process_wall_s"]
                    if not res.get("ok"):
                        out = {"ok": False, "error": res.get("error")}
                        break
                    out[mode].append(res)
                if not out.get("ok"):
                    break
            if out.get("ok"):
                print(f"  cold {ds}/{e}: load+first {med([x['load_first_s'] for x in out['warm']]):.3f} s "
                      f"(n={len(out['warm'])}), evicted {med([x['load_first_s'] for x in out['evicted']]):.3f} s",
                      flush=True)
                if len(out["warm"]) < self.args.repeats:
                    self.cut(key, f"{ds}/{e}: cold start timed {len(out['warm'])}x page-cache-warm, "
                                  f"{len(out['evicted'])}x evicted (cold budget {self.args.cold_budget:.0f} s)")
            self.data["runs"][key] = out
            self.save()

    def quality(self, ds: str, engines: list[str], paths: dict) -> None:
        import pytrec_eval
        qrels: dict[str, dict[str, int]] = {}
        for line in paths["qrels"].read_text().splitlines()[1:]:
            qid, did, rel = line.split("\t")
            qrels.setdefault(qid, {})[did] = int(rel)
        qids = [q["_id"] for q in read_queries(paths["queries"])]
        ids = self.ids(paths["corpus"])
        for e in engines:
            key = f"{ds}|{e}|quality"
            if self.have(key) or not self.ready(ds, e):
                continue
            res = spawn({"phase": "quality", "engine": e, "queries": str(paths["queries"]),
                         "index_dir": str(self.index_dir(ds, e))}, self.work, f"{ds}.{e}.quality")
            if res.get("ok"):
                run = {}
                for qid, hits in zip(qids, res.pop("hits")):
                    docs = [ids[h] if isinstance(h, int) else h for h in hits]
                    run[qid] = {d: float(len(docs) - i) for i, d in enumerate(docs)}
                ev = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "recall.100"})
                per = ev.evaluate({q: r for q, r in run.items() if q in qrels})
                n = len(qrels)  # a query with no result counts 0
                res["ndcg10"] = sum(v["ndcg_cut_10"] for v in per.values()) / n
                res["recall100"] = sum(v["recall_100"] for v in per.values()) / n
                print(f"  quality {ds}/{e}: nDCG@10 {res['ndcg10']:.4f}  R@100 {res['recall100']:.4f}", flush=True)
            else:
                print(f"  quality {ds}/{e} failed:", res.get("error"), flush=True)
            self.data["runs"][key] = res
            self.save()

    def seeds(self) -> None:
        """The issue's seeds targets: `python -m bot ask` from a cold process, and `--jsonl` throughput."""
        key = "seeds|verbatim|bot"
        if self.have(key):
            return
        dev = REPO.parent / "shared" / "eval" / "seeds-dev.jsonl"
        questions = [json.loads(line)["question"] for line in dev.read_text().splitlines() if line.strip()]
        db = self.work / "index" / "seeds" / "verbatim" / "index.db"
        db.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **THREAD_ENV}
        src = os.environ.get("VERBATIM_BENCH_SRC")
        if src:
            env["PYTHONPATH"] = src
        base = [sys.executable, "-m", "bot", "ask", "--db", str(db), "--corpus", str(REPO / "seeds"), "--json"]

        def run(args, stdin=None):
            t0 = time.perf_counter()
            p = subprocess.run(args, input=stdin, capture_output=True, text=True, cwd=src or REPO, env=env,
                               timeout=600)
            return time.perf_counter() - t0, p

        out: dict = {"ok": True}
        first, p = run(base + [questions[0]])  # builds the index if missing or outdated
        out["first_run_s"] = first
        if p.returncode:
            self.data["runs"][key] = {"ok": False, "error": p.stderr.strip()[-500:]}
            self.save()
            return
        out["cold_s"] = [run(base + [q])[0] for q in questions[:max(3, self.args.repeats)]]
        n = 1000
        lines = "\n".join(questions[i % len(questions)] for i in range(n)) + "\n"
        walls = []
        for _ in range(max(1, min(3, self.args.repeats))):
            wall, p = run(base[:-1] + ["--jsonl"], stdin=lines)
            if p.returncode or len(p.stdout.splitlines()) != n:
                out = {"ok": False, "error": f"--jsonl gave {len(p.stdout.splitlines())} lines: {p.stderr[-300:]}"}
                break
            walls.append(wall)
        if out.get("ok"):
            out["jsonl_n"], out["jsonl_wall_s"] = n, walls
            print(f"  seeds: bot ask cold {med(out['cold_s']):.3f} s; --jsonl {n / med(walls):.0f} questions/s "
                  f"(whole process, {n} questions)", flush=True)
        self.data["runs"][key] = out
        self.save()

    _ids_cache: dict = {}

    def ids(self, corpus: Path) -> list[str]:
        if corpus not in self._ids_cache:
            self._ids_cache.clear()
            self._ids_cache[corpus] = read_ids(corpus)
        return self._ids_cache[corpus]

    def postings(self, ds: str, paths: dict) -> None:
        """Sum of df of each query's distinct analysed terms (exact df from the generator)."""
        from index.analyzer import analyze, stem, surface_words
        df = json.loads(paths["df"].read_text())
        out_version = df.get("tokenizer_version")
        qs = [q["text"] for q in read_queries(paths["queries"])]
        out = {}
        for key, fn in (("stop", lambda q: set(analyze(q))),
                        ("nostop", lambda q: {stem(w) for w in surface_words(q)})):
            out[key] = [sum(df[key].get(t, 0) for t in fn(q)) for q in qs]
            out[key + "_nnz"] = sum(df[key].values())
        out["tokenizer_version"] = out_version
        self.data.setdefault("postings", {})[ds] = out
        self.save()

    def meta(self) -> None:
        from importlib.metadata import PackageNotFoundError, version
        vers = {}
        for dist in ("rank-bm25", "bm25s", "numba", "llvmlite", "tantivy", "PyStemmer", "numpy", "scipy",
                     "pytrec-eval-terrier", "psutil", "sqlite-utils"):
            try:
                vers[dist] = version(dist)
            except PackageNotFoundError:
                vers[dist] = "-"
        vers["SQLite (sqlite3 module)"] = sqlite3.sqlite_version
        vers["Python"] = platform.python_version()
        try:
            rev = subprocess.run(["git", "-C", str(REPO), "log", "-1", "--format=%h %cI"], capture_output=True,
                                 text=True, timeout=5).stdout.strip()
        except OSError:
            rev = "?"
        vers["Verbatim (git HEAD)"] = rev
        if os.environ.get("VERBATIM_BENCH_SRC"):
            vers["Verbatim measured at (--snapshot)"] = os.environ.get("VERBATIM_BENCH_REV", "?")
        self.data["meta"] = {"machine": machine(), "versions": vers,
                             "args": {k: str(v) for k, v in vars(self.args).items()}}


def byte_compile(root: Path) -> None:
    """Write the .pyc files of `index/` and `bot/` under `root`, as installing a package does: with
    PYTHONDONTWRITEBYTECODE set (this machine sets it) no process writes them, and every cold
    start would compile Verbatim's ~9k lines from source (~0.08 s) while the peers, installed
    in site-packages, start from their .pyc files."""
    import compileall

    for name in ("index", "bot"):
        compileall.compile_dir(str(root / name), quiet=1)


def snapshot(work: Path, rev: str) -> Path:
    """Export `index/` and `bot/` of one commit (git archive, no change to the checkout) and make
    every child import them: Verbatim's code keeps changing while a long run goes on."""
    sha = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", rev], capture_output=True, text=True,
                         check=True).stdout.strip()
    dest = work / "src" / sha
    if not (dest / "index").exists():
        dest.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(REPO), "archive", sha, "index", "bot"], capture_output=True,
                                 check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    byte_compile(dest)
    os.environ["VERBATIM_BENCH_SRC"] = str(dest)
    os.environ["VERBATIM_BENCH_REV"] = sha
    return dest


def machine() -> str:
    model = "?"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=5).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    mem = 0
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    return f"{model}, {os.cpu_count()} cores, {mem / 2**30:.1f} GiB RAM, Linux {platform.release()}"


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def pct(xs, q):
    import numpy as np
    return float(np.percentile(np.asarray(xs), q)) if len(xs) else None


# ----------------------------------------------------------------------------------------------
# main

def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Verbatim vs BM25 peers: build, latency, cold start, quality.")
    ap.add_argument("--sizes", default="10k,100k", help="synthetic sizes, comma list of 10k,100k,1M ('' = none)")
    ap.add_argument("--engines", default="all", help=f"comma list of {','.join(ENGINE_ORDER)} or 'all'")
    ap.add_argument("--no-scifact", action="store_true", help="skip the SciFact dataset")
    ap.add_argument("--no-seeds", action="store_true", help="skip the seeds `python -m bot ask` timings")
    ap.add_argument("--phases", default="build,query,cold,quality")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--combo-limit", type=float, default=900, help="skip a build predicted longer (s)")
    ap.add_argument("--phase-budget", type=float, default=300, help="build repeats of one engine (s)")
    ap.add_argument("--cold-budget", type=float, default=150, help="cold-start repeats of one engine (s)")
    ap.add_argument("--query-budget", type=float, default=240, help="timed passes of one engine (s)")
    ap.add_argument("--snapshot", metavar="REV", help="measure Verbatim as of commit REV (e.g. HEAD), exported "
                    "under work/src/, instead of the live working tree")
    ap.add_argument("--resume", action="store_true", help="skip measurements already in results.json")
    ap.add_argument("--report-only", action="store_true", help="only re-render RESULTS.md")
    ap.add_argument("--work", type=Path, default=WORK)
    ap.add_argument("--out", type=Path, default=RESULTS_MD)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--child-out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child_main(args.child, args.child_out)
    args.work.mkdir(parents=True, exist_ok=True)
    if not args.snapshot:
        byte_compile(REPO)
    if args.snapshot:
        src = snapshot(args.work, args.snapshot)
        print("measuring Verbatim from", src, flush=True)
        sys.path.insert(0, str(src))
        for mod in [m for m in sys.modules if m == "index" or m.startswith(("index.", "bot."))]:
            del sys.modules[mod]
    bench = Bench(args)
    if not args.report_only:
        import report  # noqa: F401  (fail early if the renderer is broken)
        engines = ENGINE_ORDER if args.engines == "all" else [e.strip() for e in args.engines.split(",")]
        unknown = [e for e in engines if e not in peers.ENGINES]
        if unknown:
            ap.error(f"unknown engines {unknown}; choose from {ENGINE_ORDER}")
        phases = set(args.phases.split(","))
        datasets = ([] if args.no_scifact else ["scifact"]) + \
            [f"synth-{s.strip()}" for s in args.sizes.split(",") if s.strip()]
        bench.meta()
        bench.save()
        if not args.no_seeds and "verbatim" in engines:
            print("== seeds", flush=True)
            bench.seeds()
        for ds in datasets:
            print(f"== {ds}", flush=True)
            paths = dataset_paths(ds, args.work)
            if "df" in paths:
                bench.postings(ds, paths)
            if "build" in phases:
                bench.build(ds, engines, paths)
            if "query" in phases:
                bench.query(ds, engines, paths)
            if "cold" in phases:
                bench.cold(ds, engines, paths)
            if "quality" in phases and "qrels" in paths:
                bench.quality(ds, engines, paths)
    import report
    report.write(bench.data, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
