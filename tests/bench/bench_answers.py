"""Benchmark: answering from the seeds — cold `python -m bot ask` and warm `ask --jsonl` throughput.

Targets: issue 3 (cold < 1 s with the index built; --jsonl >= 200 questions/s warm on the dev set)
and issue 5 (cold < 0.5 s; --jsonl >= 500 questions/s). Run on demand, not by pytest:

  .venv/bin/python tests/bench/bench_answers.py [--repeats 5]

Prints a markdown table with the date, machine and Python version. Throughput is measured in one
process over the dev questions repeated (warm caches), and separately including process start.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEV = REPO.parent / "shared" / "eval" / "seeds-dev.jsonl"
CALIB = REPO / "tests" / "eval" / "seeds-calib.jsonl"


def machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model or platform.processor()} × {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="verbatim-bench-"))
    env = dict(os.environ, VERBATIM_DB=str(work / "index.db"), VERBATIM_QUIET_BUILD="1")
    py = [sys.executable, "-m", "bot", "ask"]
    subprocess.run(py + ["warm up the index"], env=env, cwd=REPO, capture_output=True, check=True)

    cold = []
    for q in ("where did the cia director meet the mossad chief", "who is steve witkof"):
        for _ in range(args.repeats):
            t = time.perf_counter()
            subprocess.run(py + [q], env=env, cwd=REPO, capture_output=True, check=True)
            cold.append((q, time.perf_counter() - t))

    questions = [json.loads(line)["question"] for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    calib = [json.loads(line)["question"] for line in CALIB.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = []
    for name, qs in (("dev ×50", questions * 50), ("calibration ×5", calib * 5)):
        payload = "\n".join(qs) + "\n"
        t = time.perf_counter()
        out = subprocess.run(py + ["--jsonl"], input=payload, text=True, env=env, cwd=REPO, capture_output=True, check=True)
        total = time.perf_counter() - t
        assert len(out.stdout.splitlines()) == len(qs)
        # in-process warm rate (no process start): time the same questions through the library
        sys.path.insert(0, str(REPO))
        from bot.service import AnswerService

        svc = AnswerService.open(work / "index.db", None, refresh=False)
        for q in qs[: len(qs) // 5]:
            svc.ask(q)
        t = time.perf_counter()
        for q in qs:
            svc.ask(q)
        warm = time.perf_counter() - t
        rows.append((name, len(qs), len(qs) / total, len(qs) / warm))

    print(f"## Answer benchmark — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n")
    print(f"Machine: {machine()}; load average at start {os.getloadavg()[0]:.1f}\n")
    print("| cold `python -m bot ask` | p50 s | max s | runs |\n|---|---:|---:|---:|")
    for q in dict.fromkeys(q for q, _ in cold):
        ts = [t for qq, t in cold if qq == q]
        print(f"| {q!r} | {statistics.median(ts):.3f} | {max(ts):.3f} | {len(ts)} |")
    print("\n| `ask --jsonl` | questions | q/s incl. process start | q/s warm in process |\n|---|---:|---:|---:|")
    for name, n, with_start, warm in rows:
        print(f"| {name} | {n} | {with_start:.0f} | {warm:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
