"""Fault injection for the index (issue 6, "Corpora and the index file"): hostile corpora, kill -9 and
Ctrl-C mid-build, two builds at once, corrupt and outdated index files, a full disk and a folder
that cannot be written. Real processes, real signals, real SQLite files; nothing of ours is mocked.

The promise under test: a build never loses the previous index (a failed or killed build leaves it
exactly as it was), bad inputs are named and skipped while every good document is indexed, and an
unusable index file is never served silently: it is refused with a named error, or set aside and
rebuilt with a log line that says so.
"""
from __future__ import annotations

import json
import logging
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from indexkit import (  # noqa: E402
    NEWS_CORPUS, REPO, cli_env, generate_corpus, index_cmd, run_index, wait_until_writing, write_corpus,
    write_locked,
)

from index.build import build_index  # noqa: E402
from index.errors import IndexCorruptError, IndexNotBuiltError, IndexOutdatedError  # noqa: E402
from index.search import Searcher  # noqa: E402

CORPUS = {
    **NEWS_CORPUS,
    "library.html": "<p>The city library extended its opening hours on weekends.</p>"  # no <title>: bare HTML
                    "<p>Volunteers catalogued ten thousand rare maps from the archive.</p>",
}
QUERIES = ["harbor bridge", "steel cables", "apple harvest frost", "comet Jupiter", "library maps"]


# ---------------------------------------------------------------------------------------------
# helpers


def unprivileged_prefix() -> list[str]:
    """Run a child that file permissions apply to. As root, chmod does not stop reads or writes
    (CAP_DAC_OVERRIDE), so drop every capability with `setpriv` (the approach of test_ingest.py)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without `setpriv`: permissions cannot be enforced on root")
    probe = subprocess.run([setpriv, "--bounding-set=-all", "--inh-caps=-all", "--", "true"], capture_output=True,
                           text=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip(f"running as root and cannot drop capabilities here: {probe.stderr.strip()[-200:]}")
    return [setpriv, "--bounding-set=-all", "--inh-caps=-all", "--"]


def snapshot(db: Path, queries: list[str] = QUERIES) -> tuple[list[str], list[list[tuple]]]:
    """Documents and answers of the index at db: what "intact" is checked against."""
    s = Searcher.open(db)
    try:
        docs = sorted(d["doc_id"] for d in s.documents())
        return docs, [[(h.doc_id, h.start, h.end, h.text, round(h.score, 9)) for h in s.search(q, 5)] for q in queries]
    finally:
        s.close()


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "corpus", CORPUS)


@pytest.fixture()
def db(tmp_path: Path, corpus: Path) -> Path:
    path = tmp_path / "index.db"
    assert build_index([corpus], path).documents_total == 4
    return path


# ---------------------------------------------------------------------------------------------
# a hostile corpus


def test_hostile_corpus_names_every_bad_input_and_indexes_every_good_document(tmp_path: Path) -> None:
    c = tmp_path / "hostile"
    huge_line = " ".join(f"Paragraph word{i % 997} keeps going." for i in range(110_000))  # ~3 MB, one line
    assert len(huge_line.encode()) > 3_000_000 and "\n" not in huge_line
    write_corpus(c, {
        **CORPUS,
        "latin1.txt": "caf\xe9 au lait".encode("latin-1"),
        "binary.txt": bytes(range(256)) * 8,
        "empty.txt": b"",
        "huge.txt": huge_line,
        "feed.jsonl": json.dumps({"id": "j1", "text": "The first good record about ferries."}) + "\n"
                      + '{"id": "j2", "text": "unterminated\n'
                      + json.dumps({"text": "a record without an id"}) + "\n"
                      + json.dumps({"id": "j4", "text": "The fourth line is a good record about trams."}) + "\n",
        "secret.txt": "Readable only by its owner.\n",
    })
    (c / "loop").symlink_to(c)
    (c / "secret.txt").chmod(0o000)
    db = tmp_path / "hostile.db"
    try:
        out = run_index("build", "--db", str(db), "--json", str(c), prefix=unprivileged_prefix(), timeout=180)
    finally:
        (c / "secret.txt").chmod(0o644)
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr
    report = json.loads(out.stdout)
    named = {(Path(p["path"]).name, p["line"]): p["reason"] for p in report["problems"]}
    assert set(named) == {("latin1.txt", 1), ("binary.txt", 1), ("empty.txt", None), ("feed.jsonl", 2),
                          ("feed.jsonl", 3), ("secret.txt", None), ("loop", None)}
    assert named[("latin1.txt", 1)].startswith("invalid UTF-8 at byte offset 3")
    assert named[("binary.txt", 1)].startswith("binary file")
    assert named[("empty.txt", None)] == "empty file"
    assert named[("feed.jsonl", 2)].startswith("invalid JSON")
    assert "id" in named[("feed.jsonl", 3)]
    assert named[("secret.txt", None)] == "unreadable: permission denied"
    assert named[("loop", None)].startswith("symlink loop")
    assert report["skipped"] == 7 and report["warnings"] == []
    # each skip is also one line on stderr, with the line number where there is one
    for (name, line), reason in named.items():
        where = f"{c / name}:{line}" if line else str(c / name)
        assert f"skipped {where}: {reason}" in out.stderr.splitlines()

    docs, _ = snapshot(db)
    assert docs == ["harbor.txt", "huge.txt", "j1", "j4", "library.html", "notes/comet.txt", "orchard.md"]
    s = Searcher.open(db)
    try:
        hits = s.search("word996 keeps going", 3)
        assert hits and all(h.doc_id == "huge.txt" for h in hits)
        assert all(huge_line[h.start:h.end] == h.text for h in hits)
        assert [h.doc_id for h in s.search("trams", 3)] == ["j4"]
    finally:
        s.close()


# ---------------------------------------------------------------------------------------------
# kill -9 and Ctrl-C mid-build


def test_kill_9_mid_build_leaves_the_previous_index_intact(tmp_path: Path, db: Path, corpus: Path) -> None:
    before = snapshot(db)
    # SQLite spills uncommitted pages to the WAL only when its page cache (2 MB) fills: the corpus must
    # be large enough that this happens well before the commit, or the kill could land after it
    big = generate_corpus(tmp_path / "big", 8000)
    proc = subprocess.Popen(index_cmd("build", "--db", str(db), str(big)), cwd=str(REPO), env=cli_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_until_writing(db, proc, wal_bytes=512 * 1024)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert Path(str(db) + "-wal").exists()  # the dead build's uncommitted pages are still on disk

    assert snapshot(db) == before                                    # same documents, same answers
    stats = json.loads(run_index("stats", "--json", "--db", str(db)).stdout)
    assert stats["documents"] == 4
    check = sqlite3.connect(str(db))
    assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    check.close()

    # and the next build works incrementally from the intact state (the dead build left no trace)
    (corpus / "ferry.txt").write_text("A new ferry route opens to the island next summer.\n")
    out = run_index("build", "--db", str(db), str(corpus))
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("1 documents indexed (1 chunks); 4 unchanged; 0 removed; 0 skipped; 5 documents")
    s = Searcher.open(db)
    try:
        assert [h.doc_id for h in s.search("ferry island route", 3)] == ["ferry.txt"]
        assert s.search("genmark1234", 3) == []
    finally:
        s.close()


def test_ctrl_c_mid_build_exits_130_and_keeps_the_previous_index(tmp_path: Path, db: Path) -> None:
    before = snapshot(db)
    big = generate_corpus(tmp_path / "big", 4000, seed=3)  # seconds of building: the 0.3 s wait stays inside it
    proc = subprocess.Popen(index_cmd("build", "--db", str(db), str(big)), cwd=str(REPO), env=cli_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until_writing(db, proc)
        time.sleep(0.3)  # well inside the transaction: this build takes seconds
        assert proc.poll() is None and write_locked(db)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "interrupted: the previous index is intact"
    assert "Traceback" not in err
    assert snapshot(db) == before
    assert not write_locked(db)


# ---------------------------------------------------------------------------------------------
# two builds at once


def test_two_builds_at_once_leave_a_consistent_index(tmp_path: Path, corpus: Path) -> None:
    generate_corpus(corpus / "wire", 300, seed=5)
    db = tmp_path / "shared.db"
    procs = [subprocess.Popen(index_cmd("build", "--db", str(db), str(corpus)), cwd=str(REPO), env=cli_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = []
    try:
        for p in procs:
            out, err = p.communicate(timeout=180)
            results.append((p.returncode, out, err))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    for code, out, err in results:
        assert "Traceback" not in err
        assert code == 0 or (code == 2 and "another build is writing" in err), (code, out, err)
    finished = [out for code, out, _ in results if code == 0]
    assert finished, results
    assert any(out.startswith("304 documents indexed") for out in finished)
    # the loser, if it ran after the winner, found nothing to do
    assert all(out.startswith(("304 documents indexed", "0 documents indexed (0 chunks); 304 unchanged"))
               for out in finished)

    fresh = tmp_path / "fresh.db"
    build_index([corpus], fresh)
    queries = QUERIES + ["genmark17", "genmark250 wire"]
    assert snapshot(db, queries) == snapshot(fresh, queries)
    check = sqlite3.connect(str(db))
    assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    check.close()


# ---------------------------------------------------------------------------------------------
# corrupt and outdated index files


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _garbage(path: Path) -> None:
    path.write_bytes(random.Random(4).randbytes(path.stat().st_size))


def _not_sqlite(path: Path) -> None:
    path.write_text("this is a text file, not an index\n" * 100)


CORRUPTIONS = {"truncated": _truncate, "garbage": _garbage, "not-sqlite": _not_sqlite}


@pytest.mark.parametrize("damage", sorted(CORRUPTIONS))
def test_corrupt_index_is_refused_then_set_aside_and_rebuilt(damage: str, tmp_path: Path, db: Path, corpus: Path,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    from bot.service import AnswerService

    before = snapshot(db)
    assert not Path(str(db) + "-wal").exists()  # the build checkpointed: the file alone is the index
    CORRUPTIONS[damage](db)
    damaged = db.read_bytes()
    with pytest.raises(IndexCorruptError) as err:
        Searcher.open(db)
    assert str(db) in str(err.value) and "python -m index build" in str(err.value)

    out = run_index("search", "--db", str(db), "harbor")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "unreadable" in out.stderr

    caplog.set_level(logging.INFO, logger="bot.service")
    service = AnswerService.open(db, [corpus])
    try:
        assert snapshot(db) == before
        assert [h.doc_id for h in service.searcher.search("steel cables", 1)] == ["harbor.txt"]
    finally:
        service.close()
    bad = Path(str(db) + ".bad")
    assert bad.read_bytes() == damaged  # kept for inspection, never reused
    logged = [r for r in caplog.records if r.name == "bot.service" and r.levelno >= logging.WARNING]
    assert any("unreadable" in r.getMessage() and "rebuilding" in r.getMessage() and ".bad" in r.getMessage()
               for r in logged), [r.getMessage() for r in caplog.records]


def test_damage_met_only_by_a_query_is_one_line_and_no_crash(tmp_path: Path, db: Path, corpus: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    """A bad page that opening the index does not read (here: the postings table's page): the CLI
    prints one line naming the rebuild; the service raises its named error (front ends show a fixed
    apology, never a false "no answer in the sources"); `ask --jsonl` still writes one clear line."""
    from bot.service import UNAVAILABLE_REASON, AnswerService, AnswerUnavailableError

    conn = sqlite3.connect(str(db))
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'postings'").fetchone()[0]
    conn.close()
    with open(db, "r+b") as f:
        f.seek((root - 1) * page_size)
        f.write(random.Random(5).randbytes(page_size))
    out = run_index("search", "--db", str(db), "steel cables")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "unreadable" in lines[0] and "python -m index build" in lines[0]

    caplog.set_level(logging.INFO, logger="bot.service")
    service = AnswerService.open(db, [corpus], refresh=False)
    try:
        with pytest.raises(AnswerUnavailableError):
            service.ask("Which cables were replaced on the bridge?")
    finally:
        service.close()
    assert any("answering failed" in r.getMessage() and "malformed" in r.getMessage() for r in caplog.records)
    out = subprocess.run([sys.executable, "-m", "bot", "ask", "--jsonl", "--db", str(db), "--corpus", str(corpus)],
                         input="Which cables were replaced on the bridge?\n", capture_output=True, text=True,
                         timeout=120, env={**os.environ, "VERBATIM_QUIET_BUILD": "1"})
    [line] = out.stdout.splitlines()
    assert json.loads(line)["status"] == "no_answer" and json.loads(line)["reason"] == UNAVAILABLE_REASON


def test_empty_index_file_counts_as_not_built(tmp_path: Path, corpus: Path) -> None:
    db = tmp_path / "index.db"
    db.write_bytes(b"")
    with pytest.raises(IndexNotBuiltError):
        Searcher.open(db)
    out = run_index("build", "--db", str(db), str(corpus))
    assert out.returncode == 0 and out.stdout.startswith("4 documents indexed")


def test_index_from_an_older_tokenizer_is_refused_then_rebuilt(db: Path, corpus: Path,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    from bot.service import AnswerService

    before = snapshot(db)
    conn = sqlite3.connect(str(db))
    conn.execute("UPDATE meta SET value = ? WHERE key = 'tokenizer_version'", (json.dumps("0-old"),))
    conn.commit()
    conn.close()
    with pytest.raises(IndexOutdatedError) as err:
        Searcher.open(db)
    assert "0-old" in str(err.value)
    out = run_index("stats", "--db", str(db))
    assert out.returncode == 2 and "another version" in out.stderr and "Traceback" not in out.stderr

    caplog.set_level(logging.INFO, logger="bot.service")
    service = AnswerService.open(db, [corpus])
    try:
        from index.analyzer import TOKENIZER_VERSION
        assert service.searcher.meta["tokenizer_version"] == TOKENIZER_VERSION
        assert snapshot(db) == before
    finally:
        service.close()
    messages = [r.getMessage() for r in caplog.records if r.name == "bot.service"]
    assert any("another version" in m and "rebuilding" in m for m in messages), messages


# ---------------------------------------------------------------------------------------------
# the file system refuses: a full disk, a read-only folder, a file where a folder must be


def test_a_file_where_the_index_folder_must_be_is_one_clear_line(tmp_path: Path, corpus: Path) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("not a folder")
    out = run_index("build", "--db", str(blocker / "index.db"), str(corpus))
    assert out.returncode == 2
    assert out.stdout == "" and "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: could not write the index at {blocker / 'index.db'}")
    assert blocker.read_text() == "not a folder"


def test_read_only_folder_fails_the_build_and_keeps_the_index(tmp_path: Path, db: Path, corpus: Path) -> None:
    """The index folder turns read-only (a remount, a permissions mistake) and the corpus changed:
    the build cannot write and says so in one line; the last good index keeps answering."""
    before = snapshot(db)
    prefix = unprivileged_prefix()
    (corpus / "new.txt").write_text("A new ferry route opens to the island next summer.\n")
    os.chmod(db.parent, 0o555)
    try:
        out = run_index("build", "--db", str(db), str(corpus), prefix=prefix)
        search = run_index("search", "--db", str(db), "--json", "steel cables", prefix=prefix)
    finally:
        os.chmod(db.parent, 0o755)
    assert out.returncode == 2, (out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "could not write the index" in lines[0] and "Traceback" not in out.stderr
    assert snapshot(db) == before
    # readers still answer from it meanwhile
    assert search.returncode == 0, search.stderr
    assert json.loads(search.stdout)["hits"][0]["doc_id"] == "harbor.txt"


FULL_DISK_DRIVER = textwrap.dedent(r"""
    # Runs inside a private mount namespace (unshare -m): the tmpfs vanishes with it.
    import errno, json, os, subprocess, sys
    mnt, small, big, py = sys.argv[1:5]
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", mnt], check=True)
    db = os.path.join(mnt, "index.db")
    def index(*args):
        p = subprocess.run([py, "-m", "index", *args], capture_output=True, text=True, timeout=240)
        return {"code": p.returncode, "out": p.stdout, "err": p.stderr}
    res = {"first": index("build", "--db", db, small)}
    res["before"] = index("search", "--db", db, "--json", "steel cables")
    filler = os.path.join(mnt, "filler")
    with open(filler, "wb") as f:          # fill the file system to the last block ...
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError as exc:
            res["fill_errno"] = exc.errno
    size = os.path.getsize(filler)
    os.truncate(filler, max(0, size - 256 * 1024))  # ... then leave 256 KiB so the build starts writing
    res["full"] = index("build", "--db", db, big)
    res["after"] = index("search", "--db", db, "--json", "steel cables")
    res["stats"] = index("stats", "--db", db, "--json")
    os.unlink(filler)
    res["again"] = index("build", "--db", db, big)
    print(json.dumps(res))
""")


def test_full_disk_fails_the_build_cleanly_and_keeps_the_index(tmp_path: Path, corpus: Path) -> None:
    """A real full file system: an 8 MiB tmpfs in a private mount namespace (needs root with
    CAP_SYS_ADMIN and `unshare`; skipped elsewhere, where the read-only test above still runs)."""
    unshare = shutil.which("unshare")
    if os.geteuid() != 0 or unshare is None:
        pytest.skip("a private tmpfs needs root and `unshare`")
    probe = subprocess.run([unshare, "--mount", "--propagation", "private", "--", "mount", "-t", "tmpfs", "tmpfs",
                            str(tmp_path)], capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {probe.stderr.strip()[-200:]}")
    big = generate_corpus(tmp_path / "big", 800, seed=9)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    driver = tmp_path / "driver.py"
    driver.write_text(FULL_DISK_DRIVER)
    run = subprocess.run([unshare, "--mount", "--propagation", "private", "--", sys.executable, str(driver),
                          str(mnt), str(corpus), str(big), sys.executable],
                         capture_output=True, text=True, cwd=str(REPO), env=cli_env(), timeout=300)
    assert run.returncode == 0, run.stderr
    res = json.loads(run.stdout)
    assert res["first"]["code"] == 0, res["first"]
    assert res["fill_errno"] == 28  # ENOSPC: the disk really was full

    full = res["full"]
    assert full["code"] == 2, full
    assert full["out"] == "" and "Traceback" not in full["err"]
    lines = full["err"].strip().splitlines()
    assert len(lines) == 1 and "could not write the index" in lines[0] and "full" in lines[0], lines

    assert res["after"]["code"] == 0 and res["after"]["out"] == res["before"]["out"]
    assert json.loads(res["stats"]["out"])["documents"] == 4
    assert res["again"]["code"] == 0, res["again"]
    assert res["again"]["out"].startswith("800 documents indexed") and "4 removed" in res["again"]["out"]
    assert not any(mnt.iterdir())  # nothing leaked out of the namespace


def test_index_with_tables_of_an_older_schema_is_rebuilt_by_index_build(db: Path, corpus: Path) -> None:
    """`python -m index build` over an index an older version wrote (tables of another shape, not
    just another version number): a full rebuild, not an error."""
    conn = sqlite3.connect(str(db))
    conn.execute("DROP TABLE files")
    conn.execute("CREATE TABLE files (path TEXT PRIMARY KEY, signature TEXT, docs INTEGER) WITHOUT ROWID")
    assert _rebuilt_from_old_schema(conn, "11", db, corpus)


def _rebuilt_from_old_schema(conn: sqlite3.Connection, version: str, db: Path, corpus: Path):
    """Stamp the index as `version`, run `python -m index build` on it: a full rebuild must follow.
    Returns the top hit for "harbor bridge" from the rebuilt index as (source, start, end, text)."""
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (json.dumps(version),))
    conn.commit()
    conn.close()
    out = run_index("build", "--db", str(db), str(corpus))
    assert out.returncode == 0 and "full rebuild" in out.stdout, out.stdout + out.stderr
    s = Searcher.open(db)
    try:
        hit = s.search("harbor bridge", 1)[0]
        return hit.source, hit.start, hit.end, hit.text
    finally:
        s.close()


def test_index_of_schema_12_gets_the_compressed_tables(db: Path, corpus: Path) -> None:
    """An index of the last uncompressed format (documents.text, WITHOUT ROWID postings, an index
    on chunks.doc) is rebuilt into the current one: texts in blocks, a rowid postings table, no
    leftover index, and quotes read back exactly."""
    conn = sqlite3.connect(str(db))
    for table in ("documents", "postings", "texts"):
        conn.execute(f"DROP TABLE {table}")
    conn.execute("CREATE TABLE documents (id INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, source TEXT, "
                 "text TEXT, n_chunks INTEGER, file INTEGER)")
    conn.execute("CREATE TABLE postings (term INTEGER NOT NULL, segment INTEGER NOT NULL, chunks BLOB NOT NULL, "
                 "tfs BLOB NOT NULL, max_tf INTEGER NOT NULL, min_len INTEGER NOT NULL, "
                 "PRIMARY KEY (term, segment)) WITHOUT ROWID")
    conn.execute("CREATE INDEX idx_chunks_doc ON chunks (doc)")
    source, start, end, text = _rebuilt_from_old_schema(conn, "12", db, corpus)
    assert (corpus / source).read_text(encoding="utf-8")[start:end] == text
    conn = sqlite3.connect(str(db))
    sql = dict(conn.execute("SELECT name, sql FROM sqlite_master"))
    conn.close()
    assert "WITHOUT ROWID" not in sql["postings"].upper() and "idx_chunks_doc" not in sql
    assert "block" in sql["documents"] and "texts" in sql


def test_switching_a_new_index_to_wal_waits_for_another_process_doing_it(tmp_path: Path) -> None:
    """Two builds creating the same new index race to switch it to WAL; SQLite answers the loser
    "database is locked" at once, which used to surface as "could not write the index"."""
    import sqlite3
    import threading

    from index import store

    db = tmp_path / "new.db"
    holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    threading.Timer(0.3, lambda: holder.execute("COMMIT")).start()
    conn = sqlite3.connect(db, isolation_level=None, timeout=0)
    store._set_wal(conn, wait=10)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    holder.close()
