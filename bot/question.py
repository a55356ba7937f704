"""Questions as typed -> questions the index can take, with explicit, documented limits.

A question over MAX_QUESTION_CHARS is cut there (at a word boundary), and only the first
MAX_QUERY_TERMS (64) index terms are used (index.search): a 5,000-character paste still gets an
answer or a clear no-answer, fast, instead of a crash or a timeout.
"""
from __future__ import annotations

import re
import unicodedata

MAX_QUESTION_CHARS = 1000
_SPACE = re.compile(r"\s+")

# Terminal escape sequences (CSI "ESC [ ... m", OSC "ESC ] ... BEL", two-character ESC x): pasted
# from a coloured terminal they would otherwise leave "[31mhostages" behind, an unknown word that
# makes the answer builder abstain.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]|\x9b[0-?]*[ -/]*[@-~]")
# Invisible characters that sit INSIDE words (zero-width space/joiners, word joiner, BOM, soft
# hyphen): removed, not spaced, so "hos\u200btages" is still "hostages".
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
# Slack markup pasted into the console (or sent by a front end that did not normalise it):
# mentions, broadcasts and channel references are not part of a question; a link reads as its
# label. Only unambiguous Slack forms are touched, so a question about "a < b" keeps its text.
_SLACK = re.compile(r"<([@!#][^<>]*|(?:https?|mailto):[^<>]*)>")


def _slack_markup(match: re.Match[str]) -> str:
    target, _, label = match.group(1).partition("|")
    if target.startswith("!date^"):
        return f" {label} "
    if target.startswith(("@", "!")):
        return " "
    if target.startswith("#"):
        return f" {label} " if label else " "
    return f" {label or target} "


def clean_question(text: str | None) -> str:
    """The question as the index should see it; the original is kept for display and echo.

    Total: any str (lone surrogates, control characters, escape sequences, Slack markup, any
    length) gives a single-spaced, stripped string of at most MAX_QUESTION_CHARS characters
    without control or surrogate characters, possibly empty.
    """
    if not text:
        return ""
    text = _ESCAPES.sub(" ", text)
    text = _SLACK.sub(_slack_markup, text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    text = text.translate(_ZERO_WIDTH)
    # lone surrogates (from JSON "\ud800" or undecodable bytes) make any later .encode() raise;
    # they are not text, so they become spaces like other non-characters
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp") else c for c in text)
    text = unicodedata.normalize("NFC", text)
    text = _SPACE.sub(" ", text).strip()
    if len(text) > MAX_QUESTION_CHARS:
        cut = text.rfind(" ", 0, MAX_QUESTION_CHARS)
        text = text[: cut if cut > MAX_QUESTION_CHARS // 2 else MAX_QUESTION_CHARS].rstrip()
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
