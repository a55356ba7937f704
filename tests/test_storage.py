"""The index file's byte formats (index/codec.py) and what the tables built on them promise:
postings rows and texts come back exactly, a text block lives as long as one of its documents,
per-file values are stored once and still shown per document, and a damaged block withholds
quotes instead of failing a question."""
from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))
from indexkit import write_corpus  # noqa: E402

from index import codec, store  # noqa: E402
from index.build import build_index  # noqa: E402
from index.search import Searcher  # noqa: E402


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2**32 - 2), st.integers(1, 65535)), max_size=300))
def test_postings_rows_round_trip(pairs):
    by_id = dict(pairs)
    ids = np.array(sorted(by_id), dtype=np.uint32)
    tfs = np.array([by_id[i] for i in sorted(by_id)], dtype=np.uint16)
    stream, extra = codec.pack_postings(ids, tfs)
    got_ids, got_tfs = codec.unpack_postings(stream, extra)
    assert got_ids.dtype == np.uint32 and got_ids.tolist() == ids.tolist()
    assert got_tfs.tolist() == tfs.tolist()
    assert got_tfs.dtype == (np.uint16 if len(tfs) and tfs.max() > 255 else np.uint8)
    if len(tfs) and tfs.max() == 1:
        assert extra == b""  # the common row: one stream only


def test_dense_postings_take_about_a_byte_each():
    ids = np.arange(0, 300_000, 3, dtype=np.uint32)
    stream, extra = codec.pack_postings(ids, np.ones(len(ids), np.uint16))
    assert len(stream) == len(ids) and extra == b""


def test_unsorted_or_truncated_postings_are_refused():
    import pytest

    with pytest.raises(ValueError):
        codec.pack_postings(np.array([5, 3], np.uint32), np.ones(2, np.uint16))
    stream, _ = codec.pack_postings(np.array([10**9], np.uint32), np.ones(1, np.uint16))
    with pytest.raises(ValueError):
        codec.unpack_postings(stream[:-1], b"")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=300), max_size=40), st.integers(1, 2000))
def test_texts_round_trip_through_blocks(texts, target):
    raws = [codec.encode_text(t) for t in texts]
    groups = codec.group_texts([len(r) for r in raws], target)
    assert [i for g in groups for i in g] == list(range(len(texts)))  # in order, each once
    for g in groups:
        assert len(g) == 1 or sum(len(raws[i]) for i in g) <= target  # only a lone text may exceed
        data, spans = codec.compress_block([raws[i] for i in g])
        block = codec.unpack_text_block(data)
        assert [codec.decode_text(block[a:a + n]) for a, n in spans] == [texts[i] for i in g]


def test_a_damaged_block_is_refused():
    import pytest

    data, _ = codec.compress_block([b"some text " * 100])
    broken = data[:-6] + bytes([data[-6] ^ 0xFF]) + data[-5:]
    with pytest.raises(ValueError):
        codec.unpack_text_block(broken)


def _table_rows(db: Path) -> dict:
    conn = sqlite3.connect(db)
    try:
        return {
            "blocks": dict(conn.execute("SELECT id, docs FROM texts")),
            "refs": dict(conn.execute("SELECT block, count(*) FROM documents GROUP BY block")),
            "sources": conn.execute("SELECT count(*) FROM documents WHERE source IS NOT NULL").fetchone()[0],
            "docs": conn.execute("SELECT count(*) FROM documents").fetchone()[0],
        }
    finally:
        conn.close()


def test_blocks_are_shared_counted_and_freed(tmp_path):
    """JSONL records share blocks; a block's count is its live documents, and it goes with the last."""
    corpus = tmp_path / "c"
    records = [{"_id": str(i), "title": f"Record {i}", "text": f"Record {i} is about the {w} harbour and its bridge."}
               for i, w in enumerate(["north", "south", "east", "west", "old", "new"] * 20)]
    write_corpus(corpus, {"r.jsonl": "\n".join(json.dumps(r) for r in records) + "\n",
                          "lone.txt": "A lone text file about the lighthouse keeper.\n"})
    db = tmp_path / "i.db"
    build_index([corpus], db)
    t = _table_rows(db)
    assert t["docs"] == 121 and t["blocks"] == t["refs"]
    assert len(t["blocks"]) < 10  # 120 records in a handful of blocks, not one each
    assert t["sources"] == 0  # every document's source is its file's, stored once in `files`

    s = Searcher.open(db)
    hit = next(h for h in s.search("east harbour bridge", 5) if h.doc_id == "2")
    assert hit.source == "r.jsonl" and hit.text == records[2]["text"]
    assert {d["source"] for d in s.documents()} == {"r.jsonl", "lone.txt"}
    s.close()

    # change one record, remove three: the counts follow, blocks stay referenced exactly
    records[5]["text"] = "Record 5 now tells of a ferry crossing at dawn."
    write_corpus(corpus, {"r.jsonl": "\n".join(json.dumps(r) for r in records[3:]) + "\n"})
    build_index([corpus], db)
    t = _table_rows(db)
    assert t["docs"] == 118 and t["blocks"] == t["refs"]
    s = Searcher.open(db)
    assert [h.text for h in s.search("ferry crossing dawn", 1)] == [records[5]["text"]]
    assert not [h for h in s.search("north harbour", 10) if h.doc_id == "0"]
    s.close()

    # the whole file goes: so do all its blocks
    (corpus / "r.jsonl").unlink()
    build_index([corpus], db)
    t = _table_rows(db)
    assert t["docs"] == 1 and t["blocks"] == t["refs"] and len(t["blocks"]) == 1


def test_a_damaged_text_block_withholds_its_quotes(tmp_path):
    """A block whose bytes were damaged after indexing: the search still answers, its passages
    come back empty (so the answer's digest check withholds them), other documents are intact."""
    corpus = tmp_path / "c"
    write_corpus(corpus, {
        "a.jsonl": json.dumps({"_id": "a1", "text": "The lighthouse keeper rang the bell at noon."}) + "\n"})
    db = tmp_path / "i.db"
    build_index([corpus], db)
    write_corpus(corpus, {"b.txt": "The lighthouse was painted red and white last spring.\n"})
    build_index([corpus], db)  # a second build: b.txt's text is in a block of its own
    conn = sqlite3.connect(db)
    block = conn.execute("SELECT block FROM documents WHERE doc_id = 'a1'").fetchone()[0]
    data = conn.execute("SELECT data FROM texts WHERE id = ?", (block,)).fetchone()[0]
    conn.execute("UPDATE texts SET data = ? WHERE id = ?", (data[:-6] + bytes([data[-6] ^ 0xFF]) + data[-5:], block))
    conn.commit()
    conn.close()
    s = Searcher.open(db)
    hits = {h.doc_id: h for h in s.search("lighthouse", 5)}
    assert hits["a1"].text == "" and store.text_digest(hits["a1"].text) != hits["a1"].digest
    assert hits["b.txt"].text == "The lighthouse was painted red and white last spring."
    s.close()
