"""The Answer value object: the single contract between retrieval and every front end.

It carries no Slack or terminal types. `to_dict()` is exactly the JSON defined in
`../shared/eval/score.py` plus optional extra fields (`paragraph`, `doc_id`, `also_in`, `dated`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any, Literal

NO_ANSWER_LABEL = "No answer found in the sources."

Status = Literal["answered", "no_answer"]


def _flat(obj: Any) -> dict[str, Any]:
    """A dataclass's fields as a dict, values as they are. `dataclasses.asdict` deep-copies every
    value, which for these strings and numbers only costs time (a fifth of `--jsonl`'s output)."""
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


@dataclass(frozen=True)
class Citation:
    """Another place the same passage appears (a duplicate in another source)."""

    source: str
    start: int
    end: int
    paragraph: int
    title: str | None = None
    date: str | None = None
    doc_id: str | None = None


@dataclass(frozen=True)
class Quote:
    """A verbatim slice of one source: `source_text[start:end] == text` is checked before use."""

    text: str
    source: str
    start: int
    end: int
    title: str | None
    date: str | None  # "YYYY-MM-DD" or None
    score: float
    highlights: tuple[tuple[int, int], ...] = ()  # source offsets inside [start, end)
    paragraph: int = 0  # 1-based paragraph number in the source
    doc_id: str | None = None
    also_in: tuple[Citation, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = _flat(self)
        d["highlights"] = [list(h) for h in self.highlights]
        d["also_in"] = [_flat(c) for c in self.also_in]
        return d


@dataclass(frozen=True)
class Answer:
    question: str
    status: Status
    reason: str | None = None
    quotes: tuple[Quote, ...] = ()
    dated: bool = False  # quotes are a dated list, newest first, because the sources disagree over time
    more: bool = False   # more passages are available beyond these (Slack's "More" button)
    offset: int = 0      # how many passages earlier pages already showed

    @classmethod
    def no_answer(cls, question: str, reason: str) -> "Answer":
        return cls(question=question, status="no_answer", reason=reason)

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "status": self.status,
            "reason": self.reason,
            "quotes": [q.to_dict() for q in self.quotes],
            "dated": self.dated,
            "more": self.more,
            "offset": self.offset,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)


__all__ = ["Answer", "Citation", "Quote", "NO_ANSWER_LABEL", "Status"]
