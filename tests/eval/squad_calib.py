#!/usr/bin/env python3
"""Build a large abstention-calibration corpus and question set from SQuAD 2.0 dev.

Why: the seeds corpus is five news articles, far too small to calibrate when to abstain. SQuAD 2.0
dev has 11,873 crowd-written questions over 1,204 Wikipedia paragraphs, half of them written to be
unanswerable by a paragraph that looks relevant (near-misses by design). Turning it into a folder
of paragraph files plus a `score.py` question set lets the bot be scored on it exactly like on the
seeds, with the same scorer.

Layout written under --out (default tests/eval/work/squad, git-ignored):
  corpus/<article-slug>/<nnn>.txt   one paragraph per file, its text byte for byte (no title line,
                                    no trailing newline), so SQuAD's answer offsets hold in the file
  questions.jsonl                   score.py schema: id, question, answerable, gold [{file, quote}],
                                    answer, tags; plus squad_id and paragraph for tracing back
  manifest.json                     the parameters and counts, so a run can be reproduced

Answerable questions: gold = each distinct answer text in its paragraph file (score.py counts a hit
when a quote from that file covers at least half of an occurrence of the answer, which is the right
test for a bot that quotes passages). Impossible questions: answerable false, tagged
`squad-impossible`. Caveat: SQuAD marks a question impossible for ITS paragraph only; another
paragraph of the same article occasionally does answer it, so a few "wrong answers" on this set are
not wrong. Treat its abstention figure as a calibration signal, not a verdict.

Sampling is deterministic: `--seed` fixes a random.Random; `--n` questions, half answerable and half
impossible (fewer if the chosen articles do not hold enough); `--articles K` keeps only the first K
articles in file order, to bound the corpus size. Question texts are stripped, and questions whose
normalised text repeats are dropped (SQuAD has a few exact repeats, sometimes with opposite labels).

Usage:
  squad_calib.py [--n 2000] [--seed 1] [--articles K] [--out DIR] [--squad PATH]
"""
from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DEFAULT_SQUAD = REPO / ".." / "shared" / "data" / "squad2-dev" / "dev-v2.0.json.gz"
DEFAULT_OUT = HERE / "work" / "squad"

# Question kinds the abstention logic may test for (a number for "how many", a date for "when"...).
KIND_PATTERNS = [
    ("number", re.compile(r"^\s*(how (many|much|long|far|old|large|big|tall|high)|what (percent|percentage|number|amount))\b", re.I)),
    ("date", re.compile(r"^\s*(when\b|(in )?what (year|decade|century|date|month|day|time)\b|(in )?which (year|decade|century)\b)", re.I)),
    ("person", re.compile(r"^\s*(who|whom|whose)\b", re.I)),
    ("place", re.compile(r"^\s*(where\b|(in )?what (city|country|state|place|region)\b)", re.I)),
]


def slugify(title: str) -> str:
    """A filesystem-safe folder name that stays readable (Fresno,_California -> fresno-california)."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return slug or "article"


def norm_question(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def kind_tags(question: str) -> list[str]:
    return [name for name, rx in KIND_PATTERNS if rx.search(question)]


def load_squad(path: Path) -> dict:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return json.load(fh)


def build(squad: dict, n: int, seed: int, articles: int | None, out: Path) -> dict:
    """Write corpus and questions under `out`; return the manifest."""
    data = squad["data"][:articles] if articles else squad["data"]
    corpus = out / "corpus"
    if corpus.exists():
        shutil.rmtree(corpus)  # stale paragraphs from a bigger earlier build would pollute the index
    corpus.mkdir(parents=True)

    answerable: list[dict] = []
    impossible: list[dict] = []
    slugs: set[str] = set()
    n_paragraphs = 0
    for art in data:
        slug = slugify(art["title"])
        while slug in slugs:
            slug += "-x"
        slugs.add(slug)
        (corpus / slug).mkdir()
        for p_i, para in enumerate(art["paragraphs"]):
            rel = f"{slug}/{p_i:03d}.txt"
            context = para["context"]
            (corpus / rel).write_bytes(context.encode("utf-8"))
            n_paragraphs += 1
            for qa in para["qas"]:
                question = " ".join(qa["question"].split())
                row = {"squad_id": qa["id"], "question": question, "paragraph": rel}
                if qa.get("is_impossible"):
                    plausible = [a["text"] for a in qa.get("plausible_answers") or []]
                    row.update(answerable=False, gold=[],
                               answer="Unanswerable in SQuAD 2.0" + (f" (plausible: {plausible[0]!r})" if plausible else ""),
                               tags=["squad-impossible"] + kind_tags(question))
                    impossible.append(row)
                else:
                    quotes: list[str] = []
                    for a in qa["answers"]:
                        s, t = a["answer_start"], a["text"]
                        if context[s:s + len(t)] != t:  # never expected (README: 0 mismatches); guard anyway
                            raise SystemExit(f"squad_calib: answer offset mismatch in {qa['id']}")
                        if t.strip() and t not in quotes:
                            quotes.append(t)
                    row.update(answerable=True, gold=[{"file": rel, "quote": q} for q in quotes],
                               answer=quotes[0] if quotes else "", tags=["squad"] + kind_tags(question))
                    answerable.append(row)

    # Drop repeated question texts everywhere (not just within a side) so labels never contradict.
    counts: dict[str, int] = {}
    for row in answerable + impossible:
        key = norm_question(row["question"])
        counts[key] = counts.get(key, 0) + 1
    answerable = [r for r in answerable if counts[norm_question(r["question"])] == 1 and r["gold"]]
    impossible = [r for r in impossible if counts[norm_question(r["question"])] == 1]

    rng = random.Random(seed)
    half = n // 2
    k = min(half, len(answerable), len(impossible))
    picked = rng.sample(answerable, k) + rng.sample(impossible, k)
    rng.shuffle(picked)

    rows = []
    for i, r in enumerate(picked, 1):
        rows.append({"id": f"sq{i:05d}", "question": r["question"], "answerable": r["answerable"],
                     "gold": r["gold"], "answer": r["answer"], "tags": r["tags"],
                     "squad_id": r["squad_id"], "paragraph": r["paragraph"]})
    (out / "questions.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    manifest = {"source": "SQuAD 2.0 dev (CC BY-SA 4.0, Rajpurkar, Jia & Liang 2018)",
                "n_requested": n, "seed": seed, "articles": len(data), "paragraphs": n_paragraphs,
                "questions": len(rows), "answerable": k, "impossible": k,
                "pool_answerable": len(answerable), "pool_impossible": len(impossible),
                "corpus": "corpus", "questions_file": "questions.jsonl"}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000, help="questions to sample, half answerable (default 2000)")
    ap.add_argument("--seed", type=int, default=1, help="random seed for the sample (default 1)")
    ap.add_argument("--articles", type=int, default=None, help="keep only the first K articles (default all 35)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT.relative_to(REPO)})")
    ap.add_argument("--squad", type=Path, default=DEFAULT_SQUAD, help="path to dev-v2.0.json.gz")
    args = ap.parse_args(argv)
    if args.n < 2:
        ap.error("--n must be at least 2")
    if args.articles is not None and args.articles < 1:
        ap.error("--articles must be at least 1")
    if not args.squad.is_file():
        print(f"squad_calib: {args.squad} not found (expected ../shared/data/squad2-dev beside the repo)", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    m = build(load_squad(args.squad), args.n, args.seed, args.articles, args.out)
    print(f"squad_calib: {m['articles']} articles, {m['paragraphs']} paragraph files in {args.out / 'corpus'}; "
          f"{m['questions']} questions ({m['answerable']} answerable, {m['impossible']} impossible) "
          f"in {args.out / 'questions.jsonl'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
