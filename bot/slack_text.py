"""Turn Slack message markup into the plain question a person typed.

Slack sends `<@U123>` for mentions, `<!channel>` for broadcasts, `<https://x|label>` for links and
escapes `&`, `<`, `>` as entities. None of that is part of the question: left in, `U123` and `lt`
would become query terms. Entities are decoded last, because a literal `<` the user typed arrives
as `&lt;` and must not be mistaken for markup.
"""
from __future__ import annotations

import re
import unicodedata

_MARKUP = re.compile(r"<([^<>]*)>")
_SPACE = re.compile(r"\s+")


def _replace(match: re.Match[str]) -> str:
    inner = match.group(1)
    target, _, label = inner.partition("|")
    if target.startswith(("@", "!")):
        # user mentions, @channel/@here/@everyone, user groups: never part of a question.
        # `<!date^...|fallback>` carries readable text in its label, keep that.
        return label if target.startswith("!date^") else " "
    if target.startswith("#"):
        return f"#{label}" if label else " "
    return label or target  # links: the label a person saw, else the URL itself


def decode_entities(text: str) -> str:
    """Slack escapes exactly these three; `&amp;` last so `&amp;lt;` stays the literal `&lt;`."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def normalize_question(text: str | None) -> str:
    """The question as plain text: markup removed, entities decoded, control characters and runs of
    whitespace collapsed to single spaces. Returns "" for a message that was only markup."""
    if not text:
        return ""
    text = _MARKUP.sub(_replace, text)
    text = decode_entities(text)
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") and c != "\u200d" else c
                   for c in text)
    return _SPACE.sub(" ", text).strip()


def escape_mrkdwn(text: str) -> str:
    """Escape the three characters Slack treats as control sequences, so a quoted document can never
    produce a mention, a broadcast (`<!channel>`) or a link: `&` first, then `<` and `>`."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


__all__ = ["normalize_question", "decode_entities", "escape_mrkdwn"]
