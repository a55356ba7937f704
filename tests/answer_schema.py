"""One checker for the Answer JSON contract, shared by the hostile-question, property and console tests.

The contract is the docstring of `../shared/eval/score.py` plus the project's limits (docs/limits.md):
a test that reads an answer should check all of it, the same way, against the real source file —
not a re-derived copy of the text.
"""
from __future__ import annotations

import re
from pathlib import Path

from bot.answering import MAX_QUOTES

MAX_QUOTE_CHARS = 1000  # score.py's MAX_QUOTE: longer quotes never count as hits
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class SourceCache:
    """Source texts exactly as score.py reads them: bytes decoded as UTF-8, relative to the corpus."""

    def __init__(self, corpus: Path) -> None:
        self.corpus = Path(corpus)
        self._texts: dict[str, str] = {}

    def text(self, source: str) -> str:
        if source not in self._texts:
            path = (self.corpus / source).resolve()
            assert path.is_relative_to(self.corpus.resolve()), f"source {source!r} escapes the corpus"
            self._texts[source] = path.read_bytes().decode("utf-8")
        return self._texts[source]


def check_answer(a: dict, sources: SourceCache, *, max_quotes: int = MAX_QUOTES) -> list[str]:
    """Every way `a` breaks the contract, as readable strings (empty list: valid)."""
    bad: list[str] = []
    if not isinstance(a, dict):
        return [f"not an object: {a!r:.80}"]
    if not isinstance(a.get("question"), str):
        bad.append("question is not a string")
    status = a.get("status")
    if status not in ("answered", "no_answer"):
        bad.append(f"status {status!r}")
    quotes = a.get("quotes")
    if not isinstance(quotes, list):
        return bad + ["quotes is not a list"]
    if status == "no_answer":
        if not (isinstance(a.get("reason"), str) and a["reason"].strip()):
            bad.append("no_answer without a reason")
        if quotes:
            bad.append("no_answer with quotes")
    if status == "answered" and not quotes:
        bad.append("answered without quotes")
    if len(quotes) > max_quotes:
        bad.append(f"{len(quotes)} quotes > {max_quotes}")
    for i, q in enumerate(quotes):
        where = f"quote {i}"
        if not isinstance(q, dict):
            bad.append(f"{where} not an object")
            continue
        text, source, start, end = q.get("text"), q.get("source"), q.get("start"), q.get("end")
        if not (isinstance(text, str) and text and isinstance(source, str)
                and type(start) is int and type(end) is int):
            bad.append(f"{where}: bad field types {q!r:.200}")
            continue
        if len(text) > MAX_QUOTE_CHARS:
            bad.append(f"{where}: {len(text)} chars > {MAX_QUOTE_CHARS}")
        if q.get("title") is not None and not isinstance(q["title"], str):
            bad.append(f"{where}: title {q['title']!r}")
        if q.get("date") is not None and not (isinstance(q["date"], str) and _DATE.match(q["date"])):
            bad.append(f"{where}: date {q['date']!r}")
        if not isinstance(q.get("score"), (int, float)) or isinstance(q.get("score"), bool):
            bad.append(f"{where}: score {q.get('score')!r}")
        try:
            src = sources.text(source)
        except (OSError, AssertionError, UnicodeDecodeError) as exc:
            bad.append(f"{where}: source {source!r} unreadable ({exc})")
            continue
        if not (0 <= start < end <= len(src)) or src[start:end] != text:
            bad.append(f"{where}: VERBATIM VIOLATION {source}[{start}:{end}]")
        hl = q.get("highlights")
        if not isinstance(hl, list):
            bad.append(f"{where}: highlights not a list")
            continue
        prev = start
        for h in hl:
            if not (isinstance(h, list) and len(h) == 2 and all(type(x) is int for x in h)
                    and start <= h[0] < h[1] <= end):
                bad.append(f"{where}: highlight {h!r} outside [{start}, {end})")
            elif h[0] < prev:  # overlapping or unsorted spans make renderers repeat or reorder text
                bad.append(f"{where}: highlight {h!r} overlaps or precedes the one before it")
            else:
                prev = h[1]
        for c in q.get("also_in") or []:
            try:
                other = sources.text(c["source"])
            except (OSError, AssertionError, UnicodeDecodeError, KeyError) as exc:
                bad.append(f"{where}: also_in source unreadable ({exc})")
                continue
            if not (0 <= c["start"] < c["end"] <= len(other)):
                bad.append(f"{where}: also_in span {c['start']}:{c['end']} outside {c['source']}")
    return bad
