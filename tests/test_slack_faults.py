"""Slack under faults: Web API 500s, rate limits with Retry-After, timeouts, refused blocks, a retry
arriving mid-answer, a broken index. Every question is answered exactly once, or logged as failed
with its event id; users never see exception text; tokens never reach the log."""
from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fakeslack import Fault, event_callback, mention_event  # noqa: E402
from fakeslack.fixtures import fake, service  # noqa: E402,F401 (fixtures)
from fakeslack.harness import SECRET, http_bot, open_service  # noqa: E402

from bot.render_slack import APOLOGY  # noqa: E402

ANSWERED = "when is the evacuation drill for the harbour office"


def test_server_errors_are_retried_and_the_answer_posted_once(fake, service, tmp_path):
    fake.inject("chat.postMessage", Fault(status=500), Fault(status=503))
    with http_bot(fake, service, tmp_path / "s.db") as bot:
        callback = event_callback(mention_event(ANSWERED))
        bot.post_event(callback)
        fake.wait_calls("chat.postMessage", 1)
        fake.quiet_for(0.5)
        assert len(fake.calls("chat.postMessage")) == 3 and len(fake.posted()) == 1
        assert bot.store.get(callback["event_id"]).status == "answered"


def test_rate_limit_waits_for_retry_after(fake, service, tmp_path):
    fake.inject("chat.postMessage", Fault(status=429, retry_after=1))
    with http_bot(fake, service, tmp_path / "s.db") as bot:
        bot.post_event(event_callback(mention_event(ANSWERED)))
        [ok] = fake.wait_calls("chat.postMessage", 1, timeout=10)
        limited = fake.calls("chat.postMessage")[0]
        assert not limited.delivered and ok.at - limited.at >= 0.95
        fake.quiet_for(0.3)
        assert len(fake.posted()) == 1


def test_persistent_failure_is_logged_with_the_event_id(fake, service, tmp_path, caplog):
    fake.inject("chat.postMessage", *[Fault(status=500)] * 3)  # one call + two retries, all fail
    caplog.set_level(logging.INFO)
    with http_bot(fake, service, tmp_path / "s.db") as bot:
        callback = event_callback(mention_event(ANSWERED))
        bot.post_event(callback)
        fake.wait_for(lambda: len(fake.calls("chat.postMessage")) == 3)
        fake.wait_for(lambda: (bot.store.get(callback["event_id"]) or None)
                      and bot.store.get(callback["event_id"]).status == "failed")
        assert bot.store.get(callback["event_id"]).detail == "post:internal_error"
        assert fake.posted() == []
        # a Slack retry of a failed event is not answered either (it might have been posted)
        bot.post_event(callback, retry_num=1)
        fake.quiet_for(0.3)
        assert len(fake.calls("chat.postMessage")) == 3
    assert any(callback["event_id"] in r.getMessage() and "FAILED" in r.getMessage() for r in caplog.records)


def test_timeout_is_not_retried_into_a_duplicate(fake, service, tmp_path):
    fake.inject("chat.postMessage", Fault(delay=1.5, drop=True))
    with http_bot(fake, service, tmp_path / "s.db", http_timeout=0.5) as bot:
        callback = event_callback(mention_event(ANSWERED))
        bot.post_event(callback)
        fake.wait_for(lambda: (bot.store.get(callback["event_id"]) or None)
                      and bot.store.get(callback["event_id"]).status == "failed", timeout=10)
        fake.wait_for(lambda: fake.calls("chat.postMessage"))  # the fake records it after its delay
        fake.quiet_for(0.3)
        assert len(fake.calls("chat.postMessage")) == 1


def test_refused_blocks_fall_back_to_plain_text(fake, service, tmp_path):
    fake.inject("chat.postMessage", Fault(error="invalid_blocks"))
    with http_bot(fake, service, tmp_path / "s.db") as bot:
        bot.post_event(event_callback(mention_event(ANSWERED)))
        [call] = fake.wait_calls("chat.postMessage")
        assert "blocks" not in call.params and "&lt;!channel&gt;" in call.params["text"]


def test_a_retry_arriving_mid_answer_is_not_answered_twice(fake, service, tmp_path):
    fake.inject("chat.postMessage", Fault(delay=1.0))  # the first answer is slow to post
    with http_bot(fake, service, tmp_path / "s.db") as bot:
        callback = event_callback(mention_event(ANSWERED))
        bot.post_event(callback)
        time.sleep(0.2)  # the first delivery is now inside chat.postMessage
        assert bot.store.get(callback["event_id"]).status == "claimed"
        bot.post_event(callback, retry_num=1)
        fake.wait_calls("chat.postMessage", 1, timeout=5)
        fake.quiet_for(0.3)
        assert len(fake.calls("chat.postMessage")) == 1


def test_a_broken_index_gets_a_fixed_apology_not_exception_text(fake, tmp_path, caplog):
    svc = open_service(tmp_path / "svc")
    svc.close()  # every ask now fails inside the index layer
    caplog.set_level(logging.ERROR)
    with http_bot(fake, svc, tmp_path / "s.db") as bot:
        callback = event_callback(mention_event(ANSWERED))
        bot.post_event(callback)
        [call] = fake.wait_calls("chat.postMessage")
        assert call.params["text"] == APOLOGY
        fake.wait_for(lambda: bot.store.get(callback["event_id"]).status == "failed")
    assert any(callback["event_id"] in r.getMessage() for r in caplog.records)


def test_tokens_and_secret_never_reach_the_log(fake, service, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    fake.inject("chat.postMessage", Fault(status=429, retry_after=0))
    with http_bot(fake, service, tmp_path / "s.db") as bot:
        bot.post_event(event_callback(mention_event(ANSWERED)))
        bot.post_event(event_callback(mention_event(ANSWERED)), secret="forged")
        fake.wait_calls("chat.postMessage")
    text = caplog.text + "".join(str(r.msg) for r in caplog.records)
    assert fake.bot_token not in text and SECRET not in text and "xoxb-" not in text


def test_ask_falls_back_to_post_ephemeral_when_response_url_fails(fake, service, tmp_path):
    from fakeslack import slash_command

    fake.inject("response_url", Fault(status=404, error="expired_url"))
    with http_bot(fake, service, tmp_path / "s.db") as bot:
        bot.post_command(slash_command(ANSWERED, response_url=fake.response_url("gone"), user="U0ALICE",
                                       channel="C0ASK"))
        [call] = fake.wait_calls("chat.postEphemeral")
        assert call.params["user"] == "U0ALICE" and call.params["channel"] == "C0ASK"
        assert "evacuation drill" in call.params["text"]
