"""Ingestion: real files in temp folders, every supported format and every kind of bad input.

Each test asserts on content (ids, sources, text, metadata, problem reasons and lines), because the
promise to users is specific: good documents are never lost, and each bad one is named with why.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.ingest import (
    DEFAULT_MAX_BYTES,
    MAX_LINE_PROBLEMS_PER_FILE,
    extract_html,
    is_warning,
    iter_documents,
    normalize_date,
    split_front_matter,
)
from index.model import Document, Problem

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
SHARED_SEEDS = REPO / ".." / "shared" / "seeds"


# ---------------------------------------------------------------------------------------------
# fixture helpers


def ingest(*paths: Path, **kwargs) -> tuple[list[Document], list[Problem]]:
    problems: list[Problem] = []
    docs = list(iter_documents(list(paths), problems=problems, **kwargs))
    return docs, problems


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_bytes(content.encode("utf-8"))
    else:
        path.write_bytes(content)
    return path


def by_id(docs: list[Document]) -> dict[str, Document]:
    return {d.doc_id: d for d in docs}


def reasons_for(problems: list[Problem], name: str) -> list[str]:
    return [p.reason for p in problems if Path(p.path).name == name]


# ---------------------------------------------------------------------------------------------
# plain text, walking, identity


def test_txt_folder_recursive_sorted_with_relative_posix_sources(tmp_path: Path) -> None:
    write(tmp_path / "b.txt", "Second file.\n")
    write(tmp_path / "a.txt", "First file.\n")
    write(tmp_path / "sub" / "deeper" / "c.txt", "Nested file.\n")
    write(tmp_path / ".hidden.txt", "never indexed\n")
    write(tmp_path / ".git" / "x.txt", "never indexed\n")
    docs, problems = ingest(tmp_path)
    assert problems == []
    assert [d.doc_id for d in docs] == ["a.txt", "b.txt", "sub/deeper/c.txt"]
    assert [d.source for d in docs] == ["a.txt", "b.txt", "sub/deeper/c.txt"]
    c = docs[2]
    assert c.text == "Nested file.\n"
    assert c.content_hash == hashlib.sha256(b"Nested file.\n").hexdigest()
    assert c.body_start == 0 and c.title is None and c.date is None


def test_file_given_directly_has_its_parent_as_root(tmp_path: Path) -> None:
    f = write(tmp_path / "deep" / "note.txt", "A note.")
    docs, problems = ingest(f)
    assert problems == []
    assert [(d.doc_id, d.source, d.text) for d in docs] == [("note.txt", "note.txt", "A note.")]


def test_text_is_exactly_the_utf8_decoding_bom_and_crlf_kept(tmp_path: Path) -> None:
    raw = "\ufeffTitle line\r\n\r\nBody with “curly quotes” and é.\r\n".encode("utf-8")
    f = write(tmp_path / "bom.txt", raw)
    docs, problems = ingest(tmp_path)
    assert problems == []
    assert docs[0].text == f.read_bytes().decode("utf-8")
    assert docs[0].text.startswith("\ufeff")


def test_missing_path_is_a_problem_and_other_paths_still_ingested(tmp_path: Path) -> None:
    write(tmp_path / "ok.txt", "fine")
    docs, problems = ingest(tmp_path / "nope", tmp_path / "ok.txt")
    assert [d.doc_id for d in docs] == ["ok.txt"]
    assert problems == [Problem(str(tmp_path / "nope"), "path not found")]


# ---------------------------------------------------------------------------------------------
# bad inputs


def test_invalid_utf8_reports_byte_offset_and_line(tmp_path: Path) -> None:
    write(tmp_path / "bad.txt", b"line one\nline two \xff\xfe here\n")
    write(tmp_path / "good.txt", "still here")
    docs, problems = ingest(tmp_path)
    assert [d.doc_id for d in docs] == ["good.txt"]
    assert len(problems) == 1
    p = problems[0]
    assert p.path == str(tmp_path / "bad.txt")
    assert "invalid UTF-8 at byte offset 18" in p.reason
    assert p.line == 2


def test_binary_file_with_nul_bytes(tmp_path: Path) -> None:
    write(tmp_path / "blob.txt", b"PK\x03\x04\x00\x00binary")
    write(tmp_path / "utf16.txt", "hello".encode("utf-16"))
    docs, problems = ingest(tmp_path)
    assert docs == []
    assert reasons_for(problems, "blob.txt") == ["binary file: NUL byte at byte offset 4"]
    [utf16] = reasons_for(problems, "utf16.txt")
    assert utf16.startswith("binary file") and "UTF-16" in utf16


def test_empty_and_whitespace_only_files(tmp_path: Path) -> None:
    write(tmp_path / "empty.txt", b"")
    write(tmp_path / "blank.md", " \n\t\n")
    docs, problems = ingest(tmp_path)
    assert docs == []
    assert reasons_for(problems, "empty.txt") == ["empty file"]
    assert reasons_for(problems, "blank.md") == ["empty file (only whitespace)"]


def test_three_megabyte_single_line_is_a_document(tmp_path: Path) -> None:
    line = ("word " * 600_000).strip()  # ~3 MB, no newline at all
    write(tmp_path / "huge.txt", line)
    docs, problems = ingest(tmp_path)
    assert problems == []
    assert len(docs) == 1 and docs[0].text == line and len(docs[0].text) > 2_900_000


def test_files_over_the_size_limit_are_problems(tmp_path: Path) -> None:
    write(tmp_path / "big.txt", "x" * 2000)
    write(tmp_path / "small.txt", "x" * 10)
    docs, problems = ingest(tmp_path, max_bytes=1000)
    assert [d.doc_id for d in docs] == ["small.txt"]
    assert reasons_for(problems, "big.txt") == ["file too large: 2,000 bytes, over the 1,000-byte limit"]
    assert not any(is_warning(p) for p in problems)
    assert DEFAULT_MAX_BYTES == 50 * 1024 * 1024


def test_unsupported_types_reported_but_obvious_non_documents_skipped_silently(tmp_path: Path) -> None:
    write(tmp_path / "paper.pdf", b"%PDF-1.4 ...")
    write(tmp_path / "photo.png", b"\x89PNG\r\n")
    write(tmp_path / "data.json", "{}")
    write(tmp_path / "README", "no extension")
    write(tmp_path / "ok.txt", "ok")
    docs, problems = ingest(tmp_path)
    assert [d.doc_id for d in docs] == ["ok.txt"]
    assert {Path(p.path).name for p in problems} == {"paper.pdf", "README"}
    assert "unsupported file type '.pdf'" in reasons_for(problems, "paper.pdf")[0]
    assert "(no extension)" in reasons_for(problems, "README")[0]
    # ...but a non-document the user explicitly asked for is reported, not silently dropped
    _, problems = ingest(tmp_path / "photo.png")
    assert "unsupported file type '.png'" in problems[0].reason


def test_broken_symlink_and_fifo_do_not_stop_or_hang_the_walk(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", "alpha")
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "gone.txt")
    os.mkfifo(tmp_path / "pipe.txt")  # reading it would block forever
    write(tmp_path / "z.txt", "zulu")
    docs, problems = ingest(tmp_path)
    assert [d.doc_id for d in docs] == ["a.txt", "z.txt"]
    assert reasons_for(problems, "dangling.txt") == ["broken symlink: its target does not exist"]
    assert reasons_for(problems, "pipe.txt") == ["not a regular file (device, socket or pipe); skipped"]
    # a dangling symlink given directly
    _, problems = ingest(tmp_path / "dangling.txt")
    assert problems == [Problem(str(tmp_path / "dangling.txt"), "broken symlink: its target does not exist")]


def test_symlink_loop_reported_and_files_reached_twice_indexed_once(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write(corpus / "top.txt", "top")
    write(corpus / "sub" / "inner.txt", "inner")
    (corpus / "sub" / "back").symlink_to(corpus)          # loop: sub/back -> corpus
    (corpus / "sub" / "self").symlink_to(corpus / "sub")   # loop: sub/self -> sub
    (corpus / "alias.txt").symlink_to(corpus / "top.txt")  # same file twice
    docs, problems = ingest(corpus)
    # "alias.txt" sorts before "top.txt": the file is indexed once, under the first path reached
    assert sorted(d.text for d in docs) == ["inner", "top"]
    assert len(docs) == 2
    loops = sorted(Path(p.path).name for p in problems if p.reason.startswith("symlink loop"))
    assert loops == ["back", "self"]
    assert all("not followed" in p.reason for p in problems)


def test_symlinked_folder_outside_root_is_followed(tmp_path: Path) -> None:
    write(tmp_path / "elsewhere" / "far.txt", "far away")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "linked").symlink_to(tmp_path / "elsewhere")
    docs, problems = ingest(corpus)
    assert problems == []
    assert [(d.doc_id, d.text) for d in docs] == [("linked/far.txt", "far away")]


def test_overlapping_roots_index_each_file_once(tmp_path: Path) -> None:
    f = write(tmp_path / "one.txt", "one")
    docs, problems = ingest(tmp_path, f, tmp_path)
    assert [d.doc_id for d in docs] == ["one.txt"]
    assert problems == []


def test_duplicate_doc_ids_across_roots_are_reported(tmp_path: Path) -> None:
    write(tmp_path / "r1" / "same.txt", "first")
    write(tmp_path / "r2" / "same.txt", "second")
    docs, problems = ingest(tmp_path / "r1", tmp_path / "r2")
    assert [(d.doc_id, d.text) for d in docs] == [("same.txt", "first")]
    assert len(problems) == 1 and "duplicate document id 'same.txt'" in problems[0].reason


def _ingest_without_privileges(folder: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """Run the ingestion in a child process that cannot bypass file permissions.

    As root, chmod 000 does not stop reads (CAP_DAC_OVERRIDE). `setpriv` drops every capability
    from the child's bounding set, so root's child is refused like any other user.
    """
    code = (
        "import json, sys\nfrom pathlib import Path\nfrom index.ingest import iter_documents\n"
        "problems = []\ndocs = list(iter_documents([Path(sys.argv[1])], problems=problems))\n"
        "print(json.dumps({'docs': [d.doc_id for d in docs], "
        "'problems': [[p.path, p.reason] for p in problems]}))\n"
    )
    cmd = [sys.executable, "-c", code, str(folder)]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without `setpriv`: chmod 000 cannot make a file unreadable to root")
        cmd = [setpriv, "--bounding-set=-all", "--inh-caps=-all", "--", *cmd]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=str(REPO),
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    if out.returncode != 0 and "setpriv" in out.stderr:
        pytest.skip(f"running as root and cannot drop capabilities here: {out.stderr.strip()[-300:]}")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    return result["docs"], [tuple(x) for x in result["problems"]]


def test_unreadable_file_and_folder_reported(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", "readable")
    write(tmp_path / "secret.txt", "locked")
    write(tmp_path / "closed" / "inner.txt", "locked folder")
    write(tmp_path / "z.txt", "after the locked ones")
    (tmp_path / "secret.txt").chmod(0o000)
    (tmp_path / "closed").chmod(0o000)
    try:
        docs, problems = _ingest_without_privileges(tmp_path)
    finally:
        (tmp_path / "secret.txt").chmod(0o644)
        (tmp_path / "closed").chmod(0o755)
    assert docs == ["a.txt", "z.txt"]
    assert sorted(problems) == [(str(tmp_path / "closed"), "unreadable folder: permission denied"),
                                (str(tmp_path / "secret.txt"), "unreadable: permission denied")]


# ---------------------------------------------------------------------------------------------
# JSONL


def test_jsonl_beir_corpus_works_as_is(tmp_path: Path) -> None:
    lines = [
        {"_id": "4983", "title": "Microstructural development", "text": "Alterations of the architecture.", "metadata": {}},
        {"_id": "5836", "title": "", "text": "Second abstract."},
    ]
    write(tmp_path / "scifact" / "corpus.jsonl", "".join(json.dumps(r) + "\n" for r in lines))
    docs, problems = ingest(tmp_path / "scifact" / "corpus.jsonl")
    assert problems == []
    assert [(d.doc_id, d.source, d.text, d.title) for d in docs] == [
        ("4983", "corpus.jsonl", "Alterations of the architecture.", "Microstructural development"),
        ("5836", "corpus.jsonl", "Second abstract.", None),
    ]
    # the record's line as written (no re-serialisation): what changes it is what re-indexes it
    assert docs[0].content_hash == hashlib.sha256(json.dumps(lines[0]).encode()).hexdigest()


def test_jsonl_broken_lines_reported_and_good_lines_kept(tmp_path: Path) -> None:
    content = "\n".join([
        json.dumps({"id": "a", "text": "Alpha text.", "date": "2024-03-06T12:00:00Z", "url": "https://e.x/a"}),
        '{"id": "b", "text": "unterminated',                         # 2: invalid JSON
        json.dumps({"text": "no id"}),                               # 3: missing id
        json.dumps({"id": "c"}),                                     # 4: missing text
        "",                                                          # 5: blank, ignored
        json.dumps(["not", "an", "object"]),                         # 6: not an object
        json.dumps({"id": "a", "text": "duplicate"}),                # 7: duplicate id
        json.dumps({"id": 7, "text": "integer id", "title": "T"}),   # 8: ok (int id)
        json.dumps({"id": "d", "text": "   "}),                      # 9: empty text
    ]).encode() + b"\n" + b'{"id": "e", "text": "bad \xff byte"}\n' + json.dumps({"id": "f", "text": "Last."}).encode()
    write(tmp_path / "export.jsonl", content)
    docs, problems = ingest(tmp_path)
    assert [(d.doc_id, d.source, d.text) for d in docs] == [
        ("a", "export.jsonl", "Alpha text."), ("7", "export.jsonl", "integer id"), ("f", "export.jsonl", "Last.")]
    assert docs[0].date == "2024-03-06" and docs[0].url == "https://e.x/a" and docs[1].title == "T"
    got = [(p.line, p.reason) for p in problems]
    assert [line for line, _ in got] == [2, 3, 4, 6, 7, 9, 10]
    assert got[0][1].startswith("invalid JSON: Unterminated string")
    assert "no usable 'id' or '_id'" in got[1][1]
    assert got[2][1] == "record 'c' has no 'text' string"
    assert got[3][1] == "record is a JSON list, not an object"
    assert got[4][1] == "duplicate id 'a' (first at line 1); skipped"
    assert got[5][1] == "record 'd' has empty text"
    assert got[6][1].startswith("invalid UTF-8 at byte 25 of the line")
    assert all(p.path == str(tmp_path / "export.jsonl") for p in problems)


def test_jsonl_gz_and_truncated_gz(tmp_path: Path) -> None:
    body = "".join(json.dumps({"_id": str(i), "text": f"Record number {i}. " * 20}) + "\n" for i in range(200))
    good = tmp_path / "ok" / "corpus.jsonl.gz"
    good.parent.mkdir()
    good.write_bytes(gzip.compress(body.encode()))
    docs, problems = ingest(good)
    assert problems == [] and len(docs) == 200 and docs[199].doc_id == "199"
    cut = tmp_path / "cut" / "corpus.jsonl.gz"
    cut.parent.mkdir()
    data = gzip.compress(body.encode())
    cut.write_bytes(data[: len(data) // 2])
    docs, problems = ingest(cut)
    assert 0 < len(docs) < 200  # the records before the damage are kept
    assert len(problems) == 1 and problems[0].reason.startswith("unreadable after line")


def test_binary_file_named_jsonl_is_one_problem_not_a_flood(tmp_path: Path) -> None:
    write(tmp_path / "x.jsonl", b"\x00\x01\x02\n" * 1000)
    docs, problems = ingest(tmp_path)
    assert docs == [] and problems == [Problem(str(tmp_path / "x.jsonl"), "binary file: NUL byte in a .jsonl file", 1)]


def test_many_bad_jsonl_lines_are_capped_with_a_summary(tmp_path: Path) -> None:
    write(tmp_path / "junk.jsonl", "not json\n" * 250 + json.dumps({"id": "ok", "text": "survivor"}) + "\n")
    docs, problems = ingest(tmp_path)
    assert [d.doc_id for d in docs] == ["ok"]
    assert len(problems) == MAX_LINE_PROBLEMS_PER_FILE + 1
    assert problems[-1].reason.startswith(f"... and {250 - MAX_LINE_PROBLEMS_PER_FILE} more bad lines")


# ---------------------------------------------------------------------------------------------
# Markdown and HTML


def test_markdown_front_matter_is_metadata_and_offsets_stay_whole_file(tmp_path: Path) -> None:
    md = "---\ntitle: Talks stall\ndate: 2024-03-06\nurl: https://example.org/talks\npublisher: Example News\n---\n# Heading\n\nBody paragraph.\n"
    f = write(tmp_path / "post.md", md)
    docs, problems = ingest(tmp_path)
    assert problems == []
    [d] = docs
    assert d.text == f.read_bytes().decode("utf-8")
    assert d.text[d.body_start:] == "# Heading\n\nBody paragraph.\n"
    assert (d.title, d.date, d.url, d.publisher) == ("Talks stall", "2024-03-06", "https://example.org/talks", "Example News")


def test_markdown_without_or_with_broken_front_matter(tmp_path: Path) -> None:
    write(tmp_path / "plain.markdown", "Just text.\n---\nnot front matter\n")
    write(tmp_path / "bad.md", "---\ntitle: [unclosed\n---\nBody.\n")
    write(tmp_path / "only.md", "---\ntitle: Nothing else\n---\n\n")
    docs, problems = ingest(tmp_path)
    d = by_id(docs)
    assert d["plain.markdown"].body_start == 0
    assert d["bad.md"].text[d["bad.md"].body_start:] == "Body.\n" and d["bad.md"].title is None
    [bad] = reasons_for(problems, "bad.md")
    assert bad.startswith("warning: front matter ignored: not valid YAML")
    assert [is_warning(p) for p in problems if p.path.endswith("bad.md")] == [True]
    assert not any(is_warning(p) for p in problems if p.path.endswith("only.md"))
    assert reasons_for(problems, "only.md") == ["empty file (nothing after the front matter)"]


def test_markdown_title_falls_back_to_first_heading(tmp_path: Path) -> None:
    write(tmp_path / "a.md", "\n#  The  Heading ##\n\nText.\n")
    write(tmp_path / "b.md", "Intro line.\n# Not first\n")
    write(tmp_path / "c.md", "---\ntitle: Front\n---\n# Heading\n")
    write(tmp_path / "d.md", "# Heading\nBody.\n")
    write(tmp_path / "catalogue.json", json.dumps({"d.md": {"title": "Catalogue"}}))
    write(tmp_path / "e.md", "---\n" + "[" * 5000 + "\n---\nDeep YAML body.\n")
    docs, problems = ingest(tmp_path)
    titles = {d.doc_id: d.title for d in docs}
    assert titles == {"a.md": "The Heading", "b.md": None, "c.md": "Front", "d.md": "Catalogue", "e.md": None}
    assert [(Path(p.path).name, is_warning(p)) for p in problems] == [("e.md", True)]


def test_split_front_matter_with_bom_and_crlf() -> None:
    text = "\ufeff---\r\ntitle: x\r\n...\r\nBody"
    raw, body_start, line = split_front_matter(text)
    assert raw == "title: x\r\n" and text[body_start:] == "Body" and line == 2
    assert split_front_matter("---\ntitle: never closed\n") is None


HTML_PAGE = """<!doctype html>
<html><head><title>Page title | Site</title>
<meta property="og:title" content="Clean og title">
<meta property="article:published_time" content="2024-03-06T18:30:00+00:00">
<meta property="og:site_name" content="Example News">
<link rel="canonical" href="https://example.org/a">
<style>p { color: red }</style><script>var x = "not text";</script></head>
<body>
<header>Site header</header><nav><a href="/">Home</a> | <a href="/world">World</a></nav>
<article><h1>Headline here</h1>
<p>First   paragraph with <b>bold</b> and <a href="#">a link</a>.</p>
<div>Second block<br>with a line break.</div><!-- a comment -->
<ul><li>Item one</li><li>Item two</li></ul>
<form><input name="q"><button>Search</button></form>
<aside>Related stories</aside><noscript>Enable JavaScript</noscript>
</article><footer>Copyright</footer></body></html>"""


def test_html_text_extraction_and_metadata(tmp_path: Path) -> None:
    write(tmp_path / "page.html", HTML_PAGE)
    docs, problems = ingest(tmp_path)
    assert problems == []
    [d] = docs
    assert d.text == ("Headline here\n\nFirst paragraph with bold and a link.\n\nSecond block\nwith a line break."
                      "\n\nItem one\n\nItem two")
    assert (d.title, d.date, d.url, d.publisher) == ("Clean og title", "2024-03-06", "https://example.org/a", "Example News")
    assert d.content_hash == hashlib.sha256(HTML_PAGE.encode()).hexdigest()


def test_html_title_and_time_fallbacks_and_empty_page(tmp_path: Path) -> None:
    write(tmp_path / "a.htm", "<html><head><title> Plain\n title </title></head><body><p>Text <time datetime='2023-12-20'>Wed</time></p></body></html>")
    write(tmp_path / "b.html", "<html><body><script>only()</script><nav>menu</nav></body></html>")
    docs, problems = ingest(tmp_path)
    [a] = docs
    assert (a.text, a.title, a.date) == ("Text Wed", "Plain title", "2023-12-20")
    assert reasons_for(problems, "b.html") == ["empty file (no text after removing markup)"]


def test_html_in_a_declared_legacy_charset(tmp_path: Path) -> None:
    write(tmp_path / "old.html", '<html><head><meta charset="windows-1252"></head><body><p>caf\xe9 \x93quoted\x94</p></body></html>'.encode("latin-1"))
    write(tmp_path / "bad.html", b"<p>\xff\xfe</p>")
    docs, problems = ingest(tmp_path)
    assert [d.text for d in docs] == ["café “quoted”"]
    assert reasons_for(problems, "bad.html")[0].startswith("invalid UTF-8 at byte offset 3")


# ---------------------------------------------------------------------------------------------
# catalogue


def test_catalogue_fills_metadata_and_file_values_win(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", "Alpha.")
    write(tmp_path / "post.md", "---\ntitle: From front matter\n---\nBody.\n")
    write(tmp_path / "sub" / "c.txt", "Gamma.")
    write(tmp_path / "catalogue.json", json.dumps({
        "_comment": "ignored",
        "a.txt": {"title": "Alpha title", "date": "2024-01-02", "publisher": "P", "url": "https://a", "date_note": "why"},
        "post.md": {"title": "Catalogue title", "date": "2020-05-06"},
        "sub/c.txt": {"title": "Gamma from root catalogue"},
    }))
    write(tmp_path / "sub" / "catalogue.json", json.dumps({"c.txt": {"date": "2021-07-08"}}))
    docs, problems = ingest(tmp_path)
    assert problems == []
    d = by_id(docs)
    assert set(d) == {"a.txt", "post.md", "sub/c.txt"}  # catalogue.json itself is not a document
    assert (d["a.txt"].title, d["a.txt"].date, d["a.txt"].publisher, d["a.txt"].url) == ("Alpha title", "2024-01-02", "P", "https://a")
    assert (d["post.md"].title, d["post.md"].date) == ("From front matter", "2020-05-06")
    assert (d["sub/c.txt"].title, d["sub/c.txt"].date) == ("Gamma from root catalogue", "2021-07-08")


def test_catalogue_applies_to_a_file_given_directly(tmp_path: Path) -> None:
    f = write(tmp_path / "a.txt", "Alpha.")
    write(tmp_path / "catalogue.json", json.dumps({"a.txt": {"title": "Alpha title"}}))
    docs, problems = ingest(f)
    assert problems == [] and docs[0].title == "Alpha title"


def test_catalogue_errors_are_problems_never_fatal(tmp_path: Path) -> None:
    write(tmp_path / "r1" / "a.txt", "Alpha.")
    write(tmp_path / "r1" / "catalogue.json", '{"a.txt": {"title": "x",}\n}')
    write(tmp_path / "r2" / "b.txt", "Beta.")
    write(tmp_path / "r2" / "catalogue.json", json.dumps({
        "b.txt": {"title": 5, "date": "March 2024", "url": "https://b"},
        "missing.txt": {"title": "nobody"},
        "c.txt": "not an object",
    }))
    write(tmp_path / "r3" / "d.txt", "Delta.")
    write(tmp_path / "r3" / "catalogue.json", "[1, 2]")
    docs, problems = ingest(tmp_path / "r1", tmp_path / "r2", tmp_path / "r3")
    d = by_id(docs)
    assert set(d) == {"a.txt", "b.txt", "d.txt"}
    assert d["b.txt"].url == "https://b" and d["b.txt"].date is None and d["b.txt"].title == "5"
    assert all(is_warning(p) for p in problems)  # nothing was skipped: only metadata was ignored
    r = [(Path(p.path).parent.name, p.line, p.reason.removeprefix("warning: ")) for p in problems]
    assert r[0][:2] == ("r1", 1) and r[0][2].startswith("catalogue ignored: invalid JSON")
    assert ("r2", None, "catalogue entry 'b.txt' date 'March 2024' ignored: not a YYYY-MM-DD date") in r
    assert any(x[0] == "r2" and "'missing.txt' ignored: no such file" in x[2] for x in r)
    assert any(x[0] == "r2" and "'c.txt' ignored: expected an object" in x[2] for x in r)
    assert ("r3", None, "catalogue ignored: expected a JSON object mapping file paths to metadata") in r
    assert len(r) == 5


# ---------------------------------------------------------------------------------------------
# seeds


def test_seeds_yield_five_documents_with_catalogue_dates() -> None:
    docs, problems = ingest(SEEDS)
    assert problems == []
    d = by_id(docs)
    assert sorted(d) == ["000_706f6ad505590cd3.txt", "001_76cc18bd6250d1c2.txt", "002_c686ee0278e77195.txt",
                         "003_8cf3ee0611e24a2e.txt", "004_e2ebf3ea3f42602b.txt"]
    catalogue = json.loads((SEEDS / "catalogue.json").read_text("utf-8"))
    for doc_id, doc in d.items():
        entry = catalogue[doc_id]
        assert doc.date == entry["date"] and doc.title == entry["title"] and doc.publisher == entry["publisher"]
        assert doc.text == (SEEDS / doc_id).read_bytes().decode("utf-8")
        assert normalize_date(doc.date) == doc.date
    assert d["002_c686ee0278e77195.txt"].date == "2023-12-20"
    assert d["000_706f6ad505590cd3.txt"].title == "As Biden’s Term Ends, Gaza Truce Efforts Proceed Cautiously"
    assert d["000_706f6ad505590cd3.txt"].date.startswith("2025-01")
    assert d["003_8cf3ee0611e24a2e.txt"].date.startswith("2024-03")
    assert d["004_e2ebf3ea3f42602b.txt"].date.startswith("2025-03")


@pytest.mark.skipif(not SHARED_SEEDS.is_dir(), reason="../shared/seeds not present beside the repo")
def test_seed_files_are_byte_identical_to_shared() -> None:
    for f in sorted(SHARED_SEEDS.iterdir()):
        assert (SEEDS / f.name).read_bytes() == f.read_bytes(), f.name


# ---------------------------------------------------------------------------------------------
# helpers and properties


def test_normalize_date() -> None:
    import datetime as dt

    assert normalize_date("2024-03-06") == "2024-03-06"
    assert normalize_date("2024-03-06T18:30:00+00:00") == "2024-03-06"
    assert normalize_date(dt.date(2024, 3, 6)) == "2024-03-06"
    assert normalize_date(dt.datetime(2024, 3, 6, 1, 2)) == "2024-03-06"
    for bad in ("2024-02-30", "March 2024", "2024-03", "", None, 20240306):
        assert normalize_date(bad) is None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=300))
def test_property_txt_document_text_is_the_exact_decoding(tmp_path: Path, text: str) -> None:
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    f = write(folder / "doc.txt", text.encode("utf-8"))
    docs, problems = ingest(folder)
    if "\x00" in text:
        assert docs == [] and problems[0].reason.startswith("binary file")
    elif not text.strip():
        assert docs == [] and problems[0].reason.startswith("empty file")
    else:
        assert problems == []
        assert [d.text for d in docs] == [f.read_bytes().decode("utf-8")]
        assert docs[0].content_hash == hashlib.sha256(f.read_bytes()).hexdigest()


@settings(max_examples=100, deadline=None)
@given(markup=st.text(max_size=400))
def test_property_html_extraction_never_crashes(markup: str) -> None:
    page = extract_html(markup)
    assert "\n\n\n" not in page.text
    assert page.text == page.text.strip()


# ---------------------------------------------------------------------------------------------
# hostile inputs (issue 6)


def test_file_names_that_are_not_utf8_are_indexed_with_escaped_names(tmp_path: Path) -> None:
    raw_dir = os.fsencode(tmp_path) + b"/caf\xe9"
    os.makedirs(raw_dir)
    with open(raw_dir + b"/na\xefve.txt", "wb") as fh:
        fh.write(b"Latin-1 named file.")
    docs, problems = ingest(tmp_path)
    assert problems == []
    [d] = docs
    assert d.doc_id == d.source == "caf\\xe9/na\\xefve.txt"
    d.doc_id.encode("utf-8")  # storable and printable
    assert d.text == "Latin-1 named file."


def test_jsonl_lone_surrogate_escapes_become_replacement_characters(tmp_path: Path) -> None:
    write(tmp_path / "s.jsonl", '{"id": "x\\udc80", "title": "t\\ud800", "text": "before \\ud83d after \\ud83d\\ude00"}\n')
    docs, problems = ingest(tmp_path)
    assert problems == []
    [d] = docs
    assert d.text == "before \ufffd after \U0001F600"
    assert d.doc_id == "x\ufffd" and d.title == "t\ufffd"
    for value in (d.text, d.doc_id, d.title):
        value.encode("utf-8")


def test_jsonl_record_over_the_limit_is_refused_without_reading_it_whole(tmp_path: Path) -> None:
    big = json.dumps({"id": "big", "text": "y" * 5000})
    write(tmp_path / "c.jsonl", "\n".join([json.dumps({"id": "a", "text": "small"}), big,
                                           json.dumps({"id": "b", "text": "after"})]))
    docs, problems = ingest(tmp_path, max_bytes=1000)
    assert [d.doc_id for d in docs] == ["a", "b"]
    assert [(p.line, p.reason) for p in problems] == [
        (2, f"record too large: {len(big) + 1:,} bytes, over the 1,000-byte limit")]


def test_deeply_nested_html_does_not_overflow_the_stack(tmp_path: Path) -> None:
    depth = 5000
    write(tmp_path / "deep.html", "<div>" * depth + "<p>Deep text.</p>" + "</div>" * depth)
    write(tmp_path / "inline.html", "<span>" * depth + "inline" + "</span>" * depth)
    docs, problems = ingest(tmp_path)
    assert problems == []
    assert [(d.doc_id, d.text) for d in docs] == [("deep.html", "Deep text."), ("inline.html", "inline")]


def test_a_hostile_corpus_indexes_every_good_document(tmp_path: Path) -> None:
    """Issue 6: every bad input in one folder; every good document still comes out, each bad one named."""
    c = tmp_path / "corpus"
    write(c / "good.txt", "A good text document.")
    write(c / "good.md", "---\ntitle: Good\n---\nA good Markdown document.\n")
    write(c / "good.html", "<p>A good HTML document.</p>")
    write(c / "latin1.txt", "caf\xe9".encode("latin-1"))
    write(c / "binary.txt", bytes(range(256)))
    write(c / "empty.txt", b"")
    write(c / "huge.txt", "z" * 3_000_000)
    write(c / "mixed.jsonl", json.dumps({"id": "j1", "text": "Good record."}) + "\n{broken\n"
          + json.dumps({"id": "j2", "text": "Another good record."}) + "\n")
    (c / "loop").symlink_to(c)
    (c / "dangling.txt").symlink_to(c / "missing.txt")
    docs, problems = ingest(c)
    assert sorted(d.doc_id for d in docs) == ["good.html", "good.md", "good.txt", "huge.txt", "j1", "j2"]
    named = {(Path(p.path).name, p.line, p.reason.split(":")[0]) for p in problems}
    assert named == {
        ("latin1.txt", 1, "invalid UTF-8 at byte offset 3 (unexpected end of data); re-save the file as UTF-8"),
        ("binary.txt", 1, "binary file"),
        ("empty.txt", None, "empty file"),
        ("mixed.jsonl", 2, "invalid JSON"),
        ("loop", None, "symlink loop"),
        ("dangling.txt", None, "broken symlink"),
    }


def test_nested_jsonl_source_and_catalogue_defaults_for_its_records(tmp_path: Path) -> None:
    write(tmp_path / "exports" / "feed.jsonl",
          json.dumps({"id": "r1", "text": "One.", "publisher": "Own publisher"}) + "\n"
          + json.dumps({"id": "r2", "text": "Two.", "date": "2024-01-01"}) + "\n")
    write(tmp_path / "catalogue.json", json.dumps({"exports/feed.jsonl": {"publisher": "Feed Inc", "date": "2023-01-01"}}))
    docs, problems = ingest(tmp_path)
    assert problems == []
    assert [(d.doc_id, d.source, d.publisher, d.date) for d in docs] == [
        ("r1", "exports/feed.jsonl", "Own publisher", "2023-01-01"),
        ("r2", "exports/feed.jsonl", "Feed Inc", "2024-01-01"),
    ]


_clean_text = st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=60)
_record = st.fixed_dictionaries(
    {"id": st.one_of(st.text(max_size=8), st.integers(-5, 5), st.none())},
    optional={"text": st.one_of(_clean_text, st.none(), st.integers()), "title": st.text(max_size=10)},
)
_raw_line = _clean_text.map(lambda t: t.replace("\n", " ").replace("\r", " "))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(st.one_of(_record, _raw_line), max_size=12))
def test_property_jsonl_every_line_is_a_document_or_a_problem_on_that_line(tmp_path: Path, records: list) -> None:
    """Each non-blank line yields exactly one document or one Problem naming that line; texts kept exactly."""
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    lines = [json.dumps(r) if isinstance(r, dict) else r for r in records]
    write(folder / "p.jsonl", "\n".join(lines) + "\n")
    docs, problems = ingest(folder)
    counted = [i for i, line in enumerate(lines, start=1)
               if (line[1:] if i == 1 and line.startswith("\ufeff") else line).strip()]
    if not counted:
        assert docs == [] and [(p.line, p.reason) for p in problems] == [(None, "empty file (no JSONL records)")]
        return
    problem_lines = [p.line for p in problems]
    assert len(problem_lines) == len(set(problem_lines)) and None not in problem_lines
    assert len(docs) + len(problems) == len(counted)
    assert set(problem_lines) <= set(counted)
    first_record: dict[str, dict] = {}
    for r in records:
        # a rejected record (no usable text) does not claim its id: the first *valid* one does
        if (isinstance(r, dict) and r["id"] is not None and str(r["id"]).strip()
                and isinstance(r.get("text"), str) and r["text"].strip()):
            first_record.setdefault(str(r["id"]), r)
    for d in docs:
        assert d.text == first_record[d.doc_id]["text"] and d.text.strip() and d.source == "p.jsonl"


def test_beir_dataset_folder_indexes_the_corpus_not_the_queries(tmp_path: Path) -> None:
    ds = tmp_path / "scifact"
    write(ds / "corpus.jsonl", json.dumps({"_id": "10", "title": "T", "text": "An abstract."}) + "\n")
    (ds / "queries.jsonl.gz").write_bytes(gzip.compress((json.dumps({"_id": "1", "text": "A claim?"}) + "\n").encode()))
    write(ds / "qrels" / "test.tsv", "query-id\tcorpus-id\tscore\n1\t10\t1\n")
    docs, problems = ingest(ds)
    assert [(d.doc_id, d.source) for d in docs] == [("10", "corpus.jsonl")]
    assert [(Path(p.path).name, is_warning(p)) for p in problems] == [("queries.jsonl.gz", True)]
    assert "questions, not documents" in problems[0].reason
    # explicitly asked for, it is read
    docs, _ = ingest(ds / "queries.jsonl.gz")
    assert [(d.doc_id, d.text) for d in docs] == [("1", "A claim?")]


@pytest.mark.skipif(not (REPO / ".." / "shared" / "data" / "scifact" / "corpus.jsonl.gz").is_file(),
                    reason="../shared/data/scifact not present")
def test_real_beir_scifact_corpus_as_is() -> None:
    corpus = REPO / ".." / "shared" / "data" / "scifact" / "corpus.jsonl.gz"
    docs, problems = ingest(corpus)
    assert problems == []
    assert len(docs) == 5183 and len({d.doc_id for d in docs}) == 5183
    assert all(d.source == "corpus.jsonl.gz" and d.text.strip() for d in docs)


def test_control_characters_in_file_names_are_escaped(tmp_path: Path) -> None:
    write(tmp_path / "evil\x1b[31m.txt", "red?")
    write(tmp_path / "two\nlines.txt", "")
    docs, problems = ingest(tmp_path)
    assert [d.doc_id for d in docs] == ["evil\\x1b[31m.txt"]
    assert [(p.path, p.reason) for p in problems] == [(str(tmp_path / "two\\x0alines.txt"), "empty file")]


def test_hard_linked_file_is_indexed_once(tmp_path: Path) -> None:
    write(tmp_path / "a" / "orig.txt", "same bytes, same inode")
    (tmp_path / "b").mkdir()
    os.link(tmp_path / "a" / "orig.txt", tmp_path / "b" / "copy.txt")
    docs, problems = ingest(tmp_path)
    assert problems == [] and [d.doc_id for d in docs] == ["a/orig.txt"]
