"""Boilerplate and page furniture: what must never be indexed, and the metadata hiding in it.

Scraped news carries paywall and JavaScript notices, "Advertisement" placeholders, comment
prompts, syndication footers ("The post … appeared first on …") and source lines. Quoting any of
them would be a wrong answer, so they never enter the index. The rules are general patterns of
page furniture (short lines, furniture vocabulary, syndication phrasing), not the seeds' lines.
Footers and bylines are not thrown away blindly: titles, publishers and dates found in them
become document metadata.
"""
from __future__ import annotations

import re
from itertools import islice
from dataclasses import dataclass, field

_WORDS = re.compile(r"[^\W_]+")

# Short stand-alone page furniture: ads, comment/share/subscribe prompts, navigation.
_FURNITURE = re.compile(
    r"^\W*(advertisement|advertising|sponsored( content)?|ad|promoted|"
    r"leave a (comment|reply)|add a comment|post a comment|\d+\s+comments?|comments?|reply|"
    r"(view|show|load|see) (all |more )?(\d+ )?(comments?|replies)|be the first to comment|"
    r"share( this)?( article| story| post| page)?( on \w+)?|(click to )?share on \w+|tweet|email|print|"
    r"subscribe( now| today)?|sign (up|in)( now)?|log ?in|register|"
    r"read more|continue reading|related( articles| stories| posts| content)?|recommended( for you)?|"
    r"skip to (main )?content|back to top|more from .{1,40}|image|photo|credit|listen to (this )?article.*)\W*$",
    re.IGNORECASE,
)

# Paywall / JavaScript / consent notices. Any cue in a short paragraph marks it as furniture.
_PAYWALL_CUES = re.compile(
    r"enable javascript|javascript (is )?(disabled|required)|(in|update) your browser|browser settings|"
    r"verify (your )?access|reader mode|trouble retrieving the article|already (a )?subscriber|"
    r"subscribe (to|for) (continue|read|unlimited|full)|to continue reading|create a free account|"
    r"you have reached (your|the) (free )?(article )?limit|paywall|ad ?blocker|disable your ad|"
    r"(accept|manage) (all )?cookies|cookie (policy|settings)|^want all of\b|thank you for your patience|"
    r"unlock (this|full) (article|story)|for all of the \w+",
    re.IGNORECASE,
)

_POST_FOOTER = re.compile(r"^\s*The post (?P<title>.+?) appeared first on (?P<publisher>.+?)\.?\s*$", re.IGNORECASE)
_ORIGINALLY = re.compile(
    r"^\s*This (article|story|post|piece) (was )?(originally|first) (appeared|published) (in|on|by) (?P<publisher>.+?)\.?\s*$",
    re.IGNORECASE,
)
_SOURCE_LINE = re.compile(r"^\s*(source|via|from)\s*:\s*(https?://)?[\w.-]+\.[a-z]{2,}(/\S*)?\s*$", re.IGNORECASE)
_CONTRIB = re.compile(r"^\s*[\w.'’ -]{3,80}\bcontributed (reporting|research|to this (report|article|story))\b.*$", re.IGNORECASE)
_REPORTING_FROM = re.compile(r"^\s*(reporting|reported) from [\w .,'’-]{2,60}$", re.IGNORECASE)
_BY = re.compile(r"^\s*by\s+[A-Z][\w.'’-]+(\s+[A-Z][\w.'’-]+){0,3}(\s*(,|and|&)\s*[A-Z][\w.'’-]+(\s+[A-Z][\w.'’-]+){0,3})*\s*$")
_NAMES = re.compile(r"^\s*[A-Z][\w.'’-]+(\s+[A-Z][\w.'’-]+){1,3}(\s*(,|and|&)\s*[A-Z][\w.'’-]+(\s+[A-Z][\w.'’-]+){1,3})*\s*$")
_DATE_PREFIX = re.compile(
    r"^\s*(date|published|posted|updated)\s*[:\s]\s*(?P<date>\d{4}-\d{2}-\d{2})(T[\d:.+-Z]*)?[\s|·-]*", re.IGNORECASE
)


@dataclass(frozen=True)
class Verdict:
    """What a paragraph is. `skip_prefix` chars at its start are metadata, not content."""

    kind: str  # "content" | "boilerplate" | "byline" | "dateline" | "footer"
    reason: str = ""
    meta: dict[str, str] = field(default_factory=dict)
    skip_prefix: int = 0


def word_count(text: str, cap: int | None = None) -> int:
    """Words in `text`, counting no further than `cap` (callers that compare with a threshold stop
    early: a long paragraph is "more than 40 words" after 41 of them)."""
    if cap is None:
        return len(_WORDS.findall(text))
    return sum(1 for _ in islice(_WORDS.finditer(text), cap))


def classify(text: str) -> Verdict:
    """Decide whether one paragraph is content, and pull metadata out of furniture."""
    stripped = text.strip()
    n = word_count(stripped, cap=41)  # every rule below asks at most "<= 40 words"
    if n == 0:
        return Verdict("boilerplate", "no words")
    m = _POST_FOOTER.match(stripped)
    if m and n <= 40:
        return Verdict("footer", "syndication footer", {"title": m["title"].strip(), "publisher": m["publisher"].strip()})
    m = _ORIGINALLY.match(stripped)
    if m and n <= 25:
        return Verdict("footer", "syndication footer", {"publisher": m["publisher"].strip()})
    if _SOURCE_LINE.match(stripped):
        return Verdict("footer", "source line", {"source_site": stripped.split(":", 1)[1].strip()})
    if n <= 12 and _FURNITURE.match(stripped):
        return Verdict("boilerplate", "page furniture")
    if n <= 40 and _PAYWALL_CUES.search(stripped):
        return Verdict("boilerplate", "paywall or browser notice")
    if n <= 25 and _CONTRIB.match(stripped):
        return Verdict("byline", "contributor line")
    if n <= 8 and _REPORTING_FROM.match(stripped):
        return Verdict("dateline", "dateline", {"dateline": stripped})
    if n <= 12 and not re.search(r"[.!?:;\"“”]$", stripped) and (_BY.match(stripped) or _NAMES.match(stripped)):
        return Verdict("byline", "byline", {"byline": stripped})
    m = _DATE_PREFIX.match(text)
    if m:
        return Verdict("content", "date prefix", {"date": m["date"]}, skip_prefix=m.end())
    return Verdict("content")


def looks_like_headline(text: str) -> bool:
    """A short first line without sentence punctuation reads as the document's title."""
    s = text.strip()
    return 2 <= word_count(s) <= 20 and not re.search(r"[.!?:;,]$", s) and s[:1].isupper()
