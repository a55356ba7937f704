"""Answer -> terminal text: highlights bold and citations dim on a TTY (rich), plain text otherwise.

Plain mode writes only the quoted text, fixed labels and citation fields, so piping the output
keeps it greppable and free of escape codes.

Sources are untrusted: a scraped document may hold terminal escape sequences ("ESC [2J" clears the
screen, OSC sets the window title, bidi overrides reorder what is shown). Quotes stay verbatim in the
Answer (the JSON carries the exact slice); only what is written to a terminal goes through
`visible()`, which shows control characters as harmless symbols instead of obeying them.
"""
from __future__ import annotations

import re

from bot.answer import NO_ANSWER_LABEL, Answer, Quote

# C0 controls (except tab and newline) and DEL -> Unicode "control pictures" (U+2400 block: ESC
# shows as "␛"); C1 controls and bidi embeddings/overrides/isolates -> U+FFFD. "\r\n" (CRLF
# sources) is just a line break.
_CONTROL = re.compile(r"\r\n|[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _picture(match: re.Match[str]) -> str:
    c = match.group()
    if c == "\r\n":
        return "\n"
    if c < "\x20":
        return chr(0x2400 + ord(c))
    return "\u2421" if c == "\x7f" else "\ufffd"


def visible(text: str) -> str:
    """`text` safe to write to a terminal: same length in characters except CRLF -> LF."""
    return _CONTROL.sub(_picture, text)


def citation(q: Quote) -> str:
    parts = [q.title or "(untitled)", q.date or "date unknown", q.source, f"¶{q.paragraph}"]
    line = " · ".join(parts)
    if q.also_in:
        line += " · also in " + ", ".join(f"{c.source} ¶{c.paragraph}" for c in q.also_in)
    return visible(line)


def _segments(q: Quote) -> list[tuple[str, bool]]:
    """(text, highlighted) pieces of the quote, in order."""
    out: list[tuple[str, bool]] = []
    pos = q.start
    for hs, he in sorted(q.highlights):
        hs, he = max(hs, pos), min(he, q.end)  # overlapping spans must not print text twice
        if he <= hs:
            continue
        if hs > pos:
            out.append((q.text[pos - q.start: hs - q.start], False))
        out.append((q.text[hs - q.start: he - q.start], True))
        pos = he
    if pos < q.end:
        out.append((q.text[pos - q.start:], False))
    return out


def render_plain(answer: Answer) -> str:
    if answer.status != "answered":
        return f"{NO_ANSWER_LABEL}\n{visible(answer.reason or '')}".rstrip() + "\n"
    lines = []
    if answer.dated:
        lines.append("The sources differ by date (newest first):")
    for i, q in enumerate(answer.quotes, start=1 + answer.offset):
        prefix = f"[{q.date}] " if answer.dated and q.date else ""
        lines.append(f"{i}. {prefix}“{visible(q.text)}”")
        lines.append(f"   — {citation(q)}")
    return "\n".join(lines) + "\n"


def render_rich(answer: Answer):
    from rich.text import Text

    out = Text()
    if answer.status != "answered":
        out.append(NO_ANSWER_LABEL + "\n", style="bold")
        out.append(visible(answer.reason or "") + "\n", style="dim")
        return out
    if answer.dated:
        out.append("The sources differ by date (newest first):\n", style="italic")
    for i, q in enumerate(answer.quotes, start=1 + answer.offset):
        out.append(f"{i}. ")
        if answer.dated and q.date:
            out.append(f"[{q.date}] ", style="cyan")
        out.append("“")
        for piece, bold in _segments(q):
            out.append(visible(piece), style="bold" if bold else None)
        out.append("”\n")
        out.append(f"   — {citation(q)}\n", style="dim")
    return out
