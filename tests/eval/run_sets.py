#!/usr/bin/env python3
"""Score the bot on several question sets at once and print one row per set.

Why: the 20-question dev set cannot tell a good abstention rule from a lucky one. This runs the
dev set, the 200-question seeds calibration set and the SQuAD 2.0 calibration set through the
shared scorer (`../shared/eval/score.py`, unchanged) so every change to the bot is judged on all
of them side by side, and keeps the raw answers so thresholds can be studied offline.

For each set it:
  1. points the bot at the set's corpus through the environment: `VERBATIM_CORPUS` = the corpus
     folder, `VERBATIM_DB` = a per-corpus index file in a temporary folder (or --index-dir), so
     runs never touch the developer's `.verbatim/index.db`;
  2. warms up (one blank question) so the index build is timed apart from answering;
  3. runs the command once with every question on stdin (exactly as score.py does) and saves the
     answers to tests/eval/work/answers/<set>.jsonl;
  4. scores them with `score.py --answers ... -v` (plus the seeds boilerplate list) and reads its
     metrics line and per-question outcomes.
Then it prints the table, a per-tag breakdown (--by-tag), an optional threshold sweep (--sweep:
what the figures would be if the bot also abstained whenever its top quote scored below t), and
writes everything to tests/eval/work/results.json.

Sets: `dev`, `calib`, `squad` (built by squad_calib.py on first use, or rebuilt when --squad-*
options differ from its manifest), or any `QA.jsonl:CORPUS_DIR`.

Usage:
  run_sets.py [SET ...] [--cmd CMD] [--by-tag] [--sweep] [--index-dir DIR] [--timeout S]
  run_sets.py dev calib --cmd "python -c 'import sys,json; [print(json.dumps({\\"status\\":\\"no_answer\\",\\"quotes\\":[]})) for _ in sys.stdin]'"
Exit status: 0 all sets scored, 1 a set had verbatim violations/malformed output, 2 a run failed.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SHARED = REPO / ".." / "shared"
SCORE = SHARED / "eval" / "score.py"
WORK = HERE / "work"
SEEDS = REPO / "seeds"
BOILERPLATE = HERE / "seeds-boilerplate.txt"


def default_cmd() -> str:
    venv_python = REPO / ".venv" / "bin" / "python"
    python = venv_python if venv_python.exists() else Path(sys.executable)
    return f"{shlex.quote(str(python))} -m bot ask --jsonl"


@dataclass
class QSet:
    name: str
    qa: Path
    corpus: Path
    boilerplate: Path | None = None


def ensure_squad(n: int, seed: int, articles: int | None) -> QSet:
    """Build the SQuAD set unless one with the same parameters is already in the work dir."""
    out = WORK / "squad"
    manifest = out / "manifest.json"
    want = {"n_requested": n, "seed": seed}
    have = json.loads(manifest.read_text(encoding="utf-8")) if manifest.is_file() else {}
    stale = any(have.get(k) != v for k, v in want.items())
    if articles is not None and have.get("articles") != articles:
        stale = True
    if articles is None and have and have.get("articles") != 35:
        stale = True
    if stale or not (out / "questions.jsonl").is_file():
        sys.path.insert(0, str(HERE))
        import squad_calib  # noqa: E402  (a sibling script, not a package)

        squad_calib.build(squad_calib.load_squad(squad_calib.DEFAULT_SQUAD), n, seed, articles, out)
    return QSet("squad", out / "questions.jsonl", out / "corpus")


def resolve_set(spec: str, args: argparse.Namespace) -> QSet:
    if spec == "dev":
        return QSet("dev", SHARED / "eval" / "seeds-dev.jsonl", SEEDS, BOILERPLATE)
    if spec == "calib":
        return QSet("calib", HERE / "seeds-calib.jsonl", SEEDS, BOILERPLATE)
    if spec == "squad":
        return ensure_squad(args.squad_n, args.squad_seed, args.squad_articles)
    qa, sep, corpus = spec.rpartition(":")
    if not sep or not qa:
        raise SystemExit(f"run_sets: unknown set {spec!r} (use dev, calib, squad or QA.jsonl:CORPUS)")
    return QSet(Path(qa).stem, Path(qa), Path(corpus))


def load_jsonl(path: Path) -> list[dict]:
    return [json.loads(ln) for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


def run_cmd(cmd: str, lines: list[str], env: dict, timeout: float) -> tuple[subprocess.CompletedProcess, float]:
    began = time.perf_counter()
    proc = subprocess.run(cmd, shell=True, input="\n".join(lines) + "\n", text=True, capture_output=True,
                          timeout=timeout, env=env, cwd=REPO)
    return proc, time.perf_counter() - began


def parse_outcomes(stdout: str) -> dict[str, str]:
    """score.py -v prints `{id:>6}  {outcome:<10} {question}` per question before its summary."""
    outcomes = {}
    for line in stdout.splitlines():
        if line.startswith("hit@1 "):
            break
        parts = line.split(None, 2)
        if len(parts) >= 2:
            outcomes[parts[0]] = parts[1]
    return outcomes


def top_score(answer: dict) -> float | None:
    quotes = answer.get("quotes") or []
    if answer.get("status") != "answered" or not quotes:
        return None
    s = quotes[0].get("score")
    return float(s) if isinstance(s, (int, float)) else None


def by_tag(qa: list[dict], outcomes: dict[str, str]) -> dict[str, dict]:
    """Per tag: how many questions, and for answerable ones hit@1/hit@3/abstained, else abstained ok."""
    table: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    for q in qa:
        out = outcomes.get(q["id"], "?")
        side = "answerable" if q["answerable"] else "unanswerable"
        for tag in [side] + [t for t in q.get("tags", []) if t]:
            row = table[f"{side}:{tag}" if tag != side else side]
            row["n"] += 1
            if q["answerable"]:
                row["hit1"] += out == "hit@1"
                row["hit3"] += out in ("hit@1", "hit@3")
                row["false_abstain"] += out == "ABSTAINED"
            else:
                row["abstain_ok"] += out == "abstained"
    return {k: dict(v) for k, v in sorted(table.items())}


def sweep(qa: list[dict], answers: list[dict], outcomes: dict[str, str], points: int = 9) -> list[dict]:
    """Figures if the bot also abstained whenever its top quote's score were below t.

    Only tightens abstention: a question the bot already refused stays refused. Thresholds are
    quantiles of the top scores the bot returned, so the sweep adapts to any score scale.
    """
    scores = sorted(s for s in (top_score(a) for a in answers) if s is not None)
    if not scores:
        return []
    cuts = sorted({scores[min(len(scores) - 1, int(i * len(scores) / (points + 1)))] for i in range(points + 1)})
    n_ans = sum(q["answerable"] for q in qa) or 1
    n_un = (len(qa) - sum(q["answerable"] for q in qa)) or 1
    rows = []
    for t in cuts:
        h1 = fa = ok = 0
        for q, a in zip(qa, answers):
            s = top_score(a)
            answered = s is not None and s >= t
            out = outcomes.get(q["id"], "?")
            if q["answerable"]:
                h1 += answered and out == "hit@1"
                fa += not answered
            else:
                ok += not answered
        rows.append({"threshold": round(t, 4), "hit_at_1": round(100 * h1 / n_ans, 1),
                     "false_abstain": round(100 * fa / n_ans, 1), "abstain_ok": round(100 * ok / n_un, 1)})
    return rows


def score_set(qs: QSet, cmd: str, db_dir: Path, args: argparse.Namespace) -> dict:
    qa = load_jsonl(qs.qa)
    corpus = qs.corpus.resolve()
    db = db_dir / (re.sub(r"[^A-Za-z0-9]+", "-", str(corpus)).strip("-")[-80:] + ".db")
    env = dict(os.environ, VERBATIM_CORPUS=str(corpus), VERBATIM_DB=str(db))
    result: dict = {"set": qs.name, "qa": str(qs.qa), "corpus": str(corpus), "db": str(db)}

    if not args.no_warmup:
        proc, warm = run_cmd(cmd, [""], env, args.timeout)
        result["warmup_seconds"] = round(warm, 3)
        if proc.returncode != 0:
            result["error"] = f"warm-up exited {proc.returncode}: {proc.stderr.strip()[-2000:]}"
            return result
    proc, elapsed = run_cmd(cmd, [q["question"] for q in qa], env, args.timeout)
    if proc.returncode != 0:
        result["error"] = f"command exited {proc.returncode}: {proc.stderr.strip()[-2000:]}"
        return result
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    answers_path = WORK / "answers" / f"{qs.name}.jsonl"
    answers_path.parent.mkdir(parents=True, exist_ok=True)
    answers_path.write_text("".join(ln + "\n" for ln in lines), encoding="utf-8")
    result["answers"] = str(answers_path)
    result["seconds"] = round(elapsed, 3)
    result["questions_per_second"] = round(len(qa) / elapsed, 1) if elapsed > 0 else None

    score_cmd = [sys.executable, str(SCORE), str(qs.qa), "--corpus", str(corpus), "--answers", str(answers_path), "-v"]
    if qs.boilerplate and qs.boilerplate.is_file():
        score_cmd += ["--boilerplate", str(qs.boilerplate)]
    sc = subprocess.run(score_cmd, text=True, capture_output=True, timeout=args.timeout)
    last = sc.stdout.strip().splitlines()[-1] if sc.stdout.strip() else ""
    try:
        metrics = json.loads(last)
    except json.JSONDecodeError:
        result["error"] = f"score.py exited {sc.returncode}: {(sc.stdout + sc.stderr).strip()[-2000:]}"
        return result
    result["metrics"] = metrics
    result["score_exit"] = sc.returncode
    outcomes = parse_outcomes(sc.stdout)
    result["outcomes"] = outcomes
    result["by_tag"] = by_tag(qa, outcomes)
    try:
        answers = [json.loads(ln) for ln in lines]
    except json.JSONDecodeError:
        answers = []
    if len(answers) == len(qa):
        result["sweep"] = sweep(qa, answers, outcomes)
    return result


def fmt(v, suffix: str = "") -> str:
    return "-" if v is None else f"{v}{suffix}"


def print_table(results: list[dict]) -> None:
    head = (f"{'set':<8}{'n':>6}{'hit@1':>8}{'hit@3':>8}{'false abst':>11}{'abst ok':>9}{'temporal':>10}"
            f"{'verbatim':>10}{'bad hl':>8}{'long':>6}{'boiler':>8}{'q/s':>8}")
    print(head)
    print("-" * len(head))
    for r in results:
        m = r.get("metrics")
        if not m:
            print(f"{r['set']:<8}  ERROR: {r.get('error', '?').splitlines()[0][:120]}")
            continue
        print(f"{r['set']:<8}{m['questions']:>6}{fmt(m['hit_at_1'], '%'):>8}{fmt(m['hit_at_3'], '%'):>8}"
              f"{fmt(m['false_abstain'], '%'):>11}{fmt(m['abstain_ok'], '%'):>9}{fmt(m['temporal_coverage'], '%'):>10}"
              f"{m['verbatim_violations']:>10}{m['bad_highlights']:>8}{m['long_quotes']:>6}"
              f"{fmt(m['boilerplate_quotes']):>8}{fmt(r.get('questions_per_second')):>8}")


def print_by_tag(r: dict) -> None:
    print(f"\n{r['set']}: by tag")
    for tag, row in r.get("by_tag", {}).items():
        n = row["n"]
        if tag.startswith("answerable"):
            print(f"  {tag:<34} n={n:<5} hit@1 {row['hit1']:>4} ({100 * row['hit1'] / n:5.1f}%)  "
                  f"hit@3 {row['hit3']:>4}  false abstain {row['false_abstain']:>4}")
        else:
            print(f"  {tag:<34} n={n:<5} abstained ok {row['abstain_ok']:>4} ({100 * row['abstain_ok'] / n:5.1f}%)")


def print_sweep(r: dict) -> None:
    rows = r.get("sweep") or []
    if not rows:
        print(f"\n{r['set']}: no sweep (no answered quotes with scores)")
        return
    print(f"\n{r['set']}: if the bot also abstained below top-quote score t")
    print(f"  {'t':>10} {'hit@1':>7} {'false abst':>11} {'abst ok':>8}")
    for row in rows:
        print(f"  {row['threshold']:>10} {row['hit_at_1']:>6}% {row['false_abstain']:>10}% {row['abstain_ok']:>7}%")


def git_head() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, text=True,
                              capture_output=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sets", nargs="*", default=["dev", "calib", "squad"],
                    help="dev, calib, squad or QA.jsonl:CORPUS (default: dev calib squad)")
    ap.add_argument("--cmd", default=None, help="bot command: questions on stdin, JSON answers on stdout "
                                                "(default: .venv/bin/python -m bot ask --jsonl)")
    ap.add_argument("--index-dir", type=Path, default=None,
                    help="keep per-corpus index files here (default: a temporary folder, removed after)")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per bot run (default 900)")
    ap.add_argument("--no-warmup", action="store_true", help="do not time the index build separately")
    ap.add_argument("--by-tag", action="store_true", help="print per-tag figures for each set")
    ap.add_argument("--sweep", action="store_true", help="print a top-score threshold sweep for each set")
    ap.add_argument("--squad-n", type=int, default=2000)
    ap.add_argument("--squad-seed", type=int, default=1)
    ap.add_argument("--squad-articles", type=int, default=None)
    ap.add_argument("--results", type=Path, default=WORK / "results.json")
    args = ap.parse_args(argv)
    cmd = args.cmd or default_cmd()

    qsets = [resolve_set(s, args) for s in args.sets]
    with tempfile.TemporaryDirectory(prefix="verbatim-eval-") as tmp:
        db_dir = args.index_dir or Path(tmp)
        db_dir.mkdir(parents=True, exist_ok=True)
        results = []
        for qs in qsets:
            print(f"run_sets: {qs.name} ({qs.qa.name}, corpus {qs.corpus}) ...", file=sys.stderr, flush=True)
            try:
                results.append(score_set(qs, cmd, db_dir.resolve(), args))
            except subprocess.TimeoutExpired as exc:
                results.append({"set": qs.name, "error": f"timed out after {exc.timeout}s"})

    print_table(results)
    for r in results:
        if args.by_tag and r.get("by_tag"):
            print_by_tag(r)
        if args.sweep and "metrics" in r:
            print_sweep(r)
    for r in results:
        if r.get("error"):
            print(f"\n{r['set']}: {r['error']}", file=sys.stderr)

    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps({"when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "git": git_head(),
                                        "cmd": cmd, "sets": results}, indent=1) + "\n", encoding="utf-8")
    print(f"\nrun_sets: wrote {args.results}", file=sys.stderr)
    if any(r.get("error") for r in results):
        return 2
    return 1 if any(r.get("score_exit") for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
