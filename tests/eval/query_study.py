"""SciFact ablation of the search layer's query-side additions, on an index built by the CLI.

Why: `index.search.Searcher.analyze_query` adds typo correction and joined compounds on top of the
shared tokenizer. Those help chat questions about news; scientific claims are full of words a
5,000-abstract corpus never uses ("0-dimensional", gene names), which a corrector may turn into
other words. This scores the same index with and without each addition (train choices, test shown).

    .venv/bin/python tests/eval/scifact.py --split train --k1 K1 --b B   # builds the db
    .venv/bin/python tests/eval/query_study.py [--db tests/eval/work/scifact/index.db]
"""
from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scifact  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path, default=scifact.db_path())
    ap.add_argument("--depth", type=int, default=scifact.DEFAULT_DEPTH)
    ap.add_argument("--at", metavar="REV", help="import index/ as committed at REV (as scifact.py --at)")
    args = ap.parse_args()
    if args.at:
        scifact.use_commit(args.at)
    sys.path.insert(0, str(scifact.SRC))
    from index import analyzer
    from index.analyzer import STOP_WORDS, surface_words
    from index.search import Searcher
    searcher = Searcher.open(args.db)
    with sqlite3.connect(args.db) as conn:
        doc_of = dict(conn.execute("SELECT c.id, d.doc_id FROM chunks c JOIN documents d ON d.id = c.doc"))
    queries = scifact.load_queries()

    def plain_terms(text: str) -> list[str]:
        return searcher.terms_of(text)

    def no_correction(text: str) -> list[str]:
        a = searcher.analyze_query(text)
        words = [w for w in surface_words(text)]
        return [t for t in map(searcher.term_of, words + a.joined) if t is not None]

    def no_joins(text: str) -> list[str]:
        a = searcher.analyze_query(text)
        return [t for t in map(searcher.term_of, a.words) if t is not None]

    # Words the corpus writes solid ("ceasefire"), as opposed to joined forms the tokenizer generates
    # from hyphenated spellings ("blood-pressure" -> "bloodpressure").
    solid: set[str] = set()
    for d in scifact.load_corpus().values():
        for m in analyzer._WORD.finditer(analyzer.normalize(d["title"] + " " + d["text"])):
            if "-" not in m.group():
                solid.add(m.group().strip("'").replace("'", ""))

    def solid_joins(text: str) -> list[str]:
        a = searcher.analyze_query(text)
        content = [w for w in a.words if w not in STOP_WORDS]
        joined = [x + y for x, y in zip(content, content[1:]) if x + y not in content and x + y in solid]
        return [t for t in map(searcher.term_of, a.words + joined) if t is not None]

    modes = {"analyze_query (what the CLI does)": lambda t: searcher.analyze_query(t).terms,
             "shared tokenizer only": plain_terms, "no typo correction": no_correction,
             "no joined compounds": no_joins, "joins only to words the corpus writes solid": solid_joins,
             "no correction, no joins": lambda t: [x for x in map(searcher.term_of, surface_words(t))
                                                    if x is not None]}
    print("| query analysis | train nDCG@10 | train R@100 | test nDCG@10 | test R@100 | queries changed |")
    print("| --- | --- | --- | --- | --- | --- |")
    cli_terms = {q: modes["analyze_query (what the CLI does)"](t) for q, t in queries.items()}
    for name, fn in modes.items():
        row = [name]
        terms = {q: fn(t) for q, t in queries.items()}
        for split in ("train", "test"):
            qrels = scifact.load_qrels(split)
            run = {q: scifact.top_docs((doc_of[c], s) for c, s in searcher.rank(terms[q], args.depth))
                   for q in qrels}
            r = scifact.evaluate(run, qrels)
            row += [f"{r['ndcg_cut_10']:.4f}", f"{r['recall_100']:.4f}"]
        row.append(str(sum(terms[q] != cli_terms[q] for q in queries)))
        print("| " + " | ".join(row) + " |", flush=True)
    corrected = {q: a.corrections for q, t in queries.items() if (a := searcher.analyze_query(t)).corrections}
    print(f"\n{len(corrected)} of {len(queries)} claims had a word 'corrected'; first 15:")
    for q, c in list(corrected.items())[:15]:
        print(f"  {q}: {c}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
