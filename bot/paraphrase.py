"""General news paraphrases: words a question uses for what a report says in other words.

Lexical retrieval cannot know that a "death toll" is reported as people "killed", or that
"troops" are "soldiers". No maintained thesaurus with bundled data installs here (WordNet
packages download their data at run time), so this is a small, general lexicon of common
news-reporting equivalences — not tied to any corpus or question. A synonym match counts as
weaker evidence than the question's own word (SYNONYM_CREDIT), and is shown the same way.
"""
from __future__ import annotations

SYNONYM_CREDIT = 0.8

GROUPS: tuple[tuple[str, ...], ...] = (
    ("death", "dead", "die", "kill", "fatality", "casualty", "toll"),
    ("hostage", "captive", "abductee"),
    ("kidnap", "abduct", "seize", "capture"),
    ("free", "release", "rescue", "liberate"),
    ("truce", "ceasefire", "armistice"),
    ("talk", "negotiation", "negotiate", "discussion"),
    ("mediate", "mediator", "broker", "intermediary"),
    ("deal", "agreement", "accord", "pact"),
    ("soldier", "troop", "army", "military", "force"),
    ("leader", "head", "chief"),
    ("say", "state", "tell", "announce", "declare"),
    ("aid", "assistance", "relief", "supplies"),
    ("attack", "assault", "raid", "strike", "airstrike"),
    ("prisoner", "detainee", "inmate"),
    ("withdraw", "withdrawal", "pullout", "retreat"),
    ("begin", "start", "launch"),
    ("end", "finish", "conclude", "halt", "stop"),
    ("accidentally", "mistakenly", "inadvertently", "unintentionally"),
    ("country", "nation", "state"),
    ("city", "town"),
    ("meet", "meeting", "talk"),
    ("threaten", "threat", "warn"),
    ("demand", "condition", "insist"),
    ("president", "administration"),
    ("envoy", "representative", "emissary"),
    ("spokesman", "spokeswoman", "spokesperson"),
    ("boss", "head", "chief", "director"),
    ("money", "fund", "funding"),
    ("wound", "injure", "injury"),
    ("collapse", "break", "fail"),
    ("stall", "stalemate", "impasse", "deadlock"),
    ("proposal", "offer", "plan"),
    ("vow", "pledge", "promise"),
)


def expansions(term_of) -> dict[str, frozenset[str]]:
    """term -> the other terms of its groups, through the index's own word->term mapping."""
    out: dict[str, set[str]] = {}
    for group in GROUPS:
        terms = {t for t in (term_of(w) for w in group) if t}
        for t in terms:
            out.setdefault(t, set()).update(terms - {t})
    return {t: frozenset(v) for t, v in out.items()}
