"""The Block Kit renderer: escaping, highlights, citations, buttons and Slack's limits."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from hypothesis import given, settings, strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fakeslack import check_blocks  # noqa: E402

from bot.answer import Answer, Citation, Quote  # noqa: E402
from bot.render_slack import (  # noqa: E402
    ACTION_HELPFUL, ACTION_MORE, ACTION_NOT_HELPFUL, ACTION_SHARE, APOLOGY, BUTTON_VALUE_LIMIT, MAX_BLOCKS,
    SECTION_LIMIT, citation_line, parse_value, quote_sections, render_answer, render_apology,
)
from bot.slack_text import decode_entities  # noqa: E402


def quote(text: str, *, start: int = 100, highlights=(), **kw) -> Quote:
    base = dict(source="news/a.txt", title="Bridge reopens", date="2024-03-01", score=3.2, paragraph=4)
    base.update(kw)
    return Quote(text=text, start=start, end=start + len(text), highlights=tuple(highlights), **base)


def answer(*quotes: Quote, question: str = "when did the bridge reopen?", **kw) -> Answer:
    return Answer(question=question, status="answered", quotes=quotes, **kw)


def buttons(msg) -> dict[str, dict]:
    actions = [b for b in msg.blocks if b["type"] == "actions"]
    assert len(actions) == 1
    return {el["action_id"]: el for el in actions[0]["elements"]}


def unrender(section: str) -> str:
    """Undo the quote formatting: line prefixes, bold markers, entities (test text has no '*')."""
    lines = [re.sub(r"^> ?", "", line) for line in section.split("\n")]
    return decode_entities("\n".join(lines).replace("*", ""))


def test_hostile_quote_is_escaped_everywhere():
    hostile = "Attention <!channel> & <@U999|bob>: see <https://evil.example|this> now"
    msg = render_answer(answer(quote(hostile, title="<!here> memo", source="a&b<c>.txt"), question="<!everyone> hi"))
    # button values are never displayed (Slack returns them to us verbatim), so they are not escaped
    shown = json.loads(json.dumps(msg.blocks).replace('"value":', '"_value":'))
    everything = json.dumps([b for b in shown if b["type"] != "actions"]) + msg.text
    for raw in ("<!channel>", "<@U999", "<https://", "<!here>", "<!everyone>", "b<c>"):
        assert raw not in everything
    section = next(b for b in msg.blocks if b["type"] == "section")["text"]["text"]
    assert "&lt;!channel&gt; &amp; &lt;@U999|bob&gt;" in section
    assert unrender(section) == hostile  # verbatim after undoing only the escaping
    assert "&lt;!channel&gt;" in msg.text


def test_highlights_are_bold_and_whitespace_stays_outside_markers():
    text = "The bridge reopened on Monday after repairs."
    # highlight " reopened on Monday " including surrounding spaces (source offsets)
    msg = render_answer(answer(quote(text, start=50, highlights=[(50 + 10, 50 + 30)])))
    section = next(b for b in msg.blocks if b["type"] == "section")["text"]["text"]
    assert section == "> The bridge *reopened on Monday* after repairs."


def test_highlights_outside_the_quote_are_clipped():
    text = "abc def"
    sections = quote_sections(quote(text, start=10, highlights=[(0, 12), (16, 99)]))
    assert sections == ["> *ab*c de*f*"]


def test_citation_line_has_title_date_source_paragraph_and_also_in():
    q = quote("x", also_in=(Citation(source="b.txt", start=1, end=2, paragraph=7, title="Other", date="2024-03-02"),
                            Citation(source="c.txt", start=1, end=2, paragraph=0)))
    line = citation_line(q)
    assert line.startswith("Bridge reopens · 2024-03-01 · news/a.txt · ¶4")
    assert "also in Other · 2024-03-02 · b.txt · ¶7; c.txt" in line


def test_many_duplicates_are_summarised():
    q = quote("x", also_in=tuple(Citation(source=f"s{i}.txt", start=0, end=1, paragraph=1) for i in range(12)))
    assert citation_line(q).endswith("and 7 more")


def test_buttons_feedback_more_and_share():
    a = answer(quote("first"), quote("second"), more=True, offset=3)
    msg = render_answer(a, k=2, share=True)
    b = buttons(msg)
    assert list(b) == [ACTION_HELPFUL, ACTION_NOT_HELPFUL, ACTION_MORE, ACTION_SHARE]
    assert parse_value(b[ACTION_MORE]["value"]) == {"q": a.question, "k": 2, "o": 5}
    assert parse_value(b[ACTION_SHARE]["value"]) == {"q": a.question, "k": 2, "o": 3}
    fb = parse_value(b[ACTION_HELPFUL]["value"])
    assert fb["s"] == ["news/a.txt:100-105", "news/a.txt:100-106"] and fb["q"] == a.question
    assert "More passages (4–5)" in json.dumps(msg.blocks, ensure_ascii=False)
    # no More without more passages, no Share unless asked for
    assert list(buttons(render_answer(answer(quote("x"))))) == [ACTION_HELPFUL, ACTION_NOT_HELPFUL]


def test_no_answer_says_so_and_suggests_rephrasing():
    msg = render_answer(Answer.no_answer("what is <b>?", "nothing in the sources matched"), share=True)
    text = json.dumps([b for b in msg.blocks if b["type"] != "actions"])
    assert "No answer found in the sources." in msg.text and "rephras" in msg.text.lower()
    assert "rephras" in text.lower() and "nothing in the sources matched" in text
    assert "&lt;b&gt;" in text and "<b>" not in text
    assert list(buttons(msg)) == [ACTION_HELPFUL, ACTION_NOT_HELPFUL]
    assert check_blocks(msg.blocks) is None


def test_dated_answers_show_dates_newest_first_note():
    a = answer(quote("now 5", date="2024-05-01"), quote("then 3", date="2023-01-01"), dated=True)
    msg = render_answer(a)
    texts = [json.dumps(b, ensure_ascii=False) for b in msg.blocks]
    assert any("newest first" in t for t in texts)
    sections = [b["text"]["text"] for b in msg.blocks if b["type"] == "section"]
    assert sections[0].startswith("*2024-05-01*\n> now 5") and sections[1].startswith("*2023-01-01*\n")


def test_heavily_escaped_long_quote_is_split_under_the_section_limit():
    text = ("& < > " * 400)[:1000] + "\n" + "x" * 999
    q = quote(text, highlights=[(100, 1100)])
    sections = quote_sections(q)
    assert len(sections) >= 2 and all(len(s) <= SECTION_LIMIT for s in sections)
    assert "".join(unrender(s) + "\n" for s in sections).replace("\n", "") == text.replace("\n", "")
    msg = render_answer(answer(q))
    assert check_blocks(msg.blocks) is None


def test_fifty_block_cap_and_fallback_text():
    quotes = [quote("&" * 1000, start=i * 2000) for i in range(30)]  # 2 sections + 1 context each
    msg = render_answer(answer(*quotes))
    assert len(msg.blocks) <= MAX_BLOCKS and check_blocks(msg.blocks) is None
    assert "did not fit" in json.dumps(msg.blocks)
    assert msg.text.startswith("30 passages from the sources")


def test_long_question_keeps_button_values_within_limits():
    q = "why " * 1250  # 5,000 characters
    msg = render_answer(answer(quote("x"), question=q, more=True), share=True)
    b = buttons(msg)
    assert ACTION_MORE not in b and ACTION_SHARE not in b  # cannot round-trip exactly: left out
    assert all(len(el["value"]) <= BUTTON_VALUE_LIMIT for el in b.values())
    assert check_blocks(msg.blocks) is None


def test_apology_is_fixed_text():
    assert render_apology().text == APOLOGY


def test_parse_value_rejects_garbage():
    assert parse_value("not json") == {} and parse_value('["a"]') == {} and parse_value(None) == {}


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="*", blacklist_categories=("Cs",)), min_size=1,
               max_size=2500),
       st.lists(st.tuples(st.integers(0, 2600), st.integers(0, 300)), max_size=6),
       st.integers(200, 3000))
def test_property_sections_are_safe_bounded_and_verbatim(text, spans, limit):
    q = quote(text, start=0, highlights=[(s, s + n) for s, n in spans])
    sections = quote_sections(q, limit=limit)
    for s in sections:
        assert len(s) <= limit
        body = "\n".join(re.sub(r"^> ?", "", line) for line in s.split("\n"))
        assert "<" not in body and ">" not in body
        assert re.sub(r"&(amp|lt|gt);", "", body).count("&") == 0
    rebuilt = [unrender(s) for s in sections]
    # chunks are consecutive slices of the quote (a chunk boundary at a newline keeps it as a line break)
    assert "".join(rebuilt).replace("\n", "") == text.replace("\n", "")
