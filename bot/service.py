"""AnswerService: the one object every front end (console, Slack) asks.

It owns the index lifecycle so front ends do not: on open it builds the index if it is missing,
refreshes it incrementally if the corpus changed, and rebuilds it if it was made by an older
tokenizer or is unreadable — and says which on the log. If a rebuild fails but a last good index
is readable, it keeps serving that one and says so.
"""
from __future__ import annotations

import logging
import os
import sqlite3
import threading
from pathlib import Path

from bot.answer import Answer
from bot.answering import DEFAULT_QUOTES, Answerer
from index.build import BuildReport, build_index, is_fresh
from index.config import default_corpus, default_db_path
from index.errors import IndexCorruptError, IndexNotBuiltError, IndexOutdatedError, VerbatimError
from index.search import Searcher

log = logging.getLogger(__name__)


UNAVAILABLE_REASON = "The index is not available right now; try again shortly."


class AnswerUnavailableError(VerbatimError):
    """The index could not be read for this question (damaged, closed, replaced mid-way)."""

    def __init__(self) -> None:
        super().__init__(UNAVAILABLE_REASON)


class AnswerService:
    def __init__(self, searcher: Searcher, corpus: list[Path], report: BuildReport | None = None) -> None:
        self.searcher = searcher
        self.corpus = corpus
        self.report = report
        self._answerer = Answerer(searcher)
        self._lock = threading.Lock()

    @classmethod
    def open(cls, db_path: Path | str | None = None, corpus: list[Path] | None = None, *,
             refresh: bool = True) -> "AnswerService":
        """Open (building or refreshing as needed) the index for `corpus` at `db_path`."""
        db = Path(db_path) if db_path else default_db_path()
        corpus = [Path(p) for p in corpus] if corpus else default_corpus()
        report = None
        if refresh or not db.exists():
            report = _ensure_index(db, corpus)
        return cls(Searcher.open(db), corpus, report)

    def ask(self, question: str, k: int = DEFAULT_QUOTES, offset: int = 0) -> Answer:
        try:
            return self._answerer.answer(question, k=k, offset=offset)
        except (VerbatimError, sqlite3.DatabaseError) as exc:
            # sqlite3.DatabaseError: damage on pages only this question touched. Not an abstention:
            # "no answer in the sources" would be a false claim about the sources, so front ends get
            # a named error and show their fixed apology.
            log.error("answering failed: %s", exc)
            raise AnswerUnavailableError() from exc

    def warm_up(self) -> None:
        """Load now what the first questions would otherwise load while people wait: the typo
        corrector's vocabulary, the lemmatizer's dictionary, the sentence splitter's patterns, the
        compiled kernel of a large index (and, in the background, its postings), and the pages of
        the tables every answer reads — by answering one question made of the corpus's own words.
        For long-running front ends (Slack): the first burst after a restart then costs what later
        ones do."""
        from index import kernel
        from index.analyzer import lemma

        lemma("warming")
        with self.searcher.snapshot():
            self.searcher._surface_words()
            row = self.searcher._conn.execute("SELECT id FROM chunks LIMIT 1").fetchone()
            hits = self.searcher.hits([(row[0], 0.0)], with_duplicates=False) if row else []
        words = (hits[0].text[:200] if hits else "").split()[:12]
        for question in (" ".join(words) + "?", "Who said what, and when?", "tell me about qwzxv"):
            try:
                self.ask(question)
            except VerbatimError:
                break
        if getattr(self.searcher, "_want_compiled", False):
            kernel.wait_ready(60)
            self.searcher.preload_in_background()  # a large index: its postings, while we start

    def sources(self) -> list[dict]:
        return self.searcher.documents()

    def close(self) -> None:
        self.searcher.close()


def _ensure_index(db: Path, corpus: list[Path]) -> BuildReport | None:
    quiet = os.environ.get("VERBATIM_QUIET_BUILD") == "1"
    if is_fresh(db, corpus):
        return None  # built from exactly these files: nothing to read, nothing to write
    try:
        searcher = Searcher.open(db)
        searcher.close()
    except IndexNotBuiltError:
        log.info("no index at %s: building it from %s", db, ", ".join(map(str, corpus)))
    except (IndexOutdatedError, IndexCorruptError) as exc:
        log.warning("%s -- setting it aside as %s.bad and rebuilding", exc, db.name)
        _set_aside(db)
    try:
        try:
            report = build_index(corpus, db, progress=not quiet)
        except IndexCorruptError as exc:
            # damage the reader's first look did not reach (e.g. a truncated file): never serve it
            log.warning("%s -- setting it aside and rebuilding", exc)
            _set_aside(db)
            report = build_index(corpus, db, progress=not quiet)
    except (VerbatimError, OSError) as exc:
        if db.exists():
            log.error("index refresh failed (%s); serving the last good index", exc)
            return None
        raise
    if report.changed:
        log.info("index %s: %s", db, report.summary())
    for problem in report.skipped_problems:
        log.warning("skipped %s", problem)
    for problem in report.warnings:
        log.info("%s", problem)
    return report


def _set_aside(db: Path) -> None:
    """Move an unusable index out of the way (kept for inspection, never silently reused)."""
    for suffix in ("", "-wal", "-shm"):
        p = Path(str(db) + suffix)
        if p.exists():
            p.replace(Path(str(db) + ".bad" + suffix))
