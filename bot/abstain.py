"""When to say "the sources don't answer this".

A plain BM25 score threshold fails both ways: it refuses paraphrased questions and answers
near-misses that share on-topic words. The decision combines several signals of the best passage:
- coverage: idf-weighted share of the question's known terms in ONE sentence (or adjacent pair);
- the rarest term: the most informative known term missing from that sentence is a red flag
  ("American citizens" when the passage says "Israeli citizen");
- unknown words: content words the corpus never uses ("weather", "wifi") say the question is
  about something else;
- type: a "how many" question needs a number, "when" a date, "who" a name, "where" a place.
The thresholds are calibrated on question sets much larger than the dev set (tests/eval).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.answering import Candidate

MIN_COVERAGE = 0.5        # idf-weighted share of the question (unknown words included) one sentence covers
MIN_COVERAGE_IF_GAP = 0.6  # ... required when the question's heaviest known term is missing from it
MAX_MISSING_RARE = 0.9     # uncovered known-term weight / heaviest known-term weight
MAX_BOILERPLATE_SHARE = 0.25


@dataclass(frozen=True)
class Decision:
    answer: bool
    reason: str
    features: dict


def features(best: "Candidate", *, content: list[str], analysis, kind: str | None,
             weights: dict[str, float], top_score: float) -> dict:
    known = {t: w for t, w in weights.items() if not t.startswith("?")}
    heaviest = max(known.values()) if known else 0.0
    missing = [w for t, w in known.items() if t not in best.evidence.best.covered]
    return {
        "coverage": best.coverage,
        "chunk_coverage": best.evidence.chunk_coverage,
        "unknown_share": len(analysis.unknown) / max(len(content), 1),
        "boilerplate_share": len(analysis.boilerplate) / max(len(content), 1),
        "missing_rare": (max(missing) / heaviest) if missing and heaviest else 0.0,
        "typed": best.evidence.best.typed,
        "kind": kind,
        "bm25": top_score,
        "n_terms": len(known),
    }


def decide(best: "Candidate", *, content: list[str], analysis, kind: str | None,
           weights: dict[str, float], top_score: float) -> Decision:
    from bot.answering import BOILERPLATE_REASON

    f = features(best, content=content, analysis=analysis, kind=kind, weights=weights, top_score=top_score)
    if f["boilerplate_share"] >= MAX_BOILERPLATE_SHARE:
        return Decision(False, BOILERPLATE_REASON, f)
    if f["coverage"] < MIN_COVERAGE:
        if f["unknown_share"] > 0.3:
            return Decision(False, "The sources do not cover this: some of the question's words never occur in them.", f)
        return Decision(False, "No passage in the sources says this; the question's words only occur scattered.", f)
    if f["missing_rare"] >= MAX_MISSING_RARE and f["n_terms"] > 1 and f["coverage"] < MIN_COVERAGE_IF_GAP:
        return Decision(False, "The closest passage leaves out a key part of the question.", f)
    if not f["typed"]:
        return Decision(False, f"The closest passage does not give a {kind}, which the question asks for.", f)
    return Decision(True, "", f)
