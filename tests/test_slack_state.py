"""The seen-events table (retry de-duplication) and feedback storage, on real SQLite files."""
from __future__ import annotations

import io
import logging
import threading
import time

from bot.slack_events import CLAIM_LEASE_SECONDS, SlackStateStore
from bot.slack_runner import RedactSecrets


def test_concurrent_claims_of_one_event_have_exactly_one_winner(tmp_path):
    db = tmp_path / "state.db"
    stores = [SlackStateStore(db), SlackStateStore(db)]  # two "processes" sharing the file
    wins: list[bool] = []
    barrier = threading.Barrier(16)

    def claim(i: int) -> None:
        barrier.wait()
        wins.append(stores[i % 2].claim("Ev1"))

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert wins.count(True) == 1 and len(wins) == 16


def test_claim_survives_restart_and_failed_is_final(tmp_path):
    db = tmp_path / "state.db"
    s = SlackStateStore(db)
    assert s.claim("Ev1")
    s.mark_answered("Ev1")
    s.close()
    s = SlackStateStore(db)
    assert not s.claim("Ev1") and s.get("Ev1").status == "answered"
    assert s.claim("Ev2")
    s.mark_failed("Ev2", "post:ratelimited")
    assert not s.claim("Ev2", now=time.time() + 10 * CLAIM_LEASE_SECONDS)
    assert s.get("Ev2").detail == "post:ratelimited"


def test_stale_claim_of_a_dead_process_can_be_taken_over(tmp_path):
    s = SlackStateStore(tmp_path / "state.db")
    assert s.claim("Ev1")
    assert not s.claim("Ev1", now=time.time() + 1)
    assert s.claim("Ev1", now=time.time() + CLAIM_LEASE_SECONDS + 1)
    assert s.get("Ev1").attempts == 2
    assert s.claim("Ev2")
    assert s.interrupted(older_than=60) == [] and s.interrupted(older_than=-60) == ["Ev2"]


def test_prune_forgets_old_events(tmp_path):
    s = SlackStateStore(tmp_path / "state.db")
    s.claim("Ev1")
    s.mark_answered("Ev1")
    assert s.prune(retention=-1) == 1 and s.get("Ev1") is None


def test_feedback_one_vote_per_person_per_message_and_deletable(tmp_path):
    s = SlackStateStore(tmp_path / "state.db")
    for rating in ("helpful", "not_helpful"):
        s.record_feedback(rating=rating, user_id="U1", channel="C1", message_ts="1.1", question="q?",
                          sources=["a.txt:1-9"])
    s.record_feedback(rating="helpful", user_id="U2", channel="C1", message_ts="1.1", question="q?", sources=[])
    rows = s.feedback()
    assert [(r["user_id"], r["rating"]) for r in rows] == [("U1", "not_helpful"), ("U2", "helpful")]
    assert set(rows[0]) == {"id", "created_at", "rating", "user_id", "channel", "message_ts", "question", "sources"}
    assert s.delete_feedback() == 2 and s.feedback() == []


def test_log_redaction_removes_tokens_and_secrets():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets(["my-signing-secret-123"]))
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("token %s and secret %s", "xoxb-123-456-abcDEF", "my-signing-secret-123")
        try:
            raise RuntimeError("failed with xapp-1-A1-2-zzz")
        except RuntimeError:
            logger.exception("boom")
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    assert "xoxb-" not in out and "xapp-" not in out and "my-signing-secret-123" not in out
    assert out.count("[redacted]") >= 3
