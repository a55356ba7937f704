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
