"""Console front ends as a user runs them: `python -m bot console` with piped stdin, `python -m bot
ask` in plain, --json and pseudo-terminal modes, all as real subprocesses on a real seeds index.
"""
from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from answer_schema import SourceCache, check_answer  # noqa: E402

from bot.answer import Answer, Citation, Quote  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
TIMEOUT = 120
ANSI = re.compile(r"\x1b")
QUESTION = "How many hostages are still held in Gaza?"
PAGED = "Who is the US envoy?"  # more passages than one page holds (checked below, not assumed)


def env(**extra: str) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("VERBATIM_") and k not in ("NO_COLOR", "FORCE_COLOR")}
    e["VERBATIM_QUIET_BUILD"] = "1"
    e.update(extra)
    return e


@pytest.fixture()
def db(seeds_db: Path) -> Path:
    """The session's seeds index (conftest.py): these tests only read it, with the seeds as corpus."""
    return seeds_db


def bot(db: Path, *args: str, stdin: str | None = None, corpus: Path = SEEDS) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args, "--db", str(db), "--corpus", str(corpus)],
                          input=stdin, capture_output=True, text=True, encoding="utf-8", timeout=TIMEOUT,
                          cwd=REPO, env=env())


def ask_json(db: Path, question: str) -> dict:
    proc = bot(db, "ask", "--json", question)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def citation_line(q: dict) -> str:
    line = f"{q['title'] or '(untitled)'} · {q['date'] or 'date unknown'} · {q['source']} · ¶{q['paragraph']}"
    if q.get("also_in"):
        line += " · also in " + ", ".join(f"{c['source']} ¶{c['paragraph']}" for c in q["also_in"])
    return line


def assert_clean(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    assert not ANSI.search(proc.stdout), "escape codes in output that is not a terminal"


# ---- console ----------------------------------------------------------------------------------
def test_console_session(db):
    catalogue = json.loads((SEEDS / "catalogue.json").read_text(encoding="utf-8"))
    seeds = {name: meta for name, meta in catalogue.items() if not name.startswith("_")}
    paged = ask_json(db, PAGED)
    assert paged["more"], "the paging question no longer pages; pick another"
    script = "\n".join([":help", ":sources", ":more", QUESTION, PAGED, ":more", ":bogus", ":quit",
                        "this line comes after :quit and must not be answered"]) + "\n"
    proc = bot(db, "console", stdin=script)
    assert_clean(proc)
    out = proc.stdout
    # :help
    for cmd in (":sources", ":more", ":help", ":quit"):
        assert cmd in out
    # :sources lists the five seeds with their catalogue dates
    for name, meta in seeds.items():
        line = next((ln for ln in out.splitlines() if ln.startswith(name)), None)
        assert line is not None, f"{name} missing from :sources"
        assert meta["date"] in line
    assert len(seeds) == 5
    # :more before any question
    assert "Ask a question first." in out
    # the question: a quote and its citation line, exactly as ask --json cites it
    first = ask_json(db, QUESTION)
    assert first["status"] == "answered"
    for q in first["quotes"]:
        assert f"“{q['text']}”" in out
        assert f"   — {citation_line(q)}" in out
    # :more continues the paged question's numbering after the first page
    k = len(paged["quotes"])
    assert re.search(rf"^{k + 1}\. ", out, re.M), f"no passage numbered {k + 1} after :more"
    assert "Unknown command :bogus" in out
    assert "this line comes after" not in out
    assert out.count("No answer found") == 0


def test_console_more_after_last_page_and_eof(db):
    """:more when nothing is left says so (no empty no-answer); EOF without :quit exits 0."""
    proc = bot(db, "console", stdin=f"{QUESTION}\n:more\n:more\n")
    assert_clean(proc)
    first = ask_json(db, QUESTION)
    if not first["more"]:
        assert proc.stdout.count("No more passages") == 2
        assert "No answer found" not in proc.stdout


def test_console_hostile_lines(db):
    """Escape sequences typed or piped into the console are echoed inert; blank and odd lines are fine."""
    lines = [":\x1b[2J\x1b]0;owned\x07", "", "   ", "\x00", "<!channel>", "*",
             "كم عدد الرهائن؟", ":quit"]
    proc = bot(db, "console", stdin="\n".join(lines) + "\n")
    assert_clean(proc)
    assert "Unknown command :␛[2J␛]0;owned␇" in proc.stdout
    assert proc.stdout.count("No answer found in the sources.") == 4


# ---- ask ------------------------------------------------------------------------------------
def test_ask_plain_quotes_and_citations(db):
    proc = bot(db, "ask", QUESTION)
    assert_clean(proc)
    a = ask_json(db, QUESTION)
    assert a["status"] == "answered" and a["quotes"]
    for i, q in enumerate(a["quotes"], start=1):
        assert re.search(rf"^{i}\. (\[{q['date']}\] )?“{re.escape(q['text'])}”$", proc.stdout, re.M)
        assert f"\n   — {citation_line(q)}\n" in proc.stdout
    # title · date · source · ¶N: four fields, the seeds are all dated
    cites = [ln for ln in proc.stdout.splitlines() if ln.startswith("   — ")]
    assert len(cites) == len(a["quotes"])
    assert all(re.fullmatch(r"   — .+ · \d{4}-\d{2}-\d{2} · \S+\.txt · ¶\d+( · also in .+)?", c) for c in cites), cites


def test_ask_plain_no_answer_and_usage_error(db):
    proc = bot(db, "ask", "qwrtpsdfg zxcvbnmlk")
    assert_clean(proc)
    assert proc.stdout.startswith("No answer found in the sources.\n")
    assert len(proc.stdout.strip().splitlines()) == 2  # the label and the reason
    empty = bot(db, "ask", "   ")
    assert empty.returncode == 2 and "Traceback" not in empty.stderr and "QUESTION" in empty.stderr
    for args in (("ask", "-k", "0", "x"), ("ask", "-k", "6", "x"), ("console", "-k", "0")):
        bad = bot(db, *args, stdin="")
        assert bad.returncode == 2 and "Traceback" not in bad.stderr and "-k" in bad.stderr, args


def _from_dict(d: dict) -> Answer:
    quotes = tuple(Quote(**{**q, "highlights": tuple(tuple(h) for h in q["highlights"]),
                            "also_in": tuple(Citation(**c) for c in q["also_in"])}) for q in d["quotes"])
    return Answer(**{**d, "quotes": quotes})


@pytest.mark.parametrize("question", [QUESTION, PAGED, "When did the weeklong cease-fire collapse?",
                                      "What is the weather in Paris?", "<@U1> 🙂 \u202e"])
def test_ask_json_round_trips(db, question):
    proc = bot(db, "ask", "--json", question)
    assert_clean(proc)
    lines = proc.stdout.splitlines()
    assert len(lines) == 1
    d = json.loads(lines[0])
    assert d["question"] == question
    assert not check_answer(d, SourceCache(SEEDS))
    again = _from_dict(d)
    assert again.to_dict() == d
    assert json.loads(again.to_json()) == d


# ---- terminals --------------------------------------------------------------------------------
def run_in_pty(argv: list[str], timeout: float = TIMEOUT) -> tuple[int, str]:
    """Run argv with stdout and stderr on a pseudo-terminal; return (exit status, what it wrote)."""
    master, slave = os.openpty()
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, cwd=REPO,
                                env=env(TERM="xterm-256color", COLUMNS="120", LINES="40"))
    finally:
        os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        status = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    return status, b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a POSIX pseudo-terminal")
def test_ask_on_a_terminal_is_bold_and_dim(db):
    status, out = run_in_pty([sys.executable, "-m", "bot", "ask", "--db", str(db), "--corpus", str(SEEDS), QUESTION])
    assert status == 0, out
    assert "Traceback" not in out
    assert "\x1b[1m" in out, "highlight not bold on a terminal"
    assert "\x1b[2m" in out, "citation not dim on a terminal"
    assert "004_e2ebf3ea3f42602b.txt" in out


@pytest.fixture()
def hostile_corpus(tmp_path) -> Path:
    """Four documents, one carrying terminal escape sequences and a bidi override in its text."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "evil.txt").write_text(
        "The negotiators met in Doha on Tuesday to discuss the \x1b[2J\x1b]0;owned\x07hostage deal "
        "and the \u202eceasefire\u202c terms, officials said.\n\n"
        "A second paragraph about the weather in Doha being hot and dry this week, officials said.\n",
        encoding="utf-8")
    for i in range(3):
        (corpus / f"filler{i}.txt").write_text(
            f"Filler document {i} about railways, bridges and the harbour budget for next year.\n\n"
            "Another paragraph on parliament elections, which were held in the spring.\n", encoding="utf-8")
    return corpus


def test_source_escape_codes_never_reach_the_terminal(tmp_path, hostile_corpus):
    """Quotes stay verbatim in JSON, but plain and terminal output show control characters inert."""
    db = tmp_path / "evil.db"
    q = "hostage deal negotiators Doha"
    js = bot(db, "ask", "--json", q, corpus=hostile_corpus)
    a = json.loads(js.stdout)
    assert a["status"] == "answered", a
    assert "\x1b[2J" in a["quotes"][0]["text"]  # the JSON keeps the exact slice
    assert not check_answer(a, SourceCache(hostile_corpus))
    plain = bot(db, "ask", q, corpus=hostile_corpus)
    assert_clean(plain)
    assert "␛[2J␛]0;owned␇hostage" in plain.stdout and "\u202e" not in plain.stdout
    if hasattr(os, "openpty"):
        status, out = run_in_pty([sys.executable, "-m", "bot", "ask", "--db", str(db), "--corpus",
                                  str(hostile_corpus), q])
        assert status == 0, out
        escapes = re.findall(r"\x1b[^m]*m|\x1b.?", out)
        assert escapes and all(re.fullmatch(r"\x1b\[[0-9;]*m", e) for e in escapes), escapes


def test_rendered_text_is_the_quote_whatever_the_highlights():
    """Overlapping, unsorted or out-of-range highlight spans never repeat, drop or reorder quote text."""
    from bot.render_console import _segments, render_plain

    text = "Talks stalled. Hostages remain. Envoys left."
    for spans in [(), ((100, 114),), ((115, 131), (100, 114)), ((100, 120), (110, 131)), ((100, 144), (100, 144)),
                  ((90, 105),), ((140, 200),)]:
        q = Quote(text=text, source="s.txt", start=100, end=100 + len(text), title=None, date=None, score=1.0,
                  highlights=spans, paragraph=1)
        assert "".join(piece for piece, _ in _segments(q)) == text, spans
        assert f"“{text}”" in render_plain(Answer(question="q", status="answered", quotes=(q,)))
