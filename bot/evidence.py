"""How well one passage answers one question: the signals the answer builder ranks and abstains on.

BM25 says a passage shares rare words with the question; it does not say the passage answers it.
A passage answers when one sentence (or two adjacent ones) covers most of the question's
informative terms — terms spread over different sentences are weak evidence — and when that
sentence holds the kind of thing asked for: a number for "how many", a date for "when", a name for
"who", a place for "where".
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from index.analyzer import analyze
from index.sentences import sentence_spans

# ---- what the question asks for ----------------------------------------------------------------
_EXPECT = [
    ("number", re.compile(r"\b(how (many|much|long|old|far|often)|number of|count|toll|percent(age)?|total|figure|amount)\b", re.I)),
    ("date", re.compile(r"\b(when|what (year|date|day|month|time)|since when|which (year|date|day|month))\b", re.I)),
    ("person", re.compile(r"\b(who|whom|whose)\b|\bwhich (official|leader|person|people|man|woman|negotiator|envoy|spokes\w*)\b", re.I)),
    ("place", re.compile(r"\b(where|which (city|country|countries|place|town|region|capital))\b|\bwhat (city|country|place)\b", re.I)),
]

_NUMBER_WORDS = (r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens?|hundreds?|thousands?|"
                 r"millions?|billions?|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|half|several|no")
_HAS_NUMBER = re.compile(rf"\d|\b({_NUMBER_WORDS})\b", re.I)
_MONTHS = r"jan(uary|\.)?|feb(ruary|\.)?|mar(ch|\.)?|apr(il|\.)?|may|june?|july?|aug(ust|\.)?|sept?(ember|\.)?|oct(ober|\.)?|nov(ember|\.)?|dec(ember|\.)?"
_HAS_DATE = re.compile(
    rf"\b({_MONTHS})\s+\d{{1,2}}\b|\b(1[89]|20)\d\d\b|\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    rf"yesterday|today|tonight|last (week|month|year)|this (week|month|year)|(early|mid|late)[- ]({_MONTHS}))\b|"
    rf"\b(in|since|until|by|before|after) ({_MONTHS})\b",
    re.I,
)
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z’'\-]+(?:\s+(?:[A-Z]\.|[A-Z][a-z’'\-]+|bin|al|de|van|von)){1,4}")
_TITLE_WORD = re.compile(r"\b(president|prime minister|minister|director|spokes(man|woman|person)|official|leader|"
                         r"envoy|chief|head|secretary|negotiator|mr|ms|mrs|dr)\b\.?", re.I)
_PLACE = re.compile(r"\b(in|at|from|to|near|across|into)\s+(the\s+)?[A-Z][a-z]+", re.M)


def expected_type(question: str) -> str | None:
    for kind, pattern in _EXPECT:
        if pattern.search(question):
            return kind
    return None


def has_type(text: str, kind: str | None) -> bool:
    if kind is None:
        return True
    if kind == "number":
        return bool(_HAS_NUMBER.search(text))
    if kind == "date":
        return bool(_HAS_DATE.search(text))
    if kind == "person":
        return bool(_NAME.search(text)) or bool(_TITLE_WORD.search(text))
    if kind == "place":
        return bool(_PLACE.search(text))
    return True


# ---- coverage of the question's informative terms -----------------------------------------------
@dataclass(frozen=True)
class Span:
    start: int  # offsets relative to the chunk text
    end: int
    coverage: float        # idf-weighted share of the question's known terms present
    covered: frozenset[str]
    typed: bool            # holds the kind of thing asked for


@dataclass(frozen=True)
class Evidence:
    best: Span                      # best single sentence or adjacent pair
    highlight: tuple[tuple[int, int], ...]  # sentence spans to bold (chunk-relative)
    chunk_coverage: float           # coverage by the whole chunk (terms possibly spread out)


def coverage(terms: set[str], weights: dict[str, float]) -> float:
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in terms) / total if total else 0.0


def assess(chunk_text: str, weights: dict[str, float], kind: str | None) -> Evidence | None:
    """Best sentence window of a chunk for a question whose known terms carry `weights` (idf)."""
    spans = sentence_spans(chunk_text)
    if not spans or not weights:
        return None
    sent_terms = [set(analyze(chunk_text[a:b])) & weights.keys() for a, b in spans]
    candidates: list[Span] = []
    for i, (a, b) in enumerate(spans):
        cov = coverage(sent_terms[i], weights)
        candidates.append(Span(a, b, cov, frozenset(sent_terms[i]), has_type(chunk_text[a:b], kind)))
        if i + 1 < len(spans):
            a2, b2 = spans[i + 1]
            both = sent_terms[i] | sent_terms[i + 1]
            # a pair must earn its place: it counts only what the second sentence adds, slightly discounted
            cov2 = coverage(both, weights)
            cov2 = cov + 0.8 * (cov2 - cov) if cov >= coverage(sent_terms[i + 1], weights) else \
                coverage(sent_terms[i + 1], weights) + 0.8 * (cov2 - coverage(sent_terms[i + 1], weights))
            candidates.append(Span(a, b2, cov2, frozenset(both), has_type(chunk_text[a:b2], kind)))
    best = max(candidates, key=lambda s: (s.coverage + (0.15 if s.typed else 0.0), -(s.end - s.start)))
    highlight = tuple((a, b) for a, b in spans if a >= best.start and b <= best.end and
                      (sent_terms[spans.index((a, b))] or best.end - best.start == b - a))
    all_terms = set().union(*sent_terms)
    return Evidence(best=best, highlight=highlight or ((best.start, best.end),),
                    chunk_coverage=coverage(all_terms, weights))
