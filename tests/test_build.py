"""Incremental builds and readers during a build: real folders, real SQLite files, real processes.

What is proven here (issue 2, "Incremental"): unchanged files are not re-processed, a changed file
is replaced, a deleted file leaves the index, a metadata-only change re-processes its document, an
analysis-parameter change rebuilds everything and says why; after any sequence of incremental
builds the index answers exactly like a fresh full build (corpus statistics are exact, not
approximate). And a Searcher opened before a build keeps answering from the last committed index
while the build runs (WAL), then picks up the new state with `refresh()`.
"""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from indexkit import (  # noqa: E402
    NEWS_CORPUS, REPO, cli_env, generate_corpus, index_cmd, run_index, wait_until_writing, write_corpus,
    write_locked,
)

from index import codec, store  # noqa: E402
from index.build import BuildParams, build_index  # noqa: E402
from index.search import Searcher  # noqa: E402

CORPUS = {
    **NEWS_CORPUS,
    "feed.jsonl": json.dumps({"id": "feed-1", "title": "Rail strike", "text":
                              "Train drivers began a two day strike over pay and the bridge timetable."}) + "\n"
                  + json.dumps({"id": "feed-2", "title": "Ferry", "text":
                                "The harbor ferry will run every twenty minutes during the bridge closure."}) + "\n",
}

QUERIES = ["harbor bridge", "steel cables", "apple harvest frost", "comet Jupiter", "bridge strike pay",
           "ferry minutes", "library maps", "record harvest valley", "zeppelin airship"]


def answers(db: Path, queries: list[str] = QUERIES, k: int = 5) -> list[tuple[list[float], list[tuple]]]:
    """What the index answers, in a form two indexes can be compared by.

    Chunk ids are internal (an incremental build numbers chunks differently from a fresh one) and
    break ties between equal scores, so per query: the score list, and the hits above the lowest
    score returned in a canonical order (which hits of the last tie group make the cut may differ)."""
    s = Searcher.open(db)
    try:
        out = []
        for q in queries:
            hits = [(round(h.score, 9), h.doc_id, h.start, h.end, h.text) for h in s.search(q, k)]
            floor = min((h[0] for h in hits), default=0.0)
            out.append(([h[0] for h in hits], sorted(h for h in hits if h[0] > floor)))
        return out
    finally:
        s.close()


def doc_ids(db: Path) -> list[str]:
    s = Searcher.open(db)
    try:
        return sorted(d["doc_id"] for d in s.documents())
    finally:
        s.close()


def assert_same_as_fresh_build(db: Path, corpus: Path, tmp_path: Path, params: BuildParams | None = None) -> None:
    fresh = tmp_path / f"fresh-{time.monotonic_ns()}.db"
    build_index([corpus], fresh, params=params)
    assert doc_ids(db) == doc_ids(fresh)
    assert answers(db) == answers(fresh)


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "corpus", CORPUS)


@pytest.fixture()
def db(tmp_path: Path, corpus: Path) -> Path:
    path = tmp_path / "index.db"
    report = build_index([corpus], path)
    assert (report.documents_indexed, report.skipped, report.documents_total) == (6, 0, 6)
    return path


# ---------------------------------------------------------------------------------------------
# incremental


def test_unchanged_files_are_not_reprocessed(db: Path, corpus: Path) -> None:
    before = answers(db)
    report = build_index([corpus], db)
    assert (report.documents_indexed, report.documents_unchanged, report.documents_removed) == (0, 6, 0)
    assert (report.chunks_indexed, report.chunks_removed, report.full_rebuild) == (0, 0, False)
    assert not report.changed
    assert answers(db) == before
    # touching a file without changing its bytes is not a change either (content hash, not mtime)
    os.utime(corpus / "harbor.txt", (time.time() + 60, time.time() + 60))
    assert build_index([corpus], db).documents_unchanged == 6


def test_files_with_unchanged_signatures_are_not_read(db: Path, corpus: Path) -> None:
    """A file whose size, mtime and catalogue metadata are those of the last build is not opened:
    an edit to one page of a huge corpus re-reads that page only. (The same trust as make or
    rsync's quick check: bytes rewritten with the old size and mtime forced back go unnoticed.)"""
    path = corpus / "library.html"
    st = path.stat()
    old = path.read_bytes()
    path.write_bytes(old.replace(b"rare maps", b"rare moss"))  # same length
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    report = build_index([corpus], db)
    assert (report.documents_indexed, report.documents_unchanged) == (0, 6) and not report.changed
    s = Searcher.open(db)
    try:
        assert [h.doc_id for h in s.search("rare maps archive", 3)][:1] == ["library.html"]
    finally:
        s.close()
    os.utime(path, None)  # a new mtime: read again, and now the change is seen
    report = build_index([corpus], db)
    assert (report.documents_indexed, report.documents_unchanged) == (1, 5)


def test_a_file_with_problems_is_read_again_and_reported_again(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "c", {
        "ok.txt": "The ferry timetable changed on Monday.\n",
        "feed.jsonl": json.dumps({"id": "a", "text": "Snow closed the mountain pass."}) + "\n{broken\n",
    })
    db = tmp_path / "i.db"
    first = build_index([corpus], db)
    second = build_index([corpus], db)
    assert [(p.path, p.line) for p in second.skipped_problems] == [(p.path, p.line) for p in first.skipped_problems]
    assert second.skipped_problems and (second.documents_indexed, second.documents_unchanged) == (0, 2)


def test_an_id_already_held_by_an_unchanged_file_is_a_reported_duplicate(db: Path, corpus: Path) -> None:
    (corpus / "more.jsonl").write_text(json.dumps({"id": "feed-1", "text": "A different rail story."}) + "\n")
    report = build_index([corpus], db)
    assert any("duplicate document id 'feed-1'" in p.reason for p in report.problems)
    s = Searcher.open(db)
    try:
        assert "Train drivers" in s.document_text("feed-1")  # the first holder keeps the id
        assert s.stats_dict()["documents"] == 6
    finally:
        s.close()


def test_changed_file_is_replaced(db: Path, corpus: Path, tmp_path: Path) -> None:
    new_text = "The harbor bridge will carry a zeppelin airship mooring mast from next spring.\n"
    (corpus / "harbor.txt").write_text(new_text, encoding="utf-8")
    report = build_index([corpus], db)
    assert (report.documents_indexed, report.documents_unchanged, report.documents_removed) == (1, 5, 0)
    assert report.chunks_removed == 2 and report.chunks_indexed == 1
    s = Searcher.open(db)
    try:
        hit = s.search("zeppelin airship", 3)[0]
        assert (hit.doc_id, hit.text) == ("harbor.txt", new_text.strip())
        assert (corpus / hit.source).read_bytes().decode("utf-8")[hit.start:hit.end] == hit.text
        assert not [h for h in s.search("forty steel cables", 10) if h.doc_id == "harbor.txt"]
        assert s.document_text("harbor.txt") == new_text
    finally:
        s.close()
    assert_same_as_fresh_build(db, corpus, tmp_path)


def test_deleted_file_leaves_the_index(db: Path, corpus: Path, tmp_path: Path) -> None:
    (corpus / "notes" / "comet.txt").unlink()
    report = build_index([corpus], db)
    assert (report.documents_indexed, report.documents_unchanged, report.documents_removed) == (0, 5, 1)
    assert (report.documents_total, report.chunks_removed) == (5, 1)
    s = Searcher.open(db)
    try:
        assert s.search("comet Jupiter astronomers", 10) == []
        assert s.document_text("notes/comet.txt") is None
    finally:
        s.close()
    # a JSONL record that disappears leaves too
    (corpus / "feed.jsonl").write_text((corpus / "feed.jsonl").read_text().splitlines()[0] + "\n")
    report = build_index([corpus], db)
    assert (report.documents_removed, report.documents_unchanged) == (1, 4)
    assert "feed-2" not in doc_ids(db)
    assert_same_as_fresh_build(db, corpus, tmp_path)


def test_metadata_only_change_reprocesses_the_document(db: Path, corpus: Path) -> None:
    (corpus / "catalogue.json").write_text(json.dumps(
        {"harbor.txt": {"title": "Bridge reopens", "date": "2024-05-06", "publisher": "Harbor Gazette"}}))
    report = build_index([corpus], db)
    assert (report.documents_indexed, report.documents_unchanged) == (1, 5)
    s = Searcher.open(db)
    try:
        hit = s.search("steel cables", 1)[0]
        assert (hit.doc_id, hit.title, hit.date) == ("harbor.txt", "Bridge reopens", "2024-05-06")
        assert [d["publisher"] for d in s.documents() if d["doc_id"] == "harbor.txt"] == ["Harbor Gazette"]
    finally:
        s.close()
    assert build_index([corpus], db).documents_unchanged == 6


def test_analysis_parameter_change_rebuilds_everything_with_a_reason(db: Path, corpus: Path, tmp_path: Path) -> None:
    params = BuildParams(max_chars=120)
    report = build_index([corpus], db, params=params)
    assert report.full_rebuild
    assert "analysis changed" in report.rebuild_reason and "max_chars" in report.rebuild_reason
    assert (report.documents_indexed, report.documents_unchanged) == (6, 0)
    assert f"full rebuild: {report.rebuild_reason}" in report.summary()
    assert_same_as_fresh_build(db, corpus, tmp_path, params)
    # the CLI says so too, and going back is another full rebuild
    out = run_index("build", "--db", str(db), str(corpus))
    assert out.returncode == 0, out.stderr
    assert "6 documents indexed" in out.stdout and "full rebuild: analysis changed" in out.stdout


def test_bm25_parameters_change_without_reprocessing(db: Path, corpus: Path) -> None:
    """k1/b are stored with the index but postings hold term frequencies: no rebuild, new scores."""
    before = answers(db)
    report = build_index([corpus], db, params=BuildParams(k1=2.0, b=0.9))
    assert not report.full_rebuild and report.documents_unchanged == 6
    s = Searcher.open(db)
    try:
        assert (s.params.k1, s.params.b) == (2.0, 0.9)
    finally:
        s.close()
    after = answers(db)
    assert [[h[:4] for h in q] for q in after] != [] and after != before


def test_many_incremental_steps_equal_a_fresh_build(tmp_path: Path) -> None:
    """Random edits, additions and deletions over several builds (enough to trigger segment merges):
    the index must answer exactly like a fresh build of the final corpus."""
    rnd = random.Random(7)
    words = ("bridge harbor cable steel ferry strike pay apple harvest frost comet jupiter library map "
             "archive volunteer engineer council budget river flood school teacher").split()
    corpus = tmp_path / "rand"

    def text() -> str:
        return "\n\n".join(" ".join(rnd.choice(words) for _ in range(rnd.randint(8, 20))).capitalize() + "."
                           for _ in range(rnd.randint(1, 3))) + "\n"

    files = {f"d{i}.txt": text() for i in range(12)}
    write_corpus(corpus, files)
    db = tmp_path / "rand.db"
    build_index([corpus], db)
    merged = False
    for step in range(12):
        for name in rnd.sample(sorted(files), 3):
            (corpus / name).write_text(text(), encoding="utf-8")
        victim = rnd.choice(sorted(files))
        (corpus / victim).unlink()
        del files[victim]
        new = f"n{step}.txt"
        files[new] = text()
        (corpus / new).write_text(files[new], encoding="utf-8")
        merged |= build_index([corpus], db).merged
    assert merged, "the sequence should have exercised a segment merge"
    fresh = tmp_path / "fresh.db"
    build_index([corpus], fresh)
    queries = [" ".join(rnd.sample(words, 3)) for _ in range(25)]
    assert answers(db, queries, k=10) == answers(fresh, queries, k=10)


# ---------------------------------------------------------------------------------------------
# readers during a build


def test_searcher_keeps_answering_during_a_build_and_refreshes_after(tmp_path: Path, db: Path, corpus: Path) -> None:
    searcher = Searcher.open(db)
    idle = Searcher.open(db)
    try:
        before = [[(h.doc_id, h.start, h.end, h.score) for h in searcher.search(q, 5)] for q in QUERIES]
        generate_corpus(corpus / "wire", 400, marker="wiremark")
        proc = subprocess.Popen(index_cmd("build", "--db", str(db), str(corpus)), cwd=str(REPO), env=cli_env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_until_writing(db, proc)
            during = 0
            while proc.poll() is None:
                now = [[(h.doc_id, h.start, h.end, h.score) for h in searcher.search(q, 5)] for q in QUERIES]
                new_doc = searcher.search("wiremark7", 3)
                if write_locked(db):  # still uncommitted after the queries: they saw the old index only
                    assert now == before
                    assert new_doc == []
                    during += 1
                time.sleep(0.05)
            out, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 0, err
        assert "400 documents indexed" in out
        assert during >= 1, "no query ran while the build was writing"

        # the searcher that answered during the build refreshed itself on its first query after the commit
        hits = searcher.search("wiremark7", 3)
        assert hits and hits[0].doc_id == "wire/gen00007.txt"
        assert len(searcher.documents()) == 406
        assert [[(h.doc_id, h.start, h.end, h.score) for h in searcher.search(q, 5)] for q in QUERIES] != before
        # one left idle since before the build still shows the old state until refresh() picks up the commit
        old_chunks = idle.stats.n_chunks
        assert old_chunks < searcher.stats.n_chunks
        assert idle.refresh() is True
        assert idle.refresh() is False  # nothing new since
        assert idle.stats.n_chunks == searcher.stats.n_chunks == old_chunks + 400
        assert len(idle.lengths) == len(searcher.lengths)
    finally:
        searcher.close()
        idle.close()


def test_search_refreshes_by_itself_after_an_in_process_build(db: Path, corpus: Path) -> None:
    searcher = Searcher.open(db)
    try:
        assert searcher.search("zeppelin", 3) == []
        (corpus / "air.txt").write_text("A zeppelin floated over the harbor bridge at dawn today.\n")
        build_index([corpus], db)
        hits = searcher.search("zeppelin", 3)
        assert [h.doc_id for h in hits] == ["air.txt"]
    finally:
        searcher.close()


# ---------------------------------------------------------------------------------------------
# worker processes


def _index_content(db: Path) -> dict:
    """Every table of an index in a form independent of term ids (which follow first occurrence)."""
    import sqlite3

    import numpy as np

    conn = sqlite3.connect(db)
    try:
        names = dict(conn.execute("SELECT id, term FROM terms"))
        postings = {}
        for tid, segment, cb, tb in conn.execute("SELECT term, segment, chunks, tfs FROM postings"):
            ids, tfs = codec.unpack_postings(cb, tb)
            postings[(names[tid], segment)] = (ids.tolist(), tfs.tolist())
        texts = store.TextReader(conn)
        return {
            "terms": sorted(conn.execute("SELECT term, df FROM terms")),
            "postings": postings,
            "documents": sorted(r[:7] + (texts.text(*r[7:10]),) + r[10:] for r in conn.execute(
                "SELECT d.id, d.doc_id, coalesce(d.source, f.source), d.title, d.date, d.publisher, d.fingerprint, "
                f"d.block, d.at, d.size, d.n_chunks, d.chunk0, d.meta, d.path FROM documents d {store.FILE_JOIN}")),
            "chunks": sorted(conn.execute("SELECT * FROM chunks")),
            "surface": sorted(conn.execute("SELECT * FROM surface")),
            "lexicon": sorted(conn.execute("SELECT * FROM lexicon")),
            "arrays": sorted(conn.execute("SELECT * FROM arrays")),
            "meta": {k: v for k, v in conn.execute("SELECT key, value FROM meta")
                     if k not in ("built_at", "last_build", "corpus_signature")},
        }
    finally:
        conn.close()


def test_worker_processes_build_the_same_index_as_one_process(tmp_path: Path, monkeypatch) -> None:
    """Large builds prepare documents in worker processes; the result must be byte-for-byte the
    same index (term ids aside), including incremental updates on top of it."""
    import index.build as build

    corpus = tmp_path / "corpus"
    generate_corpus(corpus, 40, seed=11)
    write_corpus(corpus, {**CORPUS, "hyphens.txt": "A six-week cease-fire began in mid-January.\n\n"
                                                   "Advertisement\n\nThe counter-proposals came later.\n"})
    serial, parallel = tmp_path / "serial.db", tmp_path / "parallel.db"
    monkeypatch.setenv("VERBATIM_BUILD_WORKERS", "0")
    build_index([corpus], serial)
    monkeypatch.setenv("VERBATIM_BUILD_WORKERS", "2")
    monkeypatch.setattr(build, "PARALLEL_MIN_DOCS", 5)
    monkeypatch.setattr(build, "PARALLEL_BATCH", 7)
    report = build_index([corpus], parallel)
    assert report.documents_indexed > 30 and report.workers == 2
    assert _index_content(parallel) == _index_content(serial)
    assert answers(parallel) == answers(serial)
    # an incremental build after a parallel one: still equal to a fresh one-process build
    (corpus / "harbor.txt").write_text("The harbor bridge closed again for a week of cable inspections.\n")
    (corpus / "notes" / "comet.txt").unlink()
    build_index([corpus], parallel)
    monkeypatch.setenv("VERBATIM_BUILD_WORKERS", "0")
    assert_same_as_fresh_build(parallel, corpus, tmp_path)


def test_postings_spilled_to_disk_build_the_same_index(tmp_path: Path, monkeypatch) -> None:
    """Big builds spill sorted runs of postings beside the index and write each term's row from
    the runs at the end (bounded memory). Forced here with a tiny spill size: same index as an
    all-in-memory build, and no spill files left behind."""
    import index.build as build

    corpus = tmp_path / "corpus"
    generate_corpus(corpus, 60, seed=12)
    write_corpus(corpus, CORPUS)
    whole, spilled = tmp_path / "whole" / "i.db", tmp_path / "spilled" / "i.db"
    build_index([corpus], whole)
    monkeypatch.setattr(build, "SPILL_POSTINGS", 97)
    monkeypatch.setattr(build, "MERGE_TERMS", 5)
    build_index([corpus], spilled)
    assert _index_content(spilled) == _index_content(whole)
    assert sorted(p.name for p in spilled.parent.iterdir() if p.name.startswith(".verbatim-build-")) == []
    # incremental builds with spills, then a merge of every segment: still a fresh build's answers
    for step in range(10):
        (corpus / f"extra{step}.txt").write_text(f"Ferry crews tested the harbor bridge cables on day {step}.\n")
        (corpus / f"gen{step:05d}.txt").unlink()
        build_index([corpus], spilled)
    assert_same_as_fresh_build(spilled, corpus, tmp_path)


def test_segment_merges_leave_the_largest_segment_alone(tmp_path: Path) -> None:
    """Many small incremental builds on a big index: merges fold the small segments together and
    never rewrite the big one (adding a page must not cost a rewrite of a million chunks); the
    index still answers like a fresh build."""
    import sqlite3

    import index.build as build

    corpus = tmp_path / "corpus"
    generate_corpus(corpus / "bulk", 60, seed=13)
    db = tmp_path / "i.db"
    build_index([corpus], db)
    conn = sqlite3.connect(db)
    base = conn.execute("SELECT segment FROM postings GROUP BY segment").fetchall()
    conn.close()
    assert len(base) == 1
    merges = 0
    for step in range(build.MAX_SEGMENTS + 4):
        (corpus / f"page{step}.txt").write_text(f"The harbor ferry timetable changed again on day {step}.\n")
        merges += build_index([corpus], db).merged
    conn = sqlite3.connect(db)
    segments = [r[0] for r in conn.execute("SELECT segment FROM postings GROUP BY segment")]
    conn.close()
    assert merges >= 1 and base[0][0] in segments and len(segments) <= build.MAX_SEGMENTS
    assert_same_as_fresh_build(db, corpus, tmp_path)
