"""Socket Mode end to end: the real bolt app with slack_sdk's built-in Socket Mode client connects to
the fake Slack's websocket; envelopes are acked, answered once, and the client reconnects."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fakeslack import dm_event, event_callback, mention_event, slash_command  # noqa: E402
from fakeslack.fixtures import fake, service, socket_bot_fixture  # noqa: E402,F401 (fixtures)
from fakeslack.payloads import block_action  # noqa: E402

from bot.render_slack import ACTION_HELPFUL  # noqa: E402

ANSWERED = "when is the evacuation drill for the harbour office"


def mention_is_answered(fake) -> None:
    """A mention sent now is acked and answered: after a reconnect, proof the new connection works
    end to end (waiting for it to open is not enough: envelopes could still go nowhere)."""
    envelope = fake.send_envelope("events_api", event_callback(mention_event(ANSWERED)))
    fake.wait_ack(envelope)
    fake.wait_calls("chat.postMessage")


def test_mention_envelope_is_acked_and_answered_in_thread(fake, bot):
    event = mention_event(ANSWERED, channel="C0SOCK")
    envelope = fake.send_envelope("events_api", event_callback(event))
    assert fake.wait_ack(envelope) == {"envelope_id": envelope}
    [call] = fake.wait_calls("chat.postMessage")
    assert call.params["channel"] == "C0SOCK" and call.params["thread_ts"] == event["ts"]
    text = call.params["text"] + json.dumps(call.blocks)
    assert "&lt;!channel&gt;" in call.params["text"] and "<!channel>" not in text and "<@U0BOSS>" not in text


def test_retry_attempts_are_acked_but_not_answered_again(fake, bot):
    callback = event_callback(dm_event(ANSWERED))
    first = fake.send_envelope("events_api", callback, retry_attempt=0)
    fake.wait_ack(first)
    fake.wait_calls("chat.postMessage")
    retries = [fake.send_envelope("events_api", callback, retry_attempt=n) for n in (1, 2)]
    for envelope in retries:
        fake.wait_ack(envelope)
    fake.quiet_for(0.3)
    assert len(fake.posted()) == 1
    assert bot.store.get(callback["event_id"]).status == "answered"


def test_a_retry_racing_the_first_delivery_is_answered_once(fake, bot):
    callback = event_callback(dm_event("hostages ceasefire"))
    envelopes = [fake.send_envelope("events_api", callback, retry_attempt=n) for n in (0, 1, 2, 0)]
    for envelope in envelopes:
        fake.wait_ack(envelope)
    fake.wait_calls("chat.postMessage")
    fake.quiet_for(0.3)
    assert len(fake.posted()) == 1


def test_reconnects_after_disconnect_and_keeps_answering(fake, bot):
    fake.send_disconnect("refresh_requested")
    fake.wait_for(lambda: fake.connections_opened >= 2 and fake.live_connections() == 1, timeout=10)
    mention_is_answered(fake)
    assert len(fake.calls("apps.connections.open")) == 2


def test_reconnects_after_the_server_closes_the_socket(fake, bot):
    fake.close_connections()
    fake.wait_for(lambda: fake.connections_opened >= 2 and fake.live_connections() >= 1, timeout=10)
    mention_is_answered(fake)


@pytest.mark.slow
def test_reconnects_after_a_dropped_connection(fake, bot):
    """No close frame: the client notices through failed pings (ping_interval 1 s here)."""
    fake.drop_connections()
    fake.wait_for(lambda: fake.connections_opened >= 2 and fake.live_connections() >= 1, timeout=20)
    mention_is_answered(fake)


def test_slash_command_and_button_envelopes(fake, bot):
    envelope = fake.send_envelope("slash_commands", slash_command(ANSWERED, response_url=fake.response_url("cmd")),
                                  accepts_response_payload=True)
    fake.wait_ack(envelope)
    [reply] = fake.wait_calls("response_url")
    assert reply.params["response_type"] == "ephemeral" and "evacuation drill" in reply.params["text"]
    helpful = next(el for b in reply.blocks if b["type"] == "actions" for el in b["elements"]
                   if el["action_id"] == ACTION_HELPFUL)
    envelope = fake.send_envelope("interactive", block_action(helpful, response_url=fake.response_url("fb"),
                                                              ephemeral=True))
    fake.wait_ack(envelope)
    fake.wait_calls("response_url", 2)
    assert [r["rating"] for r in bot.store.feedback()] == ["helpful"]


def test_events_nobody_listens_to_are_still_acked(fake, bot):
    envelope = fake.send_envelope("events_api", event_callback({"type": "reaction_added", "user": "U1",
                                                                "reaction": "thumbsup", "event_ts": "1.2"}))
    fake.wait_ack(envelope)
    fake.quiet_for(0.2)
    assert fake.posted() == []
