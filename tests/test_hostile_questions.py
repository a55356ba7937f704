"""The hostile-question catalogue (tests/hostile_questions.jsonl) run end to end through ONE
`python -m bot ask --jsonl` process on a real seeds index in a tmp dir.

Each catalogue line is {"id", "question", "expect", "why"[, "encode"]}: `expect` is "no_answer"
(non-English, gibberish, markup or noise only: the bot must abstain, not match noise), "answered"
(the control question) or "any" (a real question wrapped in noise: either outcome is fine, as long
as it is a valid Answer). `encode` says how the question's lone surrogates go on the wire:
"surrogatepass" (CESU-8 bytes, what a broken UTF-16 producer sends) or "surrogateescape" (raw
invalid bytes such as 0xff). The Slack tests reuse the same catalogue through the fake Slack.

Whatever the input: exactly one JSON line per input line, in order; each a valid Answer per
`../shared/eval/score.py` (tests/answer_schema.py), every quote an exact slice of the real seed
file with highlights inside it; nothing on stderr that looks like a crash; and the index is
untouched afterwards (the SQL-looking questions did nothing).
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from answer_schema import SourceCache, check_answer  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
CATALOGUE = Path(__file__).resolve().parent / "hostile_questions.jsonl"
TIMEOUT = 180


def load_catalogue() -> list[dict]:
    return [json.loads(line) for line in CATALOGUE.read_text(encoding="utf-8").splitlines() if line.strip()]


CASES = load_catalogue()

# Inputs that cannot live in the catalogue (size, line endings) but must go through the same process.
BIG_LINE = "How many hostages are still held in Gaza? " * 6000  # ~250 KB: over the 64 KiB line cap
EXTRAS = [
    {"id": "line-250kb", "raw": BIG_LINE.encode() + b"\n", "expect": "any"},
    {"id": "crlf", "raw": b"How many hostages are still held in Gaza?\r\n", "expect": "answered",
     "echo": "How many hostages are still held in Gaza?"},
    {"id": "blank-after-crlf", "raw": b"\r\n", "expect": "no_answer", "echo": ""},
]


def wire(case: dict) -> bytes:
    return case["question"].encode("utf-8", case.get("encode", "surrogatepass")) + b"\n"


def env() -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("VERBATIM_")}
    e["VERBATIM_QUIET_BUILD"] = "1"
    e["PYTHONIOENCODING"] = ""  # the CLI must choose UTF-8 for JSON itself
    return e


def snapshot(db: Path) -> dict:
    """Schema and content of every table except meta (whose build time a refresh may touch)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        tables = sorted(r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
        out = {"schema": sorted(conn.execute("SELECT type, name, sql FROM sqlite_master").fetchall(),
                                key=lambda r: (r[0], r[1]))}
        for t in tables:
            if t == "meta":
                continue
            h = hashlib.sha256()
            for row in sorted(map(repr, conn.execute(f'SELECT * FROM "{t}"'))):  # some are WITHOUT ROWID
                h.update(row.encode())
            out[t] = h.hexdigest()
        return out
    finally:
        conn.close()


def ask(db: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", "ask", "--db", str(db), "--corpus", str(SEEDS), *args],
                          input=stdin, capture_output=True, timeout=TIMEOUT, cwd=REPO, env=env())


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Build the index, snapshot it, run every hostile input through one --jsonl process."""
    from index.build import build_index

    db = tmp_path_factory.mktemp("hostile") / "i.db"
    build_index([SEEDS], db)
    before = snapshot(db)
    payload = b"".join(wire(c) for c in CASES) + b"".join(x["raw"] for x in EXTRAS)
    proc = ask(db, "--jsonl", stdin=payload)
    return {"db": db, "before": before, "proc": proc, "cases": CASES + EXTRAS}


def test_catalogue_is_well_formed():
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids)), "duplicate ids"
    assert len(CASES) >= 60
    for c in CASES:
        assert set(c) <= {"id", "question", "expect", "why", "encode"}, c["id"]
        assert c["expect"] in ("answered", "no_answer", "any"), c["id"]
        assert "\n" not in c["question"], f"{c['id']}: one question per stdin line"
        assert c.get("encode", "surrogatepass") in ("surrogatepass", "surrogateescape")
    lengths = {c["id"]: len(c["question"]) for c in CASES}
    assert lengths["long-5000"] == 5000 and len(next(c for c in CASES if c["id"] == "words-400")["question"].split()) == 400


def test_exit_status_and_stderr(run):
    proc = run["proc"]
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 0, err[-2000:]
    assert "Traceback" not in err and "Error" not in err, err[-2000:]


def test_one_valid_answer_per_line_in_order(run):
    proc, cases = run["proc"], run["cases"]
    text = proc.stdout.decode("utf-8")  # strict: the output must be valid UTF-8 whatever came in
    lines = text.split("\n")
    assert lines[-1] == "", "output must end with a newline"
    lines = lines[:-1]
    assert len(lines) == len(cases), f"{len(lines)} answers for {len(cases)} questions"
    # readers that split with str.splitlines() (score.py does) must see the same lines: U+2028,
    # U+2029 and NEL inside an echoed question or a quote are written as JSON escapes
    assert text.splitlines() == lines
    sources = SourceCache(SEEDS)
    failures = []
    for case, line in zip(cases, lines):
        a = json.loads(line)
        problems = check_answer(a, sources)
        if "question" in case:
            sent = wire(case)[:-1].decode("utf-8", "replace")
            if a.get("question") != sent:
                problems.append(f"echoed question {a.get('question')!r:.60} is not the line sent {sent!r:.60}")
        elif "echo" in case and a.get("question") != case["echo"]:
            problems.append(f"echoed {a.get('question')!r} != {case['echo']!r}")
        if case["expect"] != "any" and a.get("status") != case["expect"]:
            first = a["quotes"][0]["text"][:80] if a.get("quotes") else a.get("reason")
            problems.append(f"expected {case['expect']}, got {a.get('status')}: {first!r}")
        if problems:
            failures.append(f"{case['id']}: " + "; ".join(problems))
    assert not failures, "\n".join(failures)


def test_over_long_line_is_cut_not_fatal(run):
    """A 250 KB line is cut at the documented 64 KiB and still gets exactly one answer."""
    from bot.cli import MAX_LINE_BYTES

    lines = run["proc"].stdout.decode("utf-8").splitlines()
    big = json.loads(lines[len(CASES)])
    assert len(big["question"].encode("utf-8")) <= MAX_LINE_BYTES
    assert big["question"].startswith("How many hostages")


def test_index_untouched_and_still_answers(run):
    """The SQL- and FTS-looking questions changed nothing, and a normal question still answers."""
    db = run["db"]
    assert snapshot(db) == run["before"]
    proc = ask(db, "--json", "How many hostages are still held in Gaza?")
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    a = json.loads(proc.stdout.decode("utf-8"))
    assert a["status"] == "answered"
    assert not check_answer(a, SourceCache(SEEDS))
    assert snapshot(db) == run["before"]


def test_invalid_utf8_in_argv(tmp_path, run):
    """Undecodable bytes on the command line are echoed as U+FFFD, never as invalid UTF-8 output."""
    if sys.platform == "win32":  # pragma: no cover - argv is UTF-16 there
        pytest.skip("POSIX argv bytes")
    proc = subprocess.run([os.fsencode(sys.executable), b"-m", b"bot", b"ask", b"--json", b"--db",
                           os.fsencode(run["db"]), b"--corpus", os.fsencode(SEEDS), b"hostages \xff\xfe in Gaza"],
                          capture_output=True, timeout=TIMEOUT, cwd=REPO, env=env())
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    a = json.loads(proc.stdout.decode("utf-8"))
    assert a["question"] == "hostages \ufffd\ufffd in Gaza"
    assert not check_answer(a, SourceCache(SEEDS))


def test_service_takes_any_str_in_process(seeds_db):
    """Front ends that call the library directly (Slack) can hand it any str, surrogates included."""
    from bot.service import AnswerService

    service = AnswerService.open(seeds_db, [SEEDS], refresh=False)
    sources = SourceCache(SEEDS)
    try:
        for case in CASES:
            answer = service.ask(case["question"])
            a = json.loads(answer.to_json())
            problems = check_answer(a, sources)
            assert not problems, f"{case['id']}: {problems}"
            if case["expect"] != "any":
                assert a["status"] == case["expect"], f"{case['id']}: {a['status']} {a['reason']}"
    finally:
        service.close()


def test_answer_json_is_utf8_encodable_for_lone_surrogates(seeds_db):
    from bot.service import AnswerService

    service = AnswerService.open(seeds_db, [SEEDS], refresh=False)
    try:
        service.ask("\ud800 hostages in Gaza").to_json().encode("utf-8")
    finally:
        service.close()
