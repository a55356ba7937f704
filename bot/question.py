"""Questions as typed -> questions the index can take, with explicit, documented limits.

A question over MAX_QUESTION_CHARS is cut there (at a word boundary), and only the first
MAX_QUESTION_TERMS index terms are used (index.search): a 5,000-character paste still gets an
answer or a clear no-answer, fast, instead of a crash or a timeout.
"""
from __future__ import annotations

import re
import unicodedata

MAX_QUESTION_CHARS = 1000
_SPACE = re.compile(r"\s+")


def clean_question(text: str | None) -> str:
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text)
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp") and c not in "\u200d"
                   else c for c in text)
    text = _SPACE.sub(" ", text).strip()
    if len(text) > MAX_QUESTION_CHARS:
        cut = text.rfind(" ", 0, MAX_QUESTION_CHARS)
        text = text[: cut if cut > MAX_QUESTION_CHARS // 2 else MAX_QUESTION_CHARS]
    return text


# Words that shape a question but are not what it is about: "how MANY hostages", "so FAR",
# "right NOW", "tell me". Left in, they are scored like content ("many" is a rare word in news).
_FURNITURE = re.compile(
    r"\b(how (many|much)|so far|as of (now|today)|right now|at (the|this) (moment|point|time)|these days|"
    r"up to date|to date|(can|could|would) you|please|tell me|do you know|i want to know|i wonder|"
    r"still|currently|anymore|nowadays|at present|count|tally|toll|list|info|information|details|summary|overview|latest|updates?)\b",
    re.IGNORECASE,
)


def retrieval_text(question: str) -> str:
    """The question without phrasing words, for matching; `expected_type` still reads the original."""
    stripped = _FURNITURE.sub(lambda m: "how" if m.group(0).lower().startswith("how") else " ", question)
    return _SPACE.sub(" ", stripped).strip() or question


_QUOTED = re.compile(r"[\"“”]([^\"“”]{3,200})[\"“”]")


def quoted_phrases(question: str) -> list[str]:
    """Phrases the asker put in quotes: they want the passage that says exactly that."""
    return [m.group(1).strip() for m in _QUOTED.finditer(question) if len(m.group(1).split()) >= 2]
