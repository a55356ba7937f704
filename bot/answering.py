"""Ranked chunks -> an Answer: verified quotes with highlights, duplicates merged, dated when sources
disagree over time — or an explicit no-answer with a reason.

Steps: analyse the question with the index's own vocabulary; rank chunks with BM25; re-rank by
evidence (one sentence covering the question's informative terms and holding the kind of thing
asked for); abstain unless the best passage is strong enough (`bot.abstain`); merge duplicates;
show a dated list, newest first, when strong passages come from sources of different dates;
finally check every quote against its source text and drop any that does not match exactly.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from bot.abstain import Decision, decide
from bot.answer import Answer, Citation, Quote
from bot.evidence import Evidence, assess, count_focus, expected_type, stand_ins
from bot.paraphrase import SYNONYM_CREDIT, expansions
from bot.question import clean_question, quoted_phrases, retrieval_text
from index.analyzer import STOP_WORDS
from index.store import text_digest
from index.ranking import raw_idf
from index.model import SearchHit
from index.search import Searcher
from index.sentences import sentence_spans

log = logging.getLogger(__name__)

CANDIDATES = 40          # chunks re-ranked by evidence
DEFAULT_QUOTES = 3
MAX_QUOTES = 5           # hard cap per answer, also for dated lists
DATED_MARGIN = 0.2       # a dated entry must score within this of the best passage: other dates, same answer
MAX_QUOTE_CHARS = 1000   # a reader in Slack should not have to search a wall of text
QUOTE_CHARS = 600        # a chunk longer than this is quoted as a sentence window around the highlight
# The question asks about the present state ("still", "so far"), and a sentence reports one.
_ASKS_CURRENT = re.compile(r"\b(still|now|currently|current|so far|remain\w*|yet|anymore|left|latest|today|holding)\b", re.I)
_SAYS_CURRENT = re.compile(r"\b(still|remain\w*|so far|currently|now|yet|left|continu\w*|ongoing|to date|as of|has held|have held)\b", re.I)
_TIME_CUES = re.compile(r"\b(still|now|currently|current|so far|latest|remain\w*|yet|today|anymore|holding|status|"
                        r"how many|how much|toll|total|number of)\b", re.I)


@dataclass(frozen=True)
class Candidate:
    hit: SearchHit
    evidence: Evidence
    rank_score: float

    @property
    def coverage(self) -> float:
        return self.evidence.best.coverage


def _weights(searcher: Searcher, analysis) -> dict[str, float]:
    """idf weight per distinct known query term; parts of a compound yield to the compound."""
    words = analysis.words + analysis.joined
    adjacent = {a + b: (a, b) for a, b in zip(words, words[1:]) if a and b}  # linear, not quadratic
    parts: set[str] = set()
    compounds: set[str | None] = set()
    for w in set(words):
        pair = adjacent.get(w)
        if pair and w not in pair:
            parts.update((searcher.term_of(pair[0]), searcher.term_of(pair[1])))
            compounds.add(searcher.term_of(w))
    weights: dict[str, float] = {}
    for term in dict.fromkeys(analysis.terms):
        if term in parts and compounds:
            continue
        w = searcher.idf(term)
        if w > 0:
            weights[term] = w
        elif searcher.knows_term(term):
            weights[term] = 0.05  # a term in most chunks says little, but not nothing
    return weights


class Answerer:
    """Answers questions from one index. Thread-safe (the Searcher serialises scoring)."""

    def __init__(self, searcher: Searcher) -> None:
        self.searcher = searcher
        self._alternatives: dict | None = None

    def alternatives(self) -> dict:
        if self._alternatives is None:
            self._alternatives = expansions(self.searcher.base_term)
        return self._alternatives

    def answer(self, question: str, k: int = DEFAULT_QUOTES, offset: int = 0) -> Answer:
        # echoed back in the Answer: lone surrogates (possible in Python strings) could not be written as UTF-8
        original = question.encode("utf-8", "replace").decode("utf-8") if isinstance(question, str) else ""
        q = clean_question(original)
        k = max(1, min(int(k), MAX_QUOTES))
        offset = max(0, int(offset))
        if not q:
            return Answer.no_answer(original, "The question is empty.")
        with self.searcher.snapshot():
            return self._answer(original, q, k, offset)

    def _answer(self, original: str, q: str, k: int, offset: int) -> Answer:
        analysis = self.searcher.analyze_query(retrieval_text(q))
        content = [w for w in analysis.words if w not in STOP_WORDS]
        if not analysis.terms:
            why = "The question has only common words; ask about something specific." if analysis.words \
                else "The question has no searchable words."
            return Answer.no_answer(original, why)
        weights = _weights(self.searcher, analysis)
        if not weights:
            if analysis.boilerplate:
                return Answer.no_answer(original, BOILERPLATE_REASON)
            return Answer.no_answer(original, "None of the question's words occur in the sources.")
        kind = expected_type(q)
        focus = _focus_term(self.searcher, q, analysis)
        alternatives = self.alternatives()
        ranked = self.searcher.rank(analysis.terms + synonym_terms(analysis.terms, alternatives, self.searcher),
                                    CANDIDATES)
        hits = self.searcher.hits(ranked)
        if not hits:
            return Answer.no_answer(original, "No passage in the sources matches the question.")
        top = hits[0].score or 1.0
        full = with_missing_words(self.searcher, weights, analysis)
        cands = rerank(hits, full, kind, _pairs(analysis, weights), self.searcher.terms_of, focus, alternatives,
                       phrases=[self.searcher.terms_of(p) for p in quoted_phrases(q)],
                       current=bool(_ASKS_CURRENT.search(q)), sentence_terms=self.searcher.sentence_terms)
        cands = _merge_duplicates(cands)
        if not cands:
            return Answer.no_answer(original, "No passage in the sources matches the question.")
        decision: Decision = decide(cands[0], content=content, analysis=analysis, kind=kind,
                                    weights=full, top_score=top)
        if not decision.answer:
            return Answer.no_answer(original, decision.reason)
        best = cands[0]
        strong = [c for c in cands if c.coverage >= 0.5 * best.coverage and c.coverage > 0
                  and (c.evidence.best.typed or kind is None)]
        chosen, dated = _dated_list(strong, q, k)
        if not dated:
            chosen = strong[offset: offset + k]
            more = len(strong) > offset + k
        else:
            chosen = chosen[offset: offset + MAX_QUOTES]
            more = False
        quotes = [q_ for q_ in (self._quote(c) for c in chosen) if q_ is not None]
        if not quotes:
            if offset:
                return Answer(question=original, status="no_answer", reason="No more passages.", offset=offset)
            return Answer.no_answer(original, "No passage could be quoted exactly.")
        return Answer(question=original, status="answered", quotes=tuple(quotes), dated=dated, more=more,
                      offset=offset)

    # ---- quotes ----------------------------------------------------------------------------
    def _quote(self, cand: Candidate) -> Quote | None:
        hit, ev = cand.hit, cand.evidence
        a, b = _window(hit.text, ev.best.start, ev.best.end)
        start, end = hit.start + a, hit.start + b
        text = hit.text[a:b]
        source_text = self.searcher.source_text(hit.doc_id)
        if (source_text is None or hit.digest is None
                or text_digest(source_text[hit.start:hit.end]) != hit.digest):
            # the source no longer says what was indexed (edited, truncated, gone) or the index is damaged
            log.error("verbatim check failed for %s [%d:%d]; quote dropped", hit.source, hit.start, hit.end)
            return None
        text = source_text[start:end]  # cut from the source itself: an exact slice by construction
        highlights = tuple((hit.start + ha, hit.start + hb) for ha, hb in ev.highlight
                           if a <= ha < hb <= b)
        also = tuple(Citation(source=d.source, start=d.start, end=d.end, paragraph=d.paragraph, title=d.title,
                              date=d.date, doc_id=d.doc_id) for d in hit.duplicates)
        return Quote(text=text, source=hit.source, start=start, end=end, title=hit.title, date=hit.date,
                     score=round(cand.rank_score, 4), highlights=highlights, paragraph=hit.paragraph,
                     doc_id=hit.doc_id, also_in=also)


BOILERPLATE_REASON = ("The sources mention this only in page furniture (ads, paywall, comment or "
                      "subscription prompts), not in their text.")
_INFLECTED = ("ed", "ing", "ly")


def with_missing_words(searcher: Searcher, weights: dict[str, float], analysis) -> dict[str, float]:
    """Known term weights plus a weight for each question word the indexed text never uses.

    Such a word is rarer than anything in the corpus, so it gets the idf of an unseen term: a
    passage cannot cover it, and it pulls coverage down as much as the question leans on it.
    Inflected verbs and adverbs ("recovered", "accidentally") are usually paraphrase, so they
    count half; nouns ("weather", "wifi", "American") name a topic the sources may simply lack.
    """
    full = dict(weights)
    unseen = float(raw_idf(max(searcher.stats.n_chunks, 1), 0))
    for w in analysis.unknown + analysis.boilerplate:
        factor = 0.5 if w.endswith(_INFLECTED) and len(w) > 5 else 1.0
        full["?" + w] = unseen * factor
    return full


def synonym_terms(terms: list[str], alternatives: dict, searcher: Searcher) -> list[str]:
    """Synonyms of the question's terms that the index knows, each once, to widen BM25's net."""
    have = set(terms)
    extra = {a for t in have for a in alternatives.get(t, ()) if a not in have and searcher.knows_term(a)}
    return sorted(extra)


def _focus_term(searcher: Searcher, question: str, analysis) -> str | None:
    head = count_focus(question) if expected_type(question) == "number" else None
    if not head:
        return None
    from index.analyzer import surface_words

    words = surface_words(head)
    if not words:
        return None
    word = analysis.corrections.get(words[-1], words[-1])
    return searcher.term_of(word)


def _pairs(analysis, weights: dict[str, float]) -> list[tuple[str, str]]:
    seq = [t for t in dict.fromkeys(analysis.terms) if t in weights]
    return list(zip(seq, seq[1:]))


def rerank(hits: list[SearchHit], weights: dict[str, float], kind: str | None, pairs: list[tuple[str, str]],
           terms_of, focus: str | None = None, alternatives: dict | None = None,
           phrases: list[list[str]] | None = None, current: bool = False,
           sentence_terms=None) -> list[Candidate]:
    """Order BM25 hits by evidence: one sentence covering the question, of the right type, in order.
    `sentence_terms(text)` gives a passage's sentences with their terms (cached by the Searcher).
    A passage duplicated in several sources is assessed once: the evidence depends on its text only."""
    top = hits[0].score if hits and hits[0].score > 0 else 1.0
    standing = stand_ins(pairs, alternatives)
    cands: list[Candidate] = []
    assessed: dict[str, Evidence | None] = {}
    for hit in hits:
        text = hit.text
        if text in assessed:
            ev = assessed[text]
        else:
            ev = assessed[text] = assess(text, weights, kind, terms_of, pairs, focus, alternatives, SYNONYM_CREDIT,
                                         standing, sentence_terms(text) if sentence_terms is not None else None)
        if ev is None:
            continue
        b = ev.best
        score = b.coverage + (0.15 if b.typed else 0.0) + 0.1 * b.proximity + 0.35 * (hit.score / top)
        if current and _SAYS_CURRENT.search(hit.text[b.start:b.end]):
            score += 0.1
        if phrases:
            seq = terms_of(hit.text[b.start:b.end])
            score += 0.5 * sum(_contains(seq, p) for p in phrases if p) / len(phrases)
        cands.append(Candidate(hit, ev, score))
    cands.sort(key=lambda c: (-c.rank_score, c.hit.chunk_id))
    return cands


def _contains(seq: list[str], phrase: list[str]) -> bool:
    n = len(phrase)
    return any(seq[i:i + n] == phrase for i in range(len(seq) - n + 1))


def _window(text: str, start: int, end: int) -> tuple[int, int]:
    """The whole chunk when it is short enough to read, else whole sentences around [start, end),
    and never more than MAX_QUOTE_CHARS (a single giant sentence is cut at word boundaries)."""
    a, b = _sentence_window(text, start, end)
    if b - a <= MAX_QUOTE_CHARS:
        return a, b
    a = max(a, start)
    cut = text.rfind(" ", a, a + MAX_QUOTE_CHARS)
    b = cut if cut > a + MAX_QUOTE_CHARS // 2 else a + MAX_QUOTE_CHARS
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


def _sentence_window(text: str, start: int, end: int) -> tuple[int, int]:
    if len(text) <= QUOTE_CHARS:
        return 0, len(text)
    spans = sentence_spans(text)
    a, b = start, end
    inside = [i for i, (s, e) in enumerate(spans) if s < end and e > start]
    if not inside:
        return start, end
    lo, hi = inside[0], inside[-1]
    a, b = spans[lo][0], spans[hi][1]
    while True:
        grown = False
        if lo > 0 and b - spans[lo - 1][0] <= QUOTE_CHARS:
            lo -= 1
            a = spans[lo][0]
            grown = True
        if hi + 1 < len(spans) and spans[hi + 1][1] - a <= QUOTE_CHARS:
            hi += 1
            b = spans[hi][1]
            grown = True
        if not grown:
            return a, b


def _merge_duplicates(cands: list[Candidate]) -> list[Candidate]:
    """One candidate per passage: a duplicate elsewhere is cited in `also_in`, not quoted twice."""
    seen: set[tuple[str, int]] = set()
    out = []
    for c in cands:
        key = (c.hit.doc_id, c.hit.start)
        if key in seen:
            continue
        seen.add(key)
        seen.update((d.doc_id, d.start) for d in c.hit.duplicates)
        out.append(c)
    return out


def _dated_list(strong: list[Candidate], question: str, k: int) -> tuple[list[Candidate], bool]:
    """Best passage per source date, newest first, when strong passages span several dates and the
    question is about something that changes over time (counts, status)."""
    if len(strong) < 2 or not _TIME_CUES.search(question):
        return strong, False
    best_cov = strong[0].coverage
    per_date: dict[str, Candidate] = {}
    for c in strong:
        dates = {c.hit.date} | {d.date for d in c.hit.duplicates}
        date = c.hit.date
        if (not date or c.coverage < 0.75 * best_cov or c.rank_score < strong[0].rank_score - DATED_MARGIN
                or any(d in per_date for d in dates if d)):
            continue
        per_date[date] = c
    if len(per_date) < 2:
        return strong, False
    chosen = sorted(per_date.values(), key=lambda c: c.hit.date, reverse=True)[:MAX_QUOTES]
    return chosen, True
