"""Answer -> terminal text: highlights bold and citations dim on a TTY (rich), plain text otherwise.

Plain mode writes only the quoted text, fixed labels and citation fields, so piping the output
keeps it greppable and free of escape codes.
"""
from __future__ import annotations

from bot.answer import NO_ANSWER_LABEL, Answer, Quote


def citation(q: Quote) -> str:
    parts = [q.title or "(untitled)", q.date or "date unknown", q.source, f"¶{q.paragraph}"]
    line = " · ".join(parts)
    if q.also_in:
        line += " · also in " + ", ".join(f"{c.source} ¶{c.paragraph}" for c in q.also_in)
    return line


def _segments(q: Quote) -> list[tuple[str, bool]]:
    """(text, highlighted) pieces of the quote, in order."""
    out: list[tuple[str, bool]] = []
    pos = q.start
    for hs, he in sorted(q.highlights):
        if hs > pos:
            out.append((q.text[pos - q.start: hs - q.start], False))
        out.append((q.text[hs - q.start: he - q.start], True))
        pos = max(pos, he)
    if pos < q.end:
        out.append((q.text[pos - q.start:], False))
    return out


def render_plain(answer: Answer) -> str:
    if answer.status != "answered":
        return f"{NO_ANSWER_LABEL}\n{answer.reason or ''}".rstrip() + "\n"
    lines = []
    if answer.dated:
        lines.append("The sources differ by date (newest first):")
    for i, q in enumerate(answer.quotes, start=1 + answer.offset):
        prefix = f"[{q.date}] " if answer.dated and q.date else ""
        lines.append(f"{i}. {prefix}“{q.text}”")
        lines.append(f"   — {citation(q)}")
    return "\n".join(lines) + "\n"


def render_rich(answer: Answer):
    from rich.text import Text

    out = Text()
    if answer.status != "answered":
        out.append(NO_ANSWER_LABEL + "\n", style="bold")
        out.append((answer.reason or "") + "\n", style="dim")
        return out
    if answer.dated:
        out.append("The sources differ by date (newest first):\n", style="italic")
    for i, q in enumerate(answer.quotes, start=1 + answer.offset):
        out.append(f"{i}. ")
        if answer.dated and q.date:
            out.append(f"[{q.date}] ", style="cyan")
        out.append("“")
        for piece, bold in _segments(q):
            out.append(piece, style="bold" if bold else None)
        out.append("”\n")
        out.append(f"   — {citation(q)}\n", style="dim")
    return out
