#!/usr/bin/env python3
"""Validate question-set files before anyone trusts a score computed on them.

A scorer silently counts a gold quote that is not in its file as "never hit", so a typo in a
quote (a straight apostrophe for a curly one, say) turns into a false "miss" that nobody notices.
This script makes such mistakes loud: it checks the schema of every line, that ids are unique,
that every gold quote occurs verbatim in its file (read as bytes, decoded as UTF-8, exactly as
`score.py` reads it), and a few consistency rules that keep the tags honest.

Usage:
  check_sets.py                                  # every tests/eval/*.jsonl against seeds/
  check_sets.py SET.jsonl [...] --corpus DIR     # given sets against a given corpus
  check_sets.py --dev ../shared/eval/seeds-dev.jsonl   # also refuse questions copied from the dev set

Exit status 0 when every set is valid, 1 otherwise (problems printed one per line).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DEFAULT_DEV = REPO / ".." / "shared" / "eval" / "seeds-dev.jsonl"

FIELDS = {"id": str, "question": str, "answerable": bool, "gold": list, "answer": str, "tags": list}
MAX_QUOTE = 1000  # score.py never counts a longer quote as a hit, so a longer gold could never be hit
UNANSWERABLE_KINDS = {"out-of-scope", "near-miss", "boilerplate-trap", "squad-impossible"}
KNOWN_TAGS = UNANSWERABLE_KINDS | {
    "number", "date", "person", "place", "keyword", "paraphrase", "typo", "hyphenation", "duplicate",
    "temporal-conflict", "factoid", "squad",
}


def norm_question(text: str) -> str:
    """Lowercase and drop punctuation so 'Who is X?' and 'who is x' count as the same question."""
    return " ".join(re.findall(r"\w+", text.lower()))


def load_lines(path: Path) -> list[tuple[int, object]]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append((n, json.loads(line)))
            except json.JSONDecodeError as exc:
                rows.append((n, exc))
    return rows


def check_set(path: Path, corpus: Path, dev_questions: set[str]) -> tuple[list[str], Counter]:
    """Return (problems, tag counts) for one set file."""
    problems: list[str] = []
    counts: Counter = Counter()
    texts: dict[str, str | None] = {}
    ids: Counter = Counter()
    seen_questions: dict[str, str] = {}

    def source(name: str) -> str | None:
        if name not in texts:
            p = corpus / name
            try:
                texts[name] = p.read_bytes().decode("utf-8") if p.is_file() else None
            except (OSError, UnicodeDecodeError):
                texts[name] = None
        return texts[name]

    for n, row in load_lines(path):
        where = f"{path.name}:{n}"
        if isinstance(row, Exception):
            problems.append(f"{where}: not JSON ({row})")
            continue
        if not isinstance(row, dict):
            problems.append(f"{where}: not a JSON object")
            continue
        bad = [k for k, t in FIELDS.items() if not isinstance(row.get(k), t)]
        if bad:
            problems.append(f"{where}: missing or mistyped field(s) {bad}")
            continue
        qid = row["id"]
        where = f"{path.name}:{n} ({qid})"
        ids[qid] += 1
        q = row["question"]
        if not q.strip() or "\n" in q:
            problems.append(f"{where}: question must be one non-empty line (the bot reads one per line)")
        key = norm_question(q)
        if key in seen_questions:
            problems.append(f"{where}: same question as {seen_questions[key]}")
        seen_questions.setdefault(key, qid)
        if key in dev_questions:
            problems.append(f"{where}: copies a dev-set question")
        tags = row["tags"]
        if not all(isinstance(t, str) for t in tags):
            problems.append(f"{where}: tags must be strings")
            continue
        unknown = set(tags) - KNOWN_TAGS
        if unknown:
            problems.append(f"{where}: unknown tag(s) {sorted(unknown)}")
        counts["answerable" if row["answerable"] else "unanswerable"] += 1
        for t in tags:
            counts[("A:" if row["answerable"] else "U:") + t] += 1

        gold = row["gold"]
        if not row["answerable"]:
            if gold:
                problems.append(f"{where}: unanswerable but has gold quotes")
            if not set(tags) & UNANSWERABLE_KINDS:
                problems.append(f"{where}: unanswerable without a kind tag {sorted(UNANSWERABLE_KINDS)}")
            continue
        if set(tags) & UNANSWERABLE_KINDS:
            problems.append(f"{where}: answerable but tagged {sorted(set(tags) & UNANSWERABLE_KINDS)}")
        if not gold:
            problems.append(f"{where}: answerable without gold quotes")
        for g in gold:
            if not (isinstance(g, dict) and isinstance(g.get("file"), str) and isinstance(g.get("quote"), str)):
                problems.append(f"{where}: gold entry must be {{file, quote}}: {g!r}")
                continue
            text = source(g["file"])
            quote = g["quote"]
            if text is None:
                problems.append(f"{where}: gold file {g['file']} not found (or not UTF-8) under {corpus}")
            elif not quote.strip():
                problems.append(f"{where}: empty gold quote")
            elif quote not in text:
                problems.append(f"{where}: quote not verbatim in {g['file']}: {quote[:80]!r}")
            if len(quote) > MAX_QUOTE:
                problems.append(f"{where}: gold quote longer than {MAX_QUOTE} characters")
        files = {g.get("file") for g in gold if isinstance(g, dict)}
        if "duplicate" in tags and len(files) < 2:
            problems.append(f"{where}: tagged duplicate but gold is in one file only")
        if "temporal-conflict" in tags and len(files) < 2:
            problems.append(f"{where}: tagged temporal-conflict but gold is in one file only")

    for qid, c in ids.items():
        if c > 1:
            problems.append(f"{path.name}: id {qid} used {c} times")
    return problems, counts


def summarize(counts: Counter) -> str:
    a, u = counts["answerable"], counts["unanswerable"]
    parts = [f"{a + u} questions: {a} answerable, {u} unanswerable ({100.0 * u / max(1, a + u):.0f}%)"]
    for side in ("A:", "U:"):
        tags = sorted(((k[2:], v) for k, v in counts.items() if k.startswith(side)), key=lambda kv: (-kv[1], kv[0]))
        if tags:
            parts.append(("  answerable tags: " if side == "A:" else "  unanswerable tags: ")
                         + ", ".join(f"{k} {v}" for k, v in tags))
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sets", nargs="*", type=Path, help="set files (default: tests/eval/*.jsonl)")
    ap.add_argument("--corpus", type=Path, default=REPO / "seeds", help="folder gold files are relative to")
    ap.add_argument("--dev", type=Path, default=DEFAULT_DEV,
                    help="dev set whose questions must not be copied (skipped if missing)")
    args = ap.parse_args(argv)

    sets = args.sets or sorted(HERE.glob("*.jsonl"))
    if not sets:
        print("check_sets: no set files found")
        return 1
    dev_questions: set[str] = set()
    if args.dev and args.dev.is_file():
        dev_questions = {norm_question(r["question"]) for _, r in load_lines(args.dev) if isinstance(r, dict)}
    failed = False
    for path in sets:
        is_dev = args.dev is not None and path.resolve() == args.dev.resolve()
        problems, counts = check_set(path, args.corpus, set() if is_dev else dev_questions)
        status = "OK" if not problems else f"{len(problems)} problem(s)"
        print(f"{path.name}: {status}")
        print(summarize(counts))
        for p in problems:
            print("  " + p)
        failed |= bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
