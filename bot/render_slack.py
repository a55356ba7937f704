"""Answer -> Slack Block Kit message. Pure functions: no Slack client, no I/O, easy to test.

Why every piece of document text goes through `escape_mrkdwn`: Slack reads `<!channel>`, `<@U123>`
and `<https://x|y>` in mrkdwn as pings and links. A quoted document must never ping anybody, so
`&`, `<` and `>` are escaped in every passage, title, citation and echoed question. The quotes
themselves are otherwise shown exactly as they are in the source (verbatim is the product).

Slack limits respected here: a section's text is at most 3000 characters (a long or heavily escaped
passage is split over several sections, bold re-opened across the split), a message at most 50
blocks, a button value at most 2000 characters; every message has a plain `text` fallback for
notifications and screen readers.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from bot.answer import NO_ANSWER_LABEL, Answer, Quote
from bot.slack_text import escape_mrkdwn

SECTION_LIMIT = 3000
CONTEXT_LIMIT = 3000
MAX_BLOCKS = 50
BUTTON_VALUE_LIMIT = 2000
FALLBACK_SNIPPET = 300
QUESTION_ECHO = 300
ALSO_IN_SHOWN = 5

ACTION_HELPFUL = "feedback_helpful"
ACTION_NOT_HELPFUL = "feedback_not_helpful"
ACTION_MORE = "more_passages"
ACTION_SHARE = "share_answer"
ACTIONS_BLOCK_ID = "verbatim_actions"

APOLOGY = "Sorry, something went wrong while looking that up. Please try again in a moment."
REPHRASE_HINT = ("Try rephrasing with the words the documents would use, or add a name, place or date.")
USAGE = "Ask me a question about the documents, for example: `/ask when was the bridge reopened?`"


@dataclass(frozen=True)
class SlackMessage:
    """What `say`/`respond`/`chat.postMessage` need: the fallback `text` and the `blocks`."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)

    def kwargs(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks} if self.blocks else {"text": self.text}


# -- quoted passages ------------------------------------------------------------------------------
def _bold_mask(quote: Quote) -> list[bool]:
    """Per character of the quote: inside a highlight? Highlights are source offsets; clip them."""
    mask = [False] * len(quote.text)
    for h_start, h_end in quote.highlights:
        lo, hi = max(h_start, quote.start) - quote.start, min(h_end, quote.end) - quote.start
        for i in range(max(lo, 0), min(hi, len(mask))):
            mask[i] = True
    return mask


def _render_line(chars: str, bold: list[bool]) -> str:
    """One line of a block quote: escaped text, bold runs wrapped in `*`, whitespace kept outside
    the markers (Slack ignores `* word*`)."""
    out: list[str] = []
    i = 0
    while i < len(chars):
        j = i
        while j < len(chars) and bold[j] == bold[i]:
            j += 1
        run = chars[i:j]
        if bold[i] and run.strip():
            core = run.strip()
            lead = run[: len(run) - len(run.lstrip())]
            trail = run[len(run.rstrip()):]
            out.append(f"{lead}*{escape_mrkdwn(core)}*{trail}")
        else:
            out.append(escape_mrkdwn(run))
        i = j
    return "".join(out)


def _render_chunk(text: str, bold: list[bool]) -> str:
    lines, pos = [], 0
    for line in text.split("\n"):
        rendered = _render_line(line, bold[pos: pos + len(line)])
        lines.append(f"> {rendered}" if rendered else ">")
        pos += len(line) + 1
    return "\n".join(lines)


# Rendered width of a character: escaped `&`, `<`, `>` grow, a newline becomes "\n> ". Looked up
# per character (quotes run to 1,000 characters), so it must not call escape_mrkdwn each time.
_WIDTH = {"&": len(escape_mrkdwn("&")), "<": len(escape_mrkdwn("<")), ">": len(escape_mrkdwn(">")), "\n": 3}


def quote_sections(quote: Quote, limit: int = SECTION_LIMIT) -> list[str]:
    """The quote as one or more block-quoted mrkdwn strings, each at most `limit` characters.

    The split is planned on an upper bound of the rendered length (escaped character widths, the
    `> ` prefix per line, two markers per bold run), so no chunk can exceed the limit and no
    escape sequence or bold marker is ever cut in half."""
    text, bold = quote.text, _bold_mask(quote)
    if not text:
        return [">"]
    chunks: list[tuple[int, int]] = []
    start, cost = 0, 2
    for i, c in enumerate(text):
        unit = _WIDTH.get(c, 1)
        if bold[i] and (i == start or not bold[i - 1] or text[i - 1] == "\n"):
            unit += 2
        if cost + unit > limit and i > start:
            chunks.append((start, i))
            start, cost = i, 2
            unit = _WIDTH.get(c, 1) + (2 if bold[i] else 0)
        cost += unit
    chunks.append((start, len(text)))
    return [_render_chunk(text[s:e], bold[s:e]) for s, e in chunks]


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def citation_line(quote: Quote) -> str:
    """`title · date · source · ¶paragraph`, then `also in …` for duplicates; escaped, ≤ 3000 chars."""
    parts = [escape_mrkdwn(quote.title)] if quote.title else []
    if quote.date:
        parts.append(escape_mrkdwn(quote.date))
    parts.append(escape_mrkdwn(quote.source))
    if quote.paragraph > 0:
        parts.append(f"¶{quote.paragraph}")
    line = " · ".join(parts)
    if quote.also_in:
        shown = []
        for c in quote.also_in[:ALSO_IN_SHOWN]:
            bits = [escape_mrkdwn(c.title or c.source)]
            if c.date:
                bits.append(escape_mrkdwn(c.date))
            if c.title:
                bits.append(escape_mrkdwn(c.source))
            if c.paragraph > 0:
                bits.append(f"¶{c.paragraph}")
            shown.append(" · ".join(bits))
        extra = len(quote.also_in) - len(shown)
        line += "\nalso in " + "; ".join(shown) + (f" and {extra} more" if extra > 0 else "")
    # truncating can never cut an entity in a way Slack would read as markup: a cut "&am" is just text
    return _truncate(line, CONTEXT_LIMIT)


# -- buttons --------------------------------------------------------------------------------------
def _fit_value(payload: dict[str, Any], key: str) -> str | None:
    """JSON button value ≤ 2000 chars; shrink `payload[key]` (a string) if needed, None if hopeless."""
    value = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    if len(value) <= BUTTON_VALUE_LIMIT:
        return value
    if key not in payload:
        return None
    over = len(value) - BUTTON_VALUE_LIMIT
    shrunk = dict(payload, **{key: payload[key][: max(len(payload[key]) - over - 8, 0)]})
    value = json.dumps(shrunk, ensure_ascii=False, separators=(",", ":"))
    return value if len(value) <= BUTTON_VALUE_LIMIT else None


def ask_value(question: str, k: int, offset: int) -> str | None:
    """Value of More/Share buttons: enough to ask the service again. None if the question is too
    long to round-trip exactly (then the button is left out rather than re-asking a cut question)."""
    value = json.dumps({"q": question, "k": k, "o": offset}, ensure_ascii=False, separators=(",", ":"))
    return value if len(value) <= BUTTON_VALUE_LIMIT else None


def feedback_value(answer: Answer) -> str:
    sources = [f"{q.source}:{q.start}-{q.end}" for q in answer.quotes][:10]
    payload = {"s": sources, "st": answer.status, "q": answer.question}
    return _fit_value(payload, "q") or json.dumps({"s": [], "st": answer.status, "q": ""})


def parse_value(value: str | None) -> dict[str, Any]:
    """Decode a button value; anything malformed (forged, truncated) becomes {}."""
    try:
        data = json.loads(value or "")
    except (ValueError, TypeError):
        return {}
    return data if isinstance(data, dict) else {}


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    b: dict[str, Any] = {"type": "button", "text": {"type": "plain_text", "text": text, "emoji": True},
                         "action_id": action_id, "value": value}
    if style:
        b["style"] = style
    return b


def _actions(answer: Answer, k: int, share: bool) -> dict[str, Any]:
    fb = feedback_value(answer)
    elements = [_button("👍 Helpful", ACTION_HELPFUL, fb), _button("👎 Not helpful", ACTION_NOT_HELPFUL, fb)]
    if answer.status == "answered" and answer.more:
        more = ask_value(answer.question, k, answer.offset + len(answer.quotes))
        if more:
            elements.append(_button("More", ACTION_MORE, more))
    if share:
        value = ask_value(answer.question, k, answer.offset)
        if value:
            elements.append(_button("Share in channel", ACTION_SHARE, value, style="primary"))
    return {"type": "actions", "block_id": ACTIONS_BLOCK_ID, "elements": elements}


# -- whole messages -------------------------------------------------------------------------------
def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _truncate(text, CONTEXT_LIMIT)}]}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _fallback(answer: Answer) -> str:
    if answer.status != "answered" or not answer.quotes:
        return f"{NO_ANSWER_LABEL} {REPHRASE_HINT}"
    q = answer.quotes[0]
    cite = " · ".join(p for p in (q.title, q.date, q.source) if p)
    n = len(answer.quotes)
    head = f"{n} passage{'s' if n != 1 else ''} from the sources"
    return escape_mrkdwn(f"{head}: “{_truncate(q.text, FALLBACK_SNIPPET)}” ({cite})")


def render_answer(answer: Answer, *, k: int = 3, share: bool = False, shared_by: str | None = None) -> SlackMessage:
    """The message for one answer page. `share` adds the Share button (for `/ask`'s private answer);
    `shared_by` (a user id) credits the person who shared it into the channel."""
    blocks: list[dict[str, Any]] = []
    head = f"*Q:* {escape_mrkdwn(_truncate(answer.question, QUESTION_ECHO))}" if answer.question else ""
    if shared_by:
        head = f"Shared by <@{escape_mrkdwn(shared_by)}>" + (f" · {head}" if head else "")
    if head:
        blocks.append(_context(head))
    if answer.status != "answered" or not answer.quotes:
        body = f"*{escape_mrkdwn(NO_ANSWER_LABEL)}* {REPHRASE_HINT}"
        blocks.append(_section(body))
        if answer.reason:
            blocks.append(_context(escape_mrkdwn(_truncate(answer.reason, 500))))
        blocks.append(_actions(answer, k, share=False))
        return SlackMessage(text=_fallback(answer), blocks=blocks)

    if answer.offset:
        blocks.append(_context(f"More passages ({answer.offset + 1}–{answer.offset + len(answer.quotes)})"))
    if answer.dated:
        blocks.append(_context("The sources differ over time; newest first:"))
    budget = MAX_BLOCKS - 1 - 1  # the actions block, and room for a "not shown" note
    shown = 0
    for quote in answer.quotes:
        sections = quote_sections(quote)
        if answer.dated and quote.date:
            # the date heading goes in its own line inside the first section when it fits
            first = f"*{escape_mrkdwn(quote.date)}*\n{sections[0]}"
            sections[0] = first if len(first) <= SECTION_LIMIT else sections[0]
        quote_blocks = [_section(s) for s in sections] + [_context(citation_line(quote))]
        if len(blocks) + len(quote_blocks) > budget:
            break
        blocks.extend(quote_blocks)
        shown += 1
    if shown < len(answer.quotes):
        blocks.append(_context(f"{len(answer.quotes) - shown} more passage(s) did not fit in one message."))
    blocks.append(_actions(answer, k, share))
    return SlackMessage(text=_fallback(answer), blocks=blocks)


def render_apology() -> SlackMessage:
    """The only thing a user sees when something fails: a fixed label, never exception text."""
    return SlackMessage(text=APOLOGY, blocks=[_section(APOLOGY)])


def render_usage() -> SlackMessage:
    return SlackMessage(text=USAGE, blocks=[_section(USAGE)])


def render_feedback_thanks(rating: str) -> str:
    return ("Thanks! Recorded as helpful." if rating == "helpful"
            else "Thanks! Recorded as not helpful; it helps us improve the sources.")


__all__ = [
    "SlackMessage", "render_answer", "render_apology", "render_usage", "render_feedback_thanks",
    "quote_sections", "citation_line", "parse_value", "ask_value", "feedback_value",
    "ACTION_HELPFUL", "ACTION_NOT_HELPFUL", "ACTION_MORE", "ACTION_SHARE", "APOLOGY", "REPHRASE_HINT",
    "SECTION_LIMIT", "MAX_BLOCKS", "BUTTON_VALUE_LIMIT",
]
