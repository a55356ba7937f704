"""The Web API client keeps its connections open (`bot.slack_webclient.PooledWebClient`), against the
fake Slack on loopback: calls share one connection, a connection the server closed is replaced
without losing or repeating a message, and slack_sdk's errors and retries behave as with urllib."""
from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest
from slack_sdk.errors import SlackApiError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fakeslack import FakeSlack, Fault  # noqa: E402
from fakeslack.fixtures import fake  # noqa: E402,F401 (fixture)

from bot.slack_app import make_web_client  # noqa: E402
from bot.slack_settings import SlackSettings  # noqa: E402
from bot.slack_webclient import PooledWebClient  # noqa: E402


def client_for(fake: FakeSlack, timeout: float = 5.0) -> PooledWebClient:
    client = make_web_client(SlackSettings(bot_token=fake.bot_token, api_url=fake.api_url, http_timeout=timeout))
    assert isinstance(client, PooledWebClient)
    return client


def post(client: PooledWebClient, text: str, thread: str = "1700000000.000001") -> dict:
    return client.chat_postMessage(channel="C0CHAN01", thread_ts=thread, text=text).data


def test_calls_share_one_connection(fake):
    client = client_for(fake)
    for i in range(20):
        assert post(client, f"answer {i}")["ok"]
    assert [c.params["text"] for c in fake.posted()] == [f"answer {i}" for i in range(20)]
    assert fake.http_connections == 1


def test_concurrent_calls_each_post_once_on_a_few_connections(fake):
    client = client_for(fake)
    threads = [threading.Thread(target=post, args=(client, f"answer {i}", f"17000000{i:02d}.000001"))
               for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    texts = sorted(c.params["text"] for c in fake.posted())
    assert texts == sorted(f"answer {i}" for i in range(24))
    assert fake.http_connections <= 24
    before = fake.http_connections
    for i in range(10):  # afterwards the idle connections are reused, not replaced
        post(client, f"again {i}")
    assert fake.http_connections == before


def test_a_connection_closed_by_the_server_is_replaced_without_losing_or_repeating(fake):
    client = client_for(fake)
    post(client, "first")
    fake.close_http_connections()  # the server closes the idle keep-alive connection
    time.sleep(0.05)
    post(client, "second")
    assert [c.params["text"] for c in fake.posted()] == ["first", "second"]
    assert len(fake.calls("chat.postMessage")) == 2 and fake.http_connections == 2


def test_http_errors_and_retries_behave_as_with_urllib(fake):
    client = client_for(fake)
    fake.inject("chat.postMessage", Fault(status=500), Fault(status=429, retry_after=0))
    assert post(client, "after a 500 and a 429")["ok"]
    assert len(fake.calls("chat.postMessage")) == 3 and len(fake.posted()) == 1
    fake.inject("chat.postMessage", Fault(error="channel_not_found"))
    with pytest.raises(SlackApiError) as err:
        post(client, "refused")
    assert err.value.response["error"] == "channel_not_found"
    assert post(client, "still fine")["ok"]


def test_a_dropped_response_is_retried_once_on_a_new_connection(fake):
    client = client_for(fake)
    post(client, "warm")
    fake.inject("chat.postMessage", Fault(drop=True))
    assert post(client, "after a drop")["ok"]
    assert [c.params["text"] for c in fake.posted()] == ["warm", "after a drop"]


def test_a_timeout_is_raised_not_retried(fake):
    client = client_for(fake, timeout=0.5)
    post(client, "warm")
    fake.inject("chat.postMessage", Fault(delay=1.5))
    with pytest.raises(TimeoutError):
        post(client, "slow")
    time.sleep(1.2)  # the slow call still lands at the fake: exactly one attempt was made
    assert len(fake.calls("chat.postMessage")) == 2
    assert post(client, "after the timeout")["ok"]  # the timed-out connection was not reused
