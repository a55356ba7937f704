"""Property-based tests (hypothesis) for the tokenizer, question cleaning, sentence spans, the
chunker and the answer builder end to end.

The one invariant everything serves: offsets always slice the source exactly. Hypothesis runs
derandomized (the same examples every run, so a failure reproduces) with bounded example counts;
the whole file stays well under 30 s on the shared 2-core machine.
"""
from __future__ import annotations

import json
import os
import re
import string
import sys
import tempfile
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))
from answer_schema import MAX_QUOTE_CHARS, SourceCache, check_answer  # noqa: E402

from bot.answering import MAX_QUOTES  # noqa: E402
from bot.question import MAX_QUESTION_CHARS, clean_question  # noqa: E402
from index.analyzer import analyze, normalize, surface_words  # noqa: E402
from index.chunking import chunk_document  # noqa: E402
from index.sentences import sentence_spans  # noqa: E402

# PROPERTY_SCALE=N (on demand, e.g. 20) multiplies the example counts and draws fresh random
# examples instead of the fixed ones: a bug hunt, not a regular run.
SCALE = max(1, int(os.environ.get("PROPERTY_SCALE", "1")))
FAST = settings(derandomize=SCALE == 1, max_examples=150 * SCALE, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(derandomize=SCALE == 1, max_examples=12 * SCALE, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Any code point, lone surrogates included: text from JSON ("\ud800") or surrogateescape'd bytes.
ANY_TEXT = st.text(st.characters(codec=None, categories=None), max_size=300)
# "Sensible" text: what news prose is made of, where normalisation should be a fixed point.
PROSE_CHARS = string.ascii_letters + string.digits + " -',.:;!?\"()" + "’‘“”–—"


# ---- tokenizer ------------------------------------------------------------------------------
@FAST
@given(ANY_TEXT)
@example("\x00\x1b[31m\ud800\udfff\u202e\u2028")
@example("ﬃ ǰ İ ß ΐ ﬅ Ⅻ ㎒")
def test_analyze_is_total_and_terms_are_clean(text):
    terms = analyze(text)
    assert isinstance(terms, list)
    for t in terms:
        assert isinstance(t, str) and t, f"empty term from {text!r}"
        assert not any(c.isspace() for c in t), f"whitespace in term {t!r}"
        assert t == t.casefold(), f"term {t!r} is not case-folded"  # (Cherokee folds to upper case)


@FAST
@given(ANY_TEXT, ANY_TEXT)
def test_analyze_is_compositional_across_whitespace(a, b):
    """No token spans a space, so a chunk's terms never depend on its neighbours."""
    assume(not (b[:1] and unicodedata.combining(b[0])))  # a leading combining mark attaches to the space
    assert analyze(a + " " + b) == analyze(a) + analyze(b)


@FAST
@given(st.text(st.sampled_from(PROSE_CHARS), max_size=200))
def test_surface_words_are_a_fixed_point_on_prose(text):
    """Re-analysing the normalised words gives the same words (numbers, compounds, possessives).

    Known exception, left out here: a hyphen compound whose later part starts with a digit
    ("B-52s" -> b, 52s, b52s) keeps that part whole, while the same text standing alone splits
    ("52s" -> 52, s). Fixing it changes index terms (a TOKENIZER_VERSION bump), so it waits.
    """
    assume(not re.search(r"-\d", normalize(text)))
    words = surface_words(text)
    assert surface_words(" ".join(words)) == words


WORDS = st.text(st.sampled_from(string.ascii_lowercase), min_size=1, max_size=10)


@FAST
@given(WORDS, WORDS)
def test_compound_forms_share_a_term(before, after):
    """"cease-fire" meets both "ceasefire" and "cease fire" whatever surrounds it."""
    hyphen = set(analyze(f"{before} cease-fire {after}"))
    assert set(analyze("ceasefire")) <= hyphen
    assert set(analyze("cease fire")) <= hyphen
    assert set(analyze(f"{before} Cease‐Fire {after}")) == hyphen  # capitals, U+2010 hyphen


def test_cease_fire_query_meets_corpus_compound(seeds_db):
    """The spaced form reaches the joined term through the index's vocabulary (query side)."""
    from index.search import Searcher

    s = Searcher.open(seeds_db)
    try:
        joined = set(analyze("ceasefire"))
        assert joined <= set(s.analyze_query("cease fire").terms)
        assert joined <= set(s.analyze_query("cease-fire").terms)
    finally:
        s.close()


@FAST
@given(st.integers(min_value=1000, max_value=10**15))
def test_thousands_separators(n):
    assert analyze(f"{n:,}") == analyze(str(n)) == [str(n)]
    assert analyze(f"about {n:,} people") == analyze(f"about {n} people")


# ---- question cleaning ----------------------------------------------------------------------
@FAST
@given(st.text(st.characters(codec=None, categories=None), max_size=3000))
@example("x" * 5000)
@example(("word " * 1200).strip())
def test_clean_question_is_total_and_bounded(text):
    q = clean_question(text)
    assert len(q) <= MAX_QUESTION_CHARS
    assert q == q.strip() and "  " not in q
    assert not any(unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") for c in q), repr(q)
    q.encode("utf-8")  # no lone surrogates left
    assert clean_question(q) == q or "&" in q or "<" in q  # stable, except entity-decoded markup


# ---- sentence spans -------------------------------------------------------------------------
SENTENCE_BITS = st.sampled_from([
    "Mr. Smith said so.", "It rose 3.5 percent.", "Talks stalled on Dec. 1 in Doha.", "Why?", "No!",
    "“We will,” he said.", "The U.S. envoy left.", "i.e. nothing", "…and then", "1,200 people",
    "", " ", "  ", "\n", "\n\n", "\r\n", "\t", "\u00a0", "\u2028", "-", "•", "e.g.", "(see above).",
    "Gaza’s", "東京では。", "مرحبا.", "🙂.",
])


@FAST
@given(st.lists(SENTENCE_BITS | st.text(max_size=40), max_size=25).map(" ".join))
@example("a" * 25_000)  # over the pysbd limit: the regex fallback
@example(". . . ! ? \n\n ...")
def test_sentence_spans_sorted_disjoint_inside_trimmed(text):
    spans = sentence_spans(text)
    pos = 0
    for s, e in spans:
        assert pos <= s < e <= len(text), (s, e, pos)
        assert not text[s].isspace() and not text[e - 1].isspace(), repr(text[s:e])
        pos = e
    # nothing is lost: every visible character lies in some sentence
    covered = set()
    for s, e in spans:
        covered.update(range(s, e))
    lost = [i for i, c in enumerate(text) if not c.isspace() and i not in covered]
    assert not lost, f"characters outside every sentence: {[text[i] for i in lost][:10]}"


# ---- chunker ------------------------------------------------------------------------------
WORD = st.sampled_from(["the", "talks", "Gaza", "cease-fire", "hostages", "1,200", "Qatar’s", "“deal”",
                        "said", "on", "Tuesday.", "Mr.", "naïve", "東京", "🙂", "x" * 120, "end.", "and",
                        "officials", "envoy", "Dec. 1,", "U.S.", "—", "(ADVERTISEMENT)", "Advertisement"])
PARAGRAPH = st.lists(WORD, min_size=1, max_size=60).map(" ".join)
SEPARATOR = st.sampled_from(["\n\n", "\n", "\r\n\r\n", "\r\n", "\n \t\n", "\n\n\n\n", "\u2028", " \n\n "])


@st.composite
def documents(draw):
    paras = draw(st.lists(PARAGRAPH, min_size=1, max_size=12))
    seps = draw(st.lists(SEPARATOR, min_size=len(paras), max_size=len(paras)))
    lead = draw(st.sampled_from(["", "\n", "  ", "\ufeff", "Title Line\n\n"]))
    return lead + "".join(p + s for p, s in zip(paras, seps))


@FAST
@given(documents(), st.integers(min_value=40, max_value=1200))
def test_chunks_are_exact_ordered_disjoint_and_bounded(text, max_chars):
    result = chunk_document(text, max_chars=max_chars)
    pos, para = 0, 0
    for c in result.chunks:
        assert text[c.start:c.end] == c.text
        assert pos <= c.start < c.end, "chunks out of order or overlapping"
        assert c.text == c.text.strip()
        assert c.paragraph >= para
        pos, para = c.end, c.paragraph
        if len(c.text) > max_chars:
            assert not any(ch.isspace() for ch in c.text), f"{len(c.text)} > {max_chars} and breakable"
    for a, b, _reason in result.dropped:
        assert 0 <= a <= b <= len(text)


# ---- answer builder end to end ------------------------------------------------------------
VOCAB = ("hostages ceasefire cease-fire negotiators envoy Qatar Egypt Gaza Israel Hamas talks deal truce "
         "families released captive soldiers ministers parliament election budget harbour bridge railway "
         "weather drought farmers harvest wheat prices inflation bank museum painting orchestra concert "
         "Zürich naïve café 1,200 129 2024 Tuesday January officials said agreed rejected proposal").split()
FUNCTION = "the a of in on and to was were is that with by for from at".split()


@st.composite
def sentence(draw):
    words = draw(st.lists(st.sampled_from(VOCAB + FUNCTION), min_size=3, max_size=28))
    words[0] = words[0][:1].upper() + words[0][1:]
    text = " ".join(words)
    quoted = draw(st.sampled_from(["", "“", "‘", "\""]))
    if quoted and len(words) > 4:
        close = {"“": "”", "‘": "’", "\"": "\""}[quoted]
        text = f"{quoted}{text},{close} {draw(st.sampled_from(['he said', 'she said', 'officials said']))}"
    return text + draw(st.sampled_from([".", ".", "?", "!", "…", ""]))


@st.composite
def corpus_files(draw):
    """4-6 documents: .txt and .md, blank-line or one-per-line paragraphs, LF or CRLF, a shared passage."""
    n = draw(st.integers(min_value=4, max_value=6))
    shared = " ".join(draw(st.lists(sentence(), min_size=2, max_size=3)))
    files: dict[str, str] = {}
    for i in range(n):
        paras = [" ".join(draw(st.lists(sentence(), min_size=1, max_size=8)))
                 for _ in range(draw(st.integers(min_value=1, max_value=7)))]
        if i < 2:
            paras.insert(draw(st.integers(0, len(paras))), shared)  # the same passage in two sources
        sep = draw(st.sampled_from(["\n\n", "\n", "\r\n\r\n", "\n\n\n", "\n \n"]))
        body = sep.join(paras) + draw(st.sampled_from(["", "\n", "\r\n"]))
        if draw(st.booleans()):
            day = draw(st.integers(1, 28))
            files[f"doc{i}.md"] = f"---\ntitle: Report {i}\ndate: 2024-0{1 + i % 9}-{day:02d}\n---\n\n{body}"
        else:
            files[f"sub/doc{i}.txt" if i % 2 else f"doc{i}.txt"] = body
    return files


@st.composite
def questions(draw, files):
    corpus_words = " ".join(files.values()).split()
    out = []
    for _ in range(8):
        kind = draw(st.sampled_from(["corpus", "corpus", "corpus", "noise", "mixed", "sentence"]))
        if kind == "sentence":
            text = draw(st.sampled_from(sorted(files.values())))
            spans = sentence_spans(text) or ((0, len(text)),)
            s, e = draw(st.sampled_from(spans))
            q = text[s:e]
        else:
            picked = draw(st.lists(st.sampled_from(corpus_words), min_size=1, max_size=7)) if kind != "noise" else []
            if kind != "corpus":
                picked += draw(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=3))
            prefix = draw(st.sampled_from(["", "How many ", "When did ", "Who ", "Where is ", "What did "]))
            q = prefix + " ".join(picked) + draw(st.sampled_from(["?", "", " ?"]))
        out.append(q)
    return out


@SLOW
@given(st.data())
def test_every_quote_is_an_exact_slice_of_its_file(data):
    from bot.service import AnswerService
    from index.build import build_index

    files = data.draw(corpus_files(), label="corpus")
    qs = data.draw(questions(files), label="questions")
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        for name, text in files.items():
            path = corpus / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode("utf-8"))
        db = Path(tmp) / "index.db"
        build_index([corpus], db)
        service = AnswerService.open(db, [corpus], refresh=False)
        sources = SourceCache(corpus)
        try:
            for q in qs:
                for k in (3, MAX_QUOTES):
                    answer = service.ask(q, k=k)
                    a = json.loads(answer.to_json())
                    problems = check_answer(a, sources)
                    assert not problems, f"{q!r} (k={k}): {problems}"
                    assert len(a["quotes"]) <= MAX_QUOTES
                    assert all(len(x["text"]) <= MAX_QUOTE_CHARS for x in a["quotes"])
                    if answer.more:  # the next page is valid too
                        nxt = json.loads(service.ask(q, k=k, offset=k).to_json())
                        assert not check_answer(nxt, sources), f"{q!r} page 2"
        finally:
            service.close()


def test_quotes_stay_under_the_limit_with_large_chunks(tmp_path):
    """`python -m index build --max-chars 3000` is allowed; quotes must still be at most 1,000 chars."""
    from bot.service import AnswerService
    from index.build import BuildParams, build_index

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    sentence = "The harbour authority said that " + ", ".join(
        f"berth {i} handled {i * 7} containers of wheat and timber" for i in range(40)) + "."
    (corpus / "port.txt").write_text(f"Port report.\n\n{sentence} The bridge reopened on Tuesday.\n", encoding="utf-8")
    for i in range(3):
        (corpus / f"other{i}.txt").write_text(
            f"Document {i} about railway budgets and parliament elections in the spring of 2024.\n\n"
            "Farmers reported a drought and high wheat prices this year.\n", encoding="utf-8")
    db = tmp_path / "i.db"
    build_index([corpus], db, params=BuildParams(max_chars=3000))
    service = AnswerService.open(db, [corpus], refresh=False)
    try:
        a = json.loads(service.ask("How many containers did berth 12 handle at the harbour?").to_json())
    finally:
        service.close()
    assert a["status"] == "answered"
    assert not check_answer(a, SourceCache(corpus))
