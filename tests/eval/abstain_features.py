"""Dump the abstention signals for every question of one or more sets, to calibrate `bot.abstain`.

For each question: whether it is answerable, whether the top re-ranked candidate hits a gold quote
(score.py's rule), the signals `bot.abstain.features` computes, and the current decision. Prints a
TSV (or --json lines) and a summary of the decision's errors.

  .venv/bin/python tests/eval/abstain_features.py ../shared/eval/seeds-dev.jsonl tests/eval/seeds-calib.jsonl
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bot import answering  # noqa: E402
from bot.abstain import decide, features  # noqa: E402
from bot.evidence import assess, expected_type  # noqa: E402
from bot.question import clean_question, quoted_phrases, retrieval_text  # noqa: E402
from index.analyzer import STOP_WORDS  # noqa: E402
from index.build import build_index  # noqa: E402
from index.search import Searcher  # noqa: E402


def covers(source: str, start: int, end: int, text: str, gold: list[dict], corpus: Path) -> bool:
    for g in gold:
        if g["file"] != source:
            continue
        full = (corpus / g["file"]).read_bytes().decode("utf-8")
        i = full.find(g["quote"])
        while i >= 0:
            ge = i + len(g["quote"])
            if min(end, ge) - max(start, i) >= 0.5 * (ge - i):
                return True
            i = full.find(g["quote"], i + 1)
    return False


def rows_for(searcher: Searcher, questions: list[dict], corpus: Path):
    for q in questions:
        text = clean_question(q["question"])
        analysis = searcher.analyze_query(retrieval_text(text))
        content = [w for w in analysis.words if w not in STOP_WORDS]
        weights = answering._weights(searcher, analysis)
        kind = expected_type(text)
        row = {"id": q["id"], "answerable": q["answerable"], "question": q["question"], "tags": q.get("tags", [])}
        if not weights:
            row.update(hit=False, decision=False, reason="no known terms")
            yield row
            continue
        alts = ANSWERER.alternatives()
        hits = searcher.hits(searcher.rank(analysis.terms + answering.synonym_terms(analysis.terms, alts, searcher),
                                           answering.CANDIDATES))
        top = hits[0].score if hits else 1.0
        full = answering.with_missing_words(searcher, weights, analysis)
        focus = answering._focus_term(searcher, text, analysis)
        cands = answering._merge_duplicates(
            answering.rerank(hits, full, kind, answering._pairs(analysis, weights), searcher.terms_of, focus, alts,
                             phrases=[searcher.terms_of(p) for p in quoted_phrases(text)],
                             current=bool(answering._ASKS_CURRENT.search(text))))
        if not cands:
            row.update(hit=False, decision=False, reason="no candidates")
            yield row
            continue
        best = cands[0]
        f = features(best, content=content, analysis=analysis, kind=kind, weights=full, top_score=top)
        d = decide(best, content=content, analysis=analysis, kind=kind, weights=full, top_score=top)
        gold = q.get("gold") or []
        row.update(f)
        row["hit"] = covers(best.hit.source, best.hit.start, best.hit.end, best.hit.text, gold, corpus)
        row["hit3"] = any(covers(c.hit.source, c.hit.start, c.hit.end, c.hit.text, gold, corpus) for c in cands[:3])
        row["decision"] = d.answer
        row["reason"] = d.reason
        row["best"] = best.hit.text[best.evidence.best.start: best.evidence.best.end][:160]
        yield row


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("sets", nargs="+", type=Path)
    ap.add_argument("--corpus", type=Path, default=REPO / "seeds")
    ap.add_argument("--db", type=Path)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    db = args.db or Path(tempfile.mkdtemp()) / "i.db"
    build_index([args.corpus], db)
    searcher = Searcher.open(db)
    global ANSWERER
    ANSWERER = answering.Answerer(searcher)
    stats = {"answerable": 0, "false_abstain": 0, "unanswerable": 0, "wrong_answer": 0}
    for path in args.sets:
        qs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        for row in rows_for(searcher, qs, args.corpus):
            if args.json:
                print(json.dumps(row, ensure_ascii=False))
            else:
                flag = ""
                if row["answerable"] and not row["decision"]:
                    flag = "FALSE-ABSTAIN"
                    stats["false_abstain"] += 1
                elif not row["answerable"] and row["decision"]:
                    flag = "WRONG-ANSWER"
                    stats["wrong_answer"] += 1
                print("\t".join(str(x) for x in (
                    row["id"], int(row["answerable"]), int(bool(row.get("hit"))), int(bool(row.get("hit3"))),
                    f"{row.get('coverage', 0):.2f}", f"{row.get('missing_rare', 0):.2f}",
                    f"{row.get('unknown_share', 0):.2f}", int(bool(row.get("typed"))), row.get("kind"),
                    f"{row.get('bm25', 0):.1f}", flag, row["question"][:60], row.get("reason", "")[:40])))
            stats["answerable" if row["answerable"] else "unanswerable"] += 1
    print(json.dumps(stats), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
