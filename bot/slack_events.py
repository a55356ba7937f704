"""Persistent Slack state: which events were already taken (retry de-duplication) and feedback clicks.

Why SQLite and why a separate file: Slack re-delivers an event when it did not see our ack in time
(over HTTP with `X-Slack-Retry-Num`, in Socket Mode with `retry_attempt` > 0), possibly to another
process or after a restart, and bolt does not de-duplicate. A claim is one atomic
`INSERT OR IGNORE` keyed by `event_id`, so of two concurrent deliveries exactly one wins, also across
the `web` and `worker` processes sharing the file. The file lives beside the index, not inside it,
so rebuilding the index never forgets what was answered.

Feedback keeps the question (which an operator can delete with `delete_feedback`) and where the quoted
passages came from (source and offsets, not their text); no other message text is stored.
"""
from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import sqlite_utils

log = logging.getLogger(__name__)

Rating = Literal["helpful", "not_helpful"]

# A claim older than this, still not answered or failed, belongs to a process that died mid-answer;
# a later Slack retry may take it over. Answers take milliseconds, Web API retries seconds.
CLAIM_LEASE_SECONDS = 300.0
# Slack retries within minutes; three days of event ids is plenty and keeps the table small.
SEEN_RETENTION_SECONDS = 3 * 24 * 3600.0
_PRUNE_EVERY = 1000


@dataclass(frozen=True)
class SeenEvent:
    event_id: str
    status: str  # claimed | answered | failed
    attempts: int
    detail: str | None


class SlackStateStore:
    """Thread-safe wrapper over one SQLite connection (WAL, busy timeout) for the bot's own state."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: every statement commits on its own; each claim is a single statement.
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=10)
        self._lock = threading.Lock()
        self._claims = 0
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            db = sqlite_utils.Database(self._conn)
            db["seen_events"].create(
                {"event_id": str, "status": str, "claimed_at": float, "updated_at": float,
                 "attempts": int, "detail": str},
                pk="event_id", if_not_exists=True,
            )
            db["feedback"].create(
                {"id": int, "created_at": str, "rating": str, "user_id": str, "channel": str,
                 "message_ts": str, "question": str, "sources": str},
                pk="id", if_not_exists=True,
            )
            db["feedback"].create_index(["user_id", "channel", "message_ts"], unique=True, if_not_exists=True)
        self.prune()

    # -- event de-duplication -------------------------------------------------------------------
    def claim(self, event_id: str, *, now: float | None = None, lease: float = CLAIM_LEASE_SECONDS) -> bool:
        """True if this caller should answer `event_id`: first delivery, or a retry of a claim whose
        process died (lease expired). False for a duplicate, even while the first is still running."""
        now = time.time() if now is None else now
        with self._lock:
            cur = self._conn.execute(
                "INSERT OR IGNORE INTO seen_events (event_id, status, claimed_at, updated_at, attempts)"
                " VALUES (?, 'claimed', ?, ?, 1)", (event_id, now, now))
            won = cur.rowcount == 1
            if not won:
                cur = self._conn.execute(
                    "UPDATE seen_events SET claimed_at = ?, updated_at = ?, attempts = attempts + 1"
                    " WHERE event_id = ? AND status = 'claimed' AND claimed_at < ?",
                    (now, now, event_id, now - lease))
                won = cur.rowcount == 1
            self._claims += 1
            due = self._claims % _PRUNE_EVERY == 0
        if due:
            self.prune()
        return won

    def mark_answered(self, event_id: str) -> None:
        self._set_status(event_id, "answered", None)

    def mark_failed(self, event_id: str, detail: str) -> None:
        """Record a question that could not be answered; `detail` is an error class, never message text."""
        self._set_status(event_id, "failed", detail[:200])

    def _set_status(self, event_id: str, status: str, detail: str | None) -> None:
        with self._lock:
            self._conn.execute("UPDATE seen_events SET status = ?, detail = ?, updated_at = ? WHERE event_id = ?",
                               (status, detail, time.time(), event_id))

    def get(self, event_id: str) -> SeenEvent | None:
        with self._lock:
            row = self._conn.execute("SELECT event_id, status, attempts, detail FROM seen_events WHERE event_id = ?",
                                     (event_id,)).fetchone()
        return SeenEvent(*row) if row else None

    def interrupted(self, older_than: float = 0.0) -> list[str]:
        """Event ids claimed but never finished (a previous process died mid-answer)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT event_id FROM seen_events WHERE status = 'claimed' AND claimed_at < ? ORDER BY claimed_at",
                (time.time() - older_than,)).fetchall()
        return [r[0] for r in rows]

    def prune(self, retention: float = SEEN_RETENTION_SECONDS) -> int:
        with self._lock:
            cur = self._conn.execute("DELETE FROM seen_events WHERE updated_at < ?", (time.time() - retention,))
        return cur.rowcount

    # -- feedback -------------------------------------------------------------------------------
    def record_feedback(self, *, rating: Rating, user_id: str, channel: str, message_ts: str,
                        question: str, sources: list[str]) -> None:
        """One vote per person per message: clicking again replaces the earlier vote."""
        if rating not in ("helpful", "not_helpful"):
            raise ValueError(f"unknown rating {rating!r}")
        with self._lock:
            self._conn.execute(
                "INSERT INTO feedback (created_at, rating, user_id, channel, message_ts, question, sources)"
                " VALUES (strftime('%Y-%m-%dT%H:%M:%SZ','now'), ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (user_id, channel, message_ts) DO UPDATE SET rating = excluded.rating,"
                " created_at = excluded.created_at",
                (rating, user_id, channel, message_ts, question, json.dumps(sources)))

    def feedback(self) -> list[dict]:
        with self._lock:
            cur = self._conn.execute("SELECT * FROM feedback ORDER BY id")
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]

    def delete_feedback(self, *, before: str | None = None) -> int:
        """Delete feedback rows (all, or those created before an ISO timestamp); returns how many."""
        with self._lock:
            if before is None:
                cur = self._conn.execute("DELETE FROM feedback")
            else:
                cur = self._conn.execute("DELETE FROM feedback WHERE created_at < ?", (before,))
        return cur.rowcount

    def close(self) -> None:
        with self._lock:
            self._conn.close()


__all__ = ["SlackStateStore", "SeenEvent", "Rating", "CLAIM_LEASE_SECONDS"]
