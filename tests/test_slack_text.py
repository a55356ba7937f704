"""Questions as typed in Slack: markup stripped, entities decoded, junk characters removed."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from bot.slack_text import escape_mrkdwn, normalize_question


@pytest.mark.parametrize("raw, expected", [
    ("<@U0BOT> when did the bridge reopen?", "when did the bridge reopen?"),
    ("<@U0BOT|verbatim>   what   about <@U123>?", "what about ?"),
    ("<!channel> <!here> <!everyone> ceasefire", "ceasefire"),
    ("<!subteam^S123|@devs> hostages", "hostages"),
    ("see <https://example.com/a?b=1&amp;c=2|the report>", "see the report"),
    ("see <https://example.com>", "see https://example.com"),
    ("<mailto:a@b.c|a@b.c> talks", "a@b.c talks"),
    ("in <#C123|general> please", "in #general please"),
    ("a &lt;b&gt; &amp; c", "a <b> & c"),
    ("&amp;lt; stays literal", "&lt; stays literal"),
    ("'; DROP TABLE chunks; --", "'; DROP TABLE chunks; --"),
    ("tab\tnew\nline\x00nul\u202eRTL", "tab new line nul RTL"),
    ("<@U0BOT>", ""),
    ("", ""),
    (None, ""),
])
def test_normalize_question(raw, expected):
    assert normalize_question(raw) == expected


def test_escape_mrkdwn_order():
    assert escape_mrkdwn("a & <!channel> > &lt;") == "a &amp; &lt;!channel&gt; &gt; &amp;lt;"


@given(st.text(max_size=500))
def test_normalize_never_crashes_and_leaves_no_markup(text):
    out = normalize_question(text)
    assert out == out.strip() and "  " not in out
    assert "<@" not in out or "<@" in text.replace("&lt;", "<")  # only a literal the user typed
