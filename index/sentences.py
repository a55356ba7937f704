"""Sentence spans with exact offsets, shared by chunking (split long paragraphs) and highlighting.

pysbd handles abbreviations news text is full of ("Mr.", "Dec. 1", "U.S.") far better than a
regex on ". ". Its spans include trailing whitespace, so we trim them: a span always slices to a
sentence with no surrounding blanks.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable

import pysbd

# pysbd's `segment` finds its sentences in the text by compiling one regex per sentence (re.escape of
# its text), even with char_span=False: ~25 ms a paragraph, most of the time of a first question on
# a new passage. Its processor's sentences are substrings of the text in order (clean=False), so
# `_spans` finds them with str.find instead, and `segment` is not called.
_SEGMENTER = pysbd.Segmenter(language="en", clean=False, char_span=False)
_MAX_PYSBD = 20_000  # pysbd is quadratic-ish on giant unpunctuated runs; fall back beyond this
_FALLBACK = re.compile(r"[^.!?\n]+(?:[.!?]+[\"'”’)]*|\n|$)")


def trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    """(start, end) with surrounding whitespace removed, or None if nothing but whitespace."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if end > start else None


def _spans(text: str, sentences: list[str]) -> list[tuple[int, int]]:
    """Where each sentence is in `text`, searching forward from the end of the previous one; []
    when one cannot be found (the caller then falls back to simple splitting)."""
    out = []
    pos = 0
    for sent in sentences:
        if not sent:
            continue
        at = text.find(sent, pos)
        if at < 0:
            return []
        pos = at + len(sent)
        out.append((at, pos))
    return out


@lru_cache(maxsize=4096)
def sentence_spans(text: str) -> tuple[tuple[int, int], ...]:
    """Spans (start, end) of the sentences of `text`, in order, relative to `text`."""
    spans: list[tuple[int, int]] = []
    if len(text) <= _MAX_PYSBD:
        try:
            raw = _spans(text, _SEGMENTER.processor(text).process())
        except Exception:  # pysbd has rare internal errors on odd input; never lose the text
            raw = []
        # pysbd's spans must tile the text; if they do not, use the simple fallback instead
        if raw and all(0 <= a < b <= len(text) for a, b in raw):
            pos = 0
            for a, b in raw:
                if a < pos:
                    raw = []
                    break
                pos = b
        if raw:
            for a, b in raw:
                # a line break inside a "sentence" is a hard boundary (lists, headings, one-per-line text)
                seg_start = a
                for m in re.finditer(r"\n", text[a:b]):
                    cut = a + m.start()
                    t = trimmed(text, seg_start, cut)
                    if t:
                        spans.append(t)
                    seg_start = cut + 1
                t = trimmed(text, seg_start, b)
                if t:
                    spans.append(t)
            return tuple(spans)
    for m in _FALLBACK.finditer(text):
        t = trimmed(text, m.start(), m.end())
        if t:
            spans.append(t)
    return tuple(spans)


def sentence_terms(text: str, terms_of: Callable[[str], list[str]]
                   ) -> tuple[tuple[tuple[int, int], ...], list[list[str]], list[set[str]]]:
    """A passage's sentence spans, each sentence's terms and their set: what the answer builder
    weighs a passage by (`bot.evidence.assess`; cached per passage by `Searcher.sentence_terms`)."""
    spans = sentence_spans(text)
    seqs = [terms_of(text[a:b]) for a, b in spans]
    return spans, seqs, [set(seq) for seq in seqs]
