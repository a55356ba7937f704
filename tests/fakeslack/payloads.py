"""Builders for what Slack sends a bot: Events API callbacks, slash commands, block actions, and the
v0 request signature (HMAC-SHA256 of `v0:{timestamp}:{body}` with the signing secret)."""
from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any
from urllib.parse import urlencode

_seq = itertools.count(1)


def signed_headers(body: str, secret: str, *, timestamp: int | None = None,
                   content_type: str = "application/json", retry_num: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    sig = "v0=" + hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig}
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    return headers


def _ts() -> str:
    return f"{1600000000 + next(_seq)}.{next(_seq):06d}"


def mention_event(text: str, *, channel: str = "C0CHAN01", user: str = "U0ALICE", bot_user: str = "UBOT0001",
                  thread_ts: str | None = None, ts: str | None = None, **extra: Any) -> dict:
    event = {"type": "app_mention", "user": user, "text": f"<@{bot_user}> {text}", "ts": ts or _ts(),
             "channel": channel, "event_ts": ts or _ts()}
    if thread_ts:
        event["thread_ts"] = thread_ts
    event.update(extra)
    return event


def dm_event(text: str, *, channel: str = "D0DM0001", user: str = "U0ALICE", ts: str | None = None,
             **extra: Any) -> dict:
    event = {"type": "message", "channel_type": "im", "user": user, "text": text, "ts": ts or _ts(),
             "channel": channel, "event_ts": ts or _ts()}
    event.update(extra)
    return event


def event_callback(event: dict, *, event_id: str | None = None, team_id: str = "T0001",
                   bot_user: str = "UBOT0001") -> dict:
    return {
        "token": "legacy-verification-token", "team_id": team_id, "api_app_id": "A0001", "event": event,
        "type": "event_callback", "event_id": event_id or f"Ev{next(_seq):08d}", "event_time": int(time.time()),
        "authorizations": [{"team_id": team_id, "user_id": bot_user, "is_bot": True}],
        "is_ext_shared_channel": False,
    }


def slash_command(text: str, *, response_url: str, channel: str = "C0CHAN01", user: str = "U0ALICE",
                  team_id: str = "T0001") -> dict[str, str]:
    return {"token": "legacy-verification-token", "team_id": team_id, "team_domain": "fake",
            "channel_id": channel, "channel_name": "general", "user_id": user, "user_name": "alice",
            "command": "/ask", "text": text, "api_app_id": "A0001", "response_url": response_url,
            "trigger_id": f"trig{next(_seq)}"}


def form_body(fields: dict[str, str]) -> str:
    return urlencode(fields)


def block_action(action: dict, *, response_url: str, channel: str = "C0CHAN01", user: str = "U0ALICE",
                 message_ts: str = "1700000001.000100", thread_ts: str | None = None,
                 ephemeral: bool = False, team_id: str = "T0001") -> dict:
    """A block_actions payload for a click on `action` (a button dict as the bot rendered it)."""
    clicked = {"action_id": action["action_id"], "block_id": "verbatim_actions", "type": "button",
               "value": action.get("value", ""), "text": action.get("text"), "action_ts": _ts()}
    payload: dict[str, Any] = {
        "type": "block_actions", "user": {"id": user, "username": "alice", "team_id": team_id},
        "api_app_id": "A0001", "token": "legacy-verification-token", "trigger_id": f"trig{next(_seq)}",
        "team": {"id": team_id, "domain": "fake"}, "channel": {"id": channel, "name": "general"},
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel,
                      "is_ephemeral": ephemeral},
        "response_url": response_url, "actions": [clicked],
    }
    if not ephemeral:
        message = {"type": "message", "ts": message_ts, "bot_id": "BBOT0001", "text": "answer"}
        if thread_ts:
            message["thread_ts"] = thread_ts
        payload["message"] = message
    return payload


def action_form_body(payload: dict) -> str:
    return urlencode({"payload": json.dumps(payload)})
