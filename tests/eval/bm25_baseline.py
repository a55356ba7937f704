#!/usr/bin/env python3
"""Plain-BM25 reference "bot" for run_sets.py: never abstains, quotes the top-k chunks as they are.

Why: calibration needs a floor to compare against. This answers every question with the index's
top chunks (no sentence selection, no abstention), so `run_sets.py --sweep` on its answers shows
how far a bare score threshold can trade false abstentions against correct ones on each set —
the issue's warning that a threshold tuned on 20 questions does not generalise, made measurable.

Reads questions on stdin, one per line; prints one answer JSON per line in score.py's schema.
Index: `$VERBATIM_DB`, built from `$VERBATIM_CORPUS` (default seeds/) when missing.
  run_sets.py dev calib squad --cmd ".venv/bin/python tests/eval/bm25_baseline.py" --sweep
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from index.build import build_index
from index.config import default_corpus, default_db_path
from index.search import Searcher


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-k", type=int, default=3, help="quotes per answer (default 3)")
    args = ap.parse_args(argv)
    db = default_db_path()
    if not Path(db).is_file():
        Path(db).parent.mkdir(parents=True, exist_ok=True)
        build_index(default_corpus(), Path(db))
    searcher = Searcher.open(db)
    out = sys.stdout
    for line in sys.stdin:
        question = line.rstrip("\n")
        hits = searcher.search(question, k=args.k) if question.strip() else []
        quotes = [{"text": h.text, "source": h.source, "start": h.start, "end": h.end, "title": h.title,
                   "date": h.date, "score": h.score, "highlights": []} for h in hits]
        out.write(json.dumps({"question": question, "status": "answered" if quotes else "no_answer",
                              "reason": None if quotes else "no matching passage", "quotes": quotes},
                             ensure_ascii=False) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
