"""Plain values that flow from ingestion to ranking: documents, chunks and search hits.

Frozen dataclasses so every stage can pass them on without defensive copies, and `asdict`
gives the JSON the CLI prints.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable


@dataclass(frozen=True)
class Document:
    """One source document, with its text exactly as read: chunk offsets index into `text`.

    `doc_id` is the JSONL `id`/`_id`, or the file's path relative to the corpus root (POSIX
    separators). `source` is the file path relative to the corpus root (for JSONL, the .jsonl
    file; several documents then share a source and `text` is the record's text field).
    """

    doc_id: str
    source: str
    text: str
    title: str | None = None
    date: str | None = None  # ISO "YYYY-MM-DD" when known
    url: str | None = None
    publisher: str | None = None
    content_hash: str = ""
    # Where the indexable body starts in `text` (after Markdown front matter); chunks come from
    # text[body_start:] but keep offsets into the whole `text`, so the verbatim check stays exact.
    body_start: int = 0
    # absolute path of the file when `text` is exactly that file's decoded content (.txt, .md), so
    # quotes can be cut from, and verified against, the file itself; None for HTML and JSONL records
    path: str | None = None
    # absolute path of the input file the document was read from (any format): incremental builds
    # skip unchanged files without reading them, and know which documents a file held
    file: str | None = None


@dataclass(frozen=True)
class Chunk:
    """A retrievable passage: `document.text[start:end] == text` always holds."""

    start: int
    end: int
    text: str
    paragraph: int  # 1-based paragraph number in the document (boilerplate not counted)
    part: int = 0   # 0-based index when a long paragraph was split at sentence boundaries


@dataclass(frozen=True)
class Problem:
    """A bad input that was skipped, reported by file (and line) with a human reason."""

    path: str
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class SearchHit:
    chunk_id: int
    doc_id: str
    source: str
    score: float
    start: int
    end: int
    paragraph: int = 0
    title: str | None = None
    date: str | None = None
    group: int | None = None  # near-duplicate group id shared with identical passages elsewhere
    digest: int | None = None  # 8-byte digest of the chunk text taken when it was indexed
    duplicates: tuple["DuplicateRef", ...] = field(default_factory=tuple)
    read_text: Callable[[], str] | None = field(default=None, repr=False, compare=False)

    @cached_property
    def text(self) -> str:
        """The passage, read from the index on first use (while its Searcher is open): texts are
        stored compressed, and a caller that only needs ids, offsets and scores (a benchmark, a
        ranking test) never pays for them."""
        return self.read_text() if self.read_text is not None else ""


@dataclass(frozen=True)
class DuplicateRef:
    """Where else a near-duplicate of a hit's passage appears (another source, same words)."""

    doc_id: str
    source: str
    start: int
    end: int
    paragraph: int
    title: str | None = None
    date: str | None = None
