"""Slack settings, read once from the environment.

Why a value object: the runners, the app factory and the tests all need the same handful of values,
and reading `os.environ` in one place is what lets a missing variable become one clear line
(`ConfigError` naming it) instead of a `KeyError` traceback deep inside slack_sdk.
Tokens are kept out of `repr()` so a settings object can be logged safely.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Mapping

from index.config import default_db_path
from index.errors import ConfigError

Mode = Literal["socket", "http"]

DEFAULT_API_URL = "https://slack.com/api/"
DEFAULT_PORT = 3000


@dataclass(frozen=True)
class SlackSettings:
    """Everything the Slack front end needs; secrets are excluded from repr."""

    bot_token: str = field(repr=False)
    app_token: str | None = field(default=None, repr=False)  # Socket Mode only (xapp-...)
    signing_secret: str | None = field(default=None, repr=False)  # HTTP mode only
    api_url: str = DEFAULT_API_URL  # WebClient base_url: GovSlack, proxies and the tests' fake Slack
    port: int = DEFAULT_PORT
    host: str = "0.0.0.0"
    state_db: Path = Path(".verbatim") / "slack-state.db"  # seen event ids + feedback
    http_timeout: float = 10.0  # seconds per Web API call
    answer_k: int = 3  # passages per answer page
    listener_threads: int = 8  # concurrent answers (bolt's default is 5)
    http_threads: int = 8  # waitress request threads: they only verify, parse and ack, then hand over

    def secrets(self) -> list[str]:
        """The values that must never appear in a log line."""
        return [s for s in (self.bot_token, self.app_token, self.signing_secret) if s]


def _require(env: Mapping[str, str], name: str, why: str) -> str:
    value = (env.get(name) or "").strip()
    if not value:
        raise ConfigError(f"{name} is not set: {why}")
    return value


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name}={value} is out of range ({lo}..{hi})")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if not value > 0:
        raise ConfigError(f"{name} must be positive, got {raw}")
    return value


def default_state_db(env: Mapping[str, str] | None = None) -> Path:
    """`$VERBATIM_STATE_DB`, else `slack-state.db` beside the index (a separate small file, so
    rebuilding or deleting the index never loses the seen-events table or the feedback)."""
    env = os.environ if env is None else env
    raw = (env.get("VERBATIM_STATE_DB") or "").strip()
    if raw:
        return Path(raw)
    index_db = Path(env["VERBATIM_DB"]) if env.get("VERBATIM_DB") else default_db_path()
    return index_db.with_name("slack-state.db")


def load_settings(mode: Mode, env: Mapping[str, str] | None = None) -> SlackSettings:
    """Read the settings `mode` needs; raise `ConfigError` naming the first missing variable.

    socket: SLACK_BOT_TOKEN + SLACK_APP_TOKEN.  http: SLACK_BOT_TOKEN + SLACK_SIGNING_SECRET (+ PORT).
    Both: SLACK_API_URL (default https://slack.com/api/), VERBATIM_STATE_DB, SLACK_HTTP_TIMEOUT.
    """
    env = os.environ if env is None else env
    if mode not in ("socket", "http"):
        raise ConfigError(f"unknown Slack mode {mode!r}: use 'socket' or 'http'")
    bot_token = _require(env, "SLACK_BOT_TOKEN", "set it to the app's Bot User OAuth Token (xoxb-...)")
    if not bot_token.startswith("xox"):
        raise ConfigError("SLACK_BOT_TOKEN does not look like a Slack token: use the Bot User OAuth Token (xoxb-...)")
    app_token = signing_secret = None
    if mode == "socket":
        app_token = _require(env, "SLACK_APP_TOKEN",
                             "Socket Mode needs an app-level token with connections:write (xapp-...)")
        if not app_token.startswith("xapp-"):
            raise ConfigError("SLACK_APP_TOKEN must be an app-level token starting with xapp- (not the bot token)")
    else:
        signing_secret = _require(env, "SLACK_SIGNING_SECRET",
                                  "HTTP mode needs the app's Signing Secret (Basic Information > App Credentials)")
    api_url = (env.get("SLACK_API_URL") or "").strip() or DEFAULT_API_URL
    if not api_url.startswith(("http://", "https://")):
        raise ConfigError(f"SLACK_API_URL={api_url!r} must start with http:// or https://")
    if not api_url.endswith("/"):
        api_url += "/"  # WebClient joins base_url + method name
    return SlackSettings(
        bot_token=bot_token,
        app_token=app_token,
        signing_secret=signing_secret,
        api_url=api_url,
        port=_int(env, "PORT", DEFAULT_PORT, 0, 65535),
        host=(env.get("HOST") or "").strip() or "0.0.0.0",
        state_db=default_state_db(env),
        http_timeout=_float(env, "SLACK_HTTP_TIMEOUT", 10.0),
        answer_k=_int(env, "VERBATIM_SLACK_K", 3, 1, 10),
        listener_threads=_int(env, "VERBATIM_SLACK_THREADS", SlackSettings.listener_threads, 1, 64),
        http_threads=_int(env, "VERBATIM_HTTP_THREADS", SlackSettings.http_threads, 1, 64),
    )


__all__ = ["SlackSettings", "load_settings", "default_state_db", "DEFAULT_API_URL"]
