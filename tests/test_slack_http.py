"""HTTP mode end to end: signed Events API requests, /ask and buttons to the real bolt app served by
waitress on a free port, the real AnswerService on a real index, and the fake Slack recording what
the bot posts."""
from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fakeslack import check_blocks, dm_event, event_callback, mention_event, slash_command  # noqa: E402
from fakeslack.fixtures import fake, http_bot_fixture, service  # noqa: E402,F401 (fixtures)
from fakeslack.harness import SECRET  # noqa: E402
from fakeslack.payloads import block_action  # noqa: E402

from bot.render_slack import ACTION_HELPFUL, ACTION_MORE, ACTION_NOT_HELPFUL, ACTION_SHARE, APOLOGY  # noqa: E402

ANSWERED = "when is the evacuation drill for the harbour office"
ANSWERED_MANY = "hostages ceasefire"
UNANSWERABLE = "what is the boiling point of tungsten"


def shown(call) -> str:
    """Everything a person can read in a posted message (button values are not displayed)."""
    blocks = [b for b in call.blocks if b.get("type") != "actions"]
    labels = [el["text"]["text"] for b in call.blocks if b.get("type") == "actions" for el in b["elements"]]
    return call.params.get("text", "") + json.dumps(blocks, ensure_ascii=False) + " ".join(labels)


def buttons(call) -> dict[str, dict]:
    return {el["action_id"]: el for b in call.blocks if b["type"] == "actions" for el in b["elements"]}


def test_mention_is_answered_in_its_thread_with_escaped_quotes(fake, bot):
    event = mention_event(ANSWERED, channel="C0GENERAL")
    began = time.monotonic()
    status, _ = bot.post_event(event_callback(event))
    assert status == 200 and time.monotonic() - began < 3  # acked well inside Slack's 3 s
    [call] = fake.wait_calls("chat.postMessage")
    assert call.params["channel"] == "C0GENERAL" and call.params["thread_ts"] == event["ts"]
    text = shown(call)
    assert "evacuation drill" in text and "memo.txt" in text
    # the document's <!channel>, <@U0BOSS> and link are shown escaped: nobody is pinged
    assert "&lt;!channel&gt;" in text and "&lt;@U0BOSS&gt;" in text and "&amp;" in text
    assert "<!channel>" not in text and "<@U0BOSS>" not in text and "<https://evil" not in text
    assert check_blocks(call.blocks) is None
    assert set(buttons(call)) >= {ACTION_HELPFUL, ACTION_NOT_HELPFUL}


def test_mention_inside_a_thread_replies_in_that_thread(fake, bot):
    event = mention_event(ANSWERED, thread_ts="1690000000.000001")
    bot.post_event(event_callback(event))
    [call] = fake.wait_calls("chat.postMessage")
    assert call.params["thread_ts"] == "1690000000.000001"


def test_dm_is_answered_in_the_dm(fake, bot):
    bot.post_event(event_callback(dm_event(ANSWERED_MANY, channel="D0ALICE")))
    [call] = fake.wait_calls("chat.postMessage")
    assert call.params["channel"] == "D0ALICE" and "thread_ts" not in call.params
    assert "passage" in call.params["text"] and ACTION_MORE in buttons(call)


def test_no_answer_says_so_and_suggests_rephrasing(fake, bot):
    bot.post_event(event_callback(mention_event(UNANSWERABLE)))
    [call] = fake.wait_calls("chat.postMessage")
    assert "No answer found in the sources." in call.params["text"]
    assert "rephras" in shown(call).lower()


def test_retries_and_concurrent_duplicates_are_answered_once(fake, bot):
    callback = event_callback(mention_event(ANSWERED))
    assert bot.post_event(callback)[0] == 200
    fake.wait_calls("chat.postMessage")
    for n in (1, 2, 3):
        assert bot.post_event(callback, retry_num=n)[0] == 200  # acked, so Slack stops retrying
    # the same event delivered five times at once (e.g. a retry racing the first delivery)
    racing = event_callback(mention_event(ANSWERED_MANY))
    threads = [threading.Thread(target=bot.post_event, args=(racing,), kwargs={"retry_num": i}) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    fake.wait_calls("chat.postMessage", 2)
    fake.quiet_for(0.3)
    assert len(fake.posted()) == 2
    assert bot.store.get(callback["event_id"]).status == "answered"
    assert bot.store.get(racing["event_id"]).status == "answered"


def test_bots_edits_and_channel_messages_are_ignored(fake, bot):
    ignored = [
        dm_event(ANSWERED, bot_id="BOTHER", subtype="bot_message"),      # another bot
        dm_event(ANSWERED, bot_id="BBOT0001", user="UBOT0001"),          # ourselves
        dm_event(ANSWERED, subtype="message_changed"),                   # an edit
        dm_event(ANSWERED, subtype="message_deleted"),
        dm_event(ANSWERED, channel_type="channel", channel="C0GENERAL"),  # not a DM
        mention_event(ANSWERED, bot_id="BOTHER"),                         # a bot mentioning us
    ]
    for event in ignored:
        assert bot.post_event(event_callback(event))[0] == 200
    bot.post_event(event_callback(dm_event("sentinel " + ANSWERED)))
    [call] = fake.wait_calls("chat.postMessage")  # only the sentinel got an answer
    fake.quiet_for(0.3)
    assert len(fake.posted()) == 1 and "evacuation" in shown(call)


@pytest.mark.parametrize("question", [
    "", "   ", "<!channel>", "<@U0OTHER>", "?!.,;", "the of and a", "why " * 1250, "word " * 400,
    "'; DROP TABLE chunks; --", 'NEAR(hamas israel) OR * "quoted"', "🔥🔥 ceasefire? 🕊️",
    "ما هو وقف إطلاق النار", "מה קרה בעזה", "停火协议是什么", "ctrl\x00\x07\x1b[31m chars",
    "&lt;script&gt;alert(1)&lt;/script&gt;", "<https://example.com|hostages> <#C1|general>",
])
def test_hostile_questions_get_exactly_one_safe_reply(fake, bot, question):
    event = mention_event(question)
    assert bot.post_event(event_callback(event))[0] == 200
    [call] = fake.wait_calls("chat.postMessage")
    fake.quiet_for(0.2)
    assert len(fake.posted()) == 1 and call.params["thread_ts"] == event["ts"]
    text = shown(call)
    assert APOLOGY not in text and "Traceback" not in text and "Error" not in text
    assert "<!channel>" not in text and "<script>" not in text
    assert check_blocks(call.blocks) is None


def test_forged_and_stale_requests_are_refused(fake, bot):
    callback = event_callback(mention_event(ANSWERED))
    assert bot.post_event(callback, secret="not-the-secret")[0] == 401
    assert bot.post_event(callback, timestamp=int(time.time()) - 600)[0] == 401  # replay, 10 minutes old
    body = json.dumps(callback)
    assert bot.post_raw(body, {"Content-Type": "application/json"})[0] == 401     # unsigned
    tampered = dict(callback, event=dict(callback["event"], text="<@UBOT0001> something else"))
    from fakeslack import signed_headers
    headers = signed_headers(body, SECRET)
    assert bot.post_raw(json.dumps(tampered), headers)[0] == 401                   # body changed after signing
    fake.quiet_for(0.3)
    assert fake.posted() == [] and bot.store.get(callback["event_id"]) is None


def test_url_verification_and_health(bot):
    status, body = bot.post_event({"type": "url_verification", "challenge": "abc123", "token": "t"})
    assert status == 200 and "abc123" in body
    assert bot.get("/healthz") == (200, "ok\n")


def test_ask_is_private_and_share_posts_it_in_the_channel(fake, bot):
    status, body = bot.post_command(slash_command(ANSWERED, response_url=fake.response_url("cmd")))
    assert status == 200 and body == ""
    [reply] = fake.wait_calls("response_url")
    assert reply.path == "/respond/cmd" and reply.params["response_type"] == "ephemeral"
    assert "&lt;!channel&gt;" in shown(reply) and "<!channel>" not in shown(reply)
    share = buttons(reply)[ACTION_SHARE]
    bot.post_action(block_action(share, response_url=fake.response_url("share"), ephemeral=True, user="U0ALICE"))
    calls = fake.wait_calls("response_url", 3)
    public = [c for c in calls if c.path == "/respond/share" and c.params.get("response_type") == "in_channel"]
    assert len(public) == 1
    assert "Shared by <@U0ALICE>" in shown(public[0]) and "evacuation drill" in shown(public[0])
    assert ACTION_SHARE not in buttons(public[0])
    assert fake.posted() == []  # nothing went through chat.postMessage


def test_empty_ask_gets_usage(fake, bot):
    bot.post_command(slash_command("  ", response_url=fake.response_url("cmd")))
    [reply] = fake.wait_calls("response_url")
    assert "/ask" in reply.params["text"]


def test_feedback_is_stored_and_acknowledged(fake, bot):
    bot.post_event(event_callback(mention_event(ANSWERED)))
    [answer] = fake.wait_calls("chat.postMessage")
    b = buttons(answer)
    for action_id, user in ((ACTION_HELPFUL, "U0ALICE"), (ACTION_NOT_HELPFUL, "U0BOB"), (ACTION_HELPFUL, "U0BOB")):
        status, _ = bot.post_action(block_action(b[action_id], response_url=fake.response_url(f"fb-{user}"),
                                                 message_ts=answer.params["thread_ts"], user=user))
        assert status == 200
    thanks = fake.wait_calls("response_url", 3)
    assert all(c.params["response_type"] == "ephemeral" and "Thanks" in c.params["text"] for c in thanks)
    rows = {r["user_id"]: r for r in bot.store.feedback()}
    assert rows["U0ALICE"]["rating"] == "helpful" and rows["U0BOB"]["rating"] == "helpful"  # Bob changed his mind
    assert rows["U0ALICE"]["question"] == ANSWERED and "memo.txt" in rows["U0ALICE"]["sources"]
    assert bot.store.delete_feedback() == 2


def test_more_posts_the_next_passages_in_the_thread(fake, bot):
    event = mention_event(ANSWERED_MANY)
    bot.post_event(event_callback(event))
    [first] = fake.wait_calls("chat.postMessage")
    more = buttons(first)[ACTION_MORE]
    bot.post_action(block_action(more, response_url=fake.response_url("more"), message_ts="1700000009.000100",
                                 thread_ts=event["ts"]))
    second = fake.wait_calls("chat.postMessage", 2)[1]
    assert second.params["thread_ts"] == event["ts"] and "More passages (4–" in shown(second)
    first_sources = json.loads(buttons(first)[ACTION_HELPFUL]["value"])["s"]
    second_sources = json.loads(buttons(second)[ACTION_HELPFUL]["value"])["s"]
    assert second_sources and not set(first_sources) & set(second_sources)


def test_forged_button_values_do_not_crash(fake, bot):
    for value in ("not json", '{"q": 5}', '{"q": "x", "k": "many", "o": -3}', '{"q": "hostages", "o": 99999999}'):
        bot.post_action(block_action({"action_id": ACTION_MORE, "value": value}, response_url=fake.response_url(),
                                     ephemeral=True))
    replies = fake.wait_calls("response_url", 4)
    assert all("Traceback" not in c.params.get("text", "") for c in replies)


def _thread_cpu_seconds(native_id: int) -> float:
    fields = Path(f"/proc/self/task/{native_id}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / __import__("os").sysconf("SC_CLK_TCK")


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads per-thread CPU time from Linux /proc")
def test_idle_server_loop_waits_instead_of_spinning(fake, bot):
    """waitress reads asyncore_loop_timeout with int(): a fractional value became 0 and its socket loop
    burnt a CPU (and the GIL the answers need) even with nobody talking to it."""
    status, _ = bot.get("/healthz")  # the loop is up and has served a request
    assert status == 200
    [loop] = [t for t in threading.enumerate() if t.name == "bot-http"]
    before = _thread_cpu_seconds(loop.native_id)
    time.sleep(1.5)
    assert _thread_cpu_seconds(loop.native_id) - before < 0.3
    began = time.monotonic()
    bot.runner.stop()  # stopping is still prompt: the trigger wakes the loop, not the timeout
    assert time.monotonic() - began < 1.0


def test_http_threads_setting_sizes_the_server_and_answers_still_arrive(fake, service, tmp_path):
    from fakeslack.harness import http_bot

    with http_bot(fake, service, tmp_path / "threads.db", http_threads=2, listener_threads=2) as b:
        assert len(b.runner.server.task_dispatcher.threads) == 2
        events = [mention_event(ANSWERED) for _ in range(6)]
        for e in events:
            assert b.post_event(event_callback(e))[0] == 200
        fake.wait_calls("chat.postMessage", 6, timeout=10)
        assert sorted(c.params["thread_ts"] for c in fake.posted()) == sorted(e["ts"] for e in events)
