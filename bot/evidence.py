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
from typing import Callable

from index.analyzer import analyze
from index.sentences import sentence_terms

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
    if _HOW_MUCH.search(question):
        return "quantity"  # "how much progress / of the aid": a figure or a word of degree answers it
    for kind, pattern in _EXPECT:
        if pattern.search(question):
            return kind
    return None


_HOW_MANY = re.compile(r"\bhow (many|much)\s+((?:[\w'’-]+\s*){1,6})", re.I)
_PHRASE_STOP = {"of", "the", "a", "an", "are", "is", "were", "was", "have", "has", "had", "did", "do", "does",
                "in", "on", "at", "for", "by", "to", "from", "still", "been", "be", "will", "would", "could",
                "and", "or", "that", "who", "which", "since", "so", "per", "each", "every", "remain", "remaining"}


_COMMON_VERBS = {"died", "die", "dies", "get", "got", "go", "went", "gone", "say", "said", "make", "made", "take",
                 "took", "taken", "give", "gave", "given", "come", "came", "leave", "left", "hold", "held", "keep",
                 "kept", "become", "became", "need", "want", "live", "lived", "near", "there", "here"}
_QUANTITY = re.compile(r"\b(half|little|much|more|less|most|least|significant\w*|enough|some|all|none|any|several|"
                       r"few|many|majority|minority|portion|share|percent|entire|whole)\b", re.I)
_HOW_MUCH = re.compile(r"\bhow much\b", re.I)


def count_focus(question: str) -> str | None:
    """The head noun of "how many/much X": the last word of X before its verb or preposition.

    A number only answers "how many Israeli soldiers…" when it counts soldiers: "three hostages
    killed by Israeli soldiers" has a number and the word "soldiers", but counts hostages.
    """
    m = _HOW_MANY.search(question)
    if not m:
        return None
    words = re.findall(r"[\w'’-]+", m.group(2).lower())
    while words and words[0] in ("of", "the", "a", "an", "these", "those", "all"):
        words.pop(0)
    phrase = []
    for w in words:
        # the noun phrase ends at its verb: an auxiliary, a preposition, or a past form ("people died")
        if w in _PHRASE_STOP or w in _COMMON_VERBS or (len(w) > 4 and w.endswith("ed")):
            break
        phrase.append(w)
    return phrase[-1] if phrase else None


_NUMBER_AT = re.compile(rf"\d[\d,.]*|\b({_NUMBER_WORDS})\b", re.I)


def counts(text: str, focus_term: str, terms_of: Callable[[str], list[str]]) -> bool:
    """Some number in `text` is followed, within four words, by the counted noun."""
    for m in _NUMBER_AT.finditer(text):
        words = []
        for w in text[m.end():].split()[:3]:
            if w.lower().strip(",.;:") in _BREAKS:
                break
            words.append(w)
        if focus_term in terms_of(" ".join(words)):
            return True
    return False


_BREAKS = {"by", "from", "with", "in", "at", "on", "and", "to", "for", "against", "than", "after", "before"}


_TYPE_CACHE: dict[tuple, bool] = {}


def has_type(text: str, kind: str | None, focus_term: str | None = None,
             terms_of: Callable[[str], list[str]] | None = None) -> bool:
    """Whether `text` holds the kind of thing asked for (memoised: the same top passages recur)."""
    if kind is None:
        return True
    key = (text, kind, focus_term)
    got = _TYPE_CACHE.get(key)
    if got is None:
        if len(_TYPE_CACHE) > 100_000:
            _TYPE_CACHE.clear()
        got = _TYPE_CACHE[key] = _has_type(text, kind, focus_term, terms_of)
    return got


def _has_type(text: str, kind: str, focus_term: str | None,
              terms_of: Callable[[str], list[str]] | None) -> bool:
    if kind == "number":
        if focus_term and terms_of is not None:
            return counts(text, focus_term, terms_of)
        return bool(_HAS_NUMBER.search(text))
    if kind == "quantity":
        return bool(_HAS_NUMBER.search(text)) or bool(_QUANTITY.search(text))
    if kind == "date":
        return bool(_HAS_DATE.search(text))
    if kind == "person":
        return bool(_NAME.search(text)) or bool(_TITLE_WORD.search(text))
    if kind == "place":
        return bool(_PLACE.search(text)) or bool(_PROPER.search(text))
    return True


_PROPER = re.compile(r"(?<!^)(?<![.!?“\"]\s)\b[A-Z][a-z]{2,}")


# ---- coverage of the question's informative terms -----------------------------------------------
@dataclass(frozen=True)
class Span:
    start: int  # offsets relative to the chunk text
    end: int
    coverage: float        # idf-weighted share of the question's known terms present
    covered: frozenset[str]
    typed: bool            # holds the kind of thing asked for
    proximity: float = 0.0  # share of the question's adjacent term pairs found near each other, in order


@dataclass(frozen=True)
class Evidence:
    best: Span                      # best single sentence or adjacent pair
    highlight: tuple[tuple[int, int], ...]  # sentence spans to bold (chunk-relative)
    chunk_coverage: float           # coverage by the whole chunk (terms possibly spread out)


def credits(seq: list[str] | set[str], weights: dict[str, float],
            alternatives: dict[str, frozenset[str]] | None, synonym_credit: float = 0.8) -> dict[str, float]:
    """Question term -> credit earned by one sentence: 1 for the word itself, less for a synonym."""
    present = seq if isinstance(seq, set) else set(seq)
    out: dict[str, float] = {}
    for t in weights:
        if t in present:
            out[t] = 1.0
        elif alternatives and alternatives.get(t, frozenset()) & present:
            out[t] = synonym_credit
    return out


def coverage(credit: dict[str, float], weights: dict[str, float], total: float | None = None) -> float:
    """idf-weighted share of the question's terms credited; `total` is sum(weights) if known."""
    if total is None:
        total = sum(weights.values())
    return sum(weights[t] * c for t, c in credit.items()) / total if total else 0.0


def _union(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    out = dict(a)
    for t, c in b.items():
        out[t] = max(out.get(t, 0.0), c)
    return out


PAIR_CREDIT = 0.6  # terms found only in the neighbouring sentence are weaker evidence


def stand_ins(pairs: list[tuple[str, str]], alternatives: dict[str, frozenset[str]] | None) -> dict[str, tuple[str, ...]]:
    """Sentence term -> the question terms it stands for (itself, or a question term it is a synonym of).
    Built once per question so proximity is linear in the sentence length."""
    wanted = {t for p in pairs for t in p}
    out: dict[str, set[str]] = {t: {t} for t in wanted}
    for q in wanted:
        for alt in (alternatives or {}).get(q, ()):
            out.setdefault(alt, set()).add(q)
    return {t: tuple(v) for t, v in out.items()}


def proximity(seq: list[str], pairs: list[tuple[str, str]], window: int = 4,
              standing: dict[str, tuple[str, ...]] | None = None) -> float:
    """Share of question term pairs (a, b) that occur in this order within `window` terms
    (a synonym standing in for a question term counts: "killed in Gaza" for "death … Gaza")."""
    if not pairs:
        return 0.0
    standing = standing if standing is not None else stand_ins(pairs, None)
    return _pairs_near(_positions(seq, standing), pairs, window)


def _positions(seq: list[str], standing: dict[str, tuple[str, ...]], offset: int = 0,
               present: set[str] | None = None) -> dict[str, list[int]]:
    """Question term -> positions in `seq` (+ offset) of the words standing for it (in no
    particular order). Only the standing words present are looked for, each with `list.index`:
    a scan in C instead of a dictionary lookup per word of every sentence."""
    pos: dict[str, list[int]] = {}
    for word in standing.keys() & (present if present is not None else set(seq)):
        found = []
        i = seq.index(word)
        try:
            while True:
                found.append(i + offset)
                i = seq.index(word, i + 1)
        except ValueError:
            pass
        for q in standing[word]:
            pos[q] = pos[q] + found if q in pos else found
    return pos


def _joined(a: dict[str, list[int]], b: dict[str, list[int]]) -> dict[str, list[int]]:
    """Positions in two consecutive sequences, `b` already offset past `a`."""
    out = dict(a)
    for q, ps in b.items():
        out[q] = out[q] + ps if q in out else ps
    return out


def _pairs_near(pos: dict[str, list[int]], pairs: list[tuple[str, str]], window: int = 4) -> float:
    if not pos:  # most sentences: no question term at all
        return 0.0
    found = 0
    for a, b in pairs:
        pa, pb = pos.get(a), pos.get(b)
        if pa and pb and any(0 < j - i <= window for i in pa for j in pb):
            found += 1
    return found / len(pairs)


def assess(chunk_text: str, weights: dict[str, float], kind: str | None,
           terms_of: Callable[[str], list[str]] = analyze, pairs: list[tuple[str, str]] | None = None,
           focus_term: str | None = None, alternatives: dict[str, frozenset[str]] | None = None,
           synonym_credit: float = 0.8, standing: dict[str, tuple[str, ...]] | None = None,
           sentences: tuple | None = None) -> Evidence | None:
    """Best sentence window of a chunk for a question whose terms carry `weights` (idf).
    `sentences`: the chunk's (spans, per-sentence terms, their sets) if the caller has them
    (`Searcher.sentence_terms`); else computed here with `terms_of`."""
    spans, seqs, presents = sentences if sentences is not None else sentence_terms(chunk_text, terms_of)
    if not spans or not weights:
        return None
    pairs = pairs or []
    if standing is None:
        standing = stand_ins(pairs, alternatives)
    creds = [credits(present, weights, alternatives, synonym_credit) for present in presents]
    total = sum(weights.values())
    covs = [coverage(c, weights, total) for c in creds]
    # positions of question terms per sentence, computed once: a sentence pair's are the two joined
    poss = [_positions(seq, standing, 0, present) for seq, present in zip(seqs, presents)] if pairs else []
    # every sentence and adjacent pair is a candidate; only the best becomes a Span (most are not)
    best_key: tuple[float, int] | None = None
    best_parts: tuple = ()
    for i, (a, b) in enumerate(spans):
        cov = covs[i]
        typed = kind is None or has_type(chunk_text[a:b], kind, focus_term, terms_of)
        near = _pairs_near(poss[i], pairs) if pairs else 0.0
        key = (cov + (0.15 if typed else 0.0) + 0.1 * near, a - b)  # ties: the shorter, then the first
        if best_key is None or key > best_key:
            best_key, best_parts = key, (a, b, cov, creds[i], {}, typed, near)
        if i + 1 < len(spans):
            a2, b2 = spans[i + 1]
            # a pair must earn its place: it counts what the better sentence lacks entirely, at PAIR_CREDIT
            better, other = (creds[i], creds[i + 1]) if cov >= covs[i + 1] else (creds[i + 1], creds[i])
            added = {t: c for t, c in other.items() if t not in better}
            cov2 = (cov if better is creds[i] else covs[i + 1]) + PAIR_CREDIT * coverage(added, weights, total)
            near = 0.0
            if pairs:
                shifted = {q: [p + len(seqs[i]) for p in ps] for q, ps in poss[i + 1].items()}
                near = _pairs_near(_joined(poss[i], shifted), pairs)
            typed = kind is None or has_type(chunk_text[a:b2], kind, focus_term, terms_of)
            key = (cov2 + (0.15 if typed else 0.0) + 0.1 * near, a - b2)
            if key > best_key:
                best_key, best_parts = key, (a, b2, cov2, better, added, typed, near)
    a, b, cov, credit, added, typed, near = best_parts
    best = Span(a, b, cov, frozenset(credit).union(added), typed, near)
    highlight = tuple((a, b) for (a, b), c in zip(spans, creds)
                      if a >= best.start and b <= best.end and (c or best.end - best.start == b - a))
    chunk_credit: dict[str, float] = {}
    for c in creds:
        chunk_credit = _union(chunk_credit, c)
    return Evidence(best=best, highlight=highlight or ((best.start, best.end),),
                    chunk_coverage=coverage(chunk_credit, weights, total))
