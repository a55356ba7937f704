"""Run the real bot (HTTP or Socket Mode) against the fake Slack, with the real AnswerService on a
real index built in a temp dir from the seeds plus one hostile document."""
from __future__ import annotations

import json
import shutil
import threading
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator

from bot.slack_runner import HttpRunner, SocketRunner
from bot.slack_settings import SlackSettings

from .payloads import action_form_body, form_body, signed_headers
from .server import FakeSlack

REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO / "seeds"
SECRET = "test-signing-secret-0123456789"

# A document that tries to ping everyone, a person and to smuggle a link, when quoted.
HOSTILE_DOC = (
    "Evacuation drill notice\n\n"
    "Attention <!channel> and <@U0BOSS>: the evacuation drill for the harbour office is on Thursday at 3pm "
    "& everyone must attend. Details are at <https://evil.example|the intranet page>.\n"
)


def build_corpus(root: Path) -> Path:
    corpus = root / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for f in SEEDS.glob("*.txt"):
        shutil.copy(f, corpus / f.name)
    (corpus / "memo.txt").write_text(HOSTILE_DOC, encoding="utf-8")
    return corpus


def open_service(root: Path):
    """The real AnswerService on a fresh index of seeds + the hostile memo."""
    import os

    from bot.service import AnswerService

    os.environ.setdefault("VERBATIM_QUIET_BUILD", "1")
    return AnswerService.open(db_path=root / "index.db", corpus=[build_corpus(root)])


def settings_for(fake: FakeSlack, state_db: Path, **overrides: Any) -> SlackSettings:
    base = SlackSettings(bot_token=fake.bot_token, app_token=fake.app_token, signing_secret=SECRET,
                         api_url=fake.api_url, port=0, host="127.0.0.1", state_db=state_db, http_timeout=5.0)
    return replace(base, **overrides)


class HttpBot:
    """Sends signed requests to the bot's `/slack/events`, as Slack would."""

    def __init__(self, runner: HttpRunner, secret: str = SECRET) -> None:
        self.runner, self.secret = runner, secret

    @property
    def store(self):
        return self.runner.store

    def post_raw(self, body: str, headers: dict[str, str], path: str = "/slack/events",
                 timeout: float = 5.0) -> tuple[int, str]:
        url = f"http://127.0.0.1:{self.runner.port}{path}"
        req = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()

    def get(self, path: str) -> tuple[int, str]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.runner.port}{path}", timeout=5) as resp:
            return resp.status, resp.read().decode()

    def post_event(self, callback: dict, *, timeout: float = 5.0, **sign: Any) -> tuple[int, str]:
        body = json.dumps(callback)
        return self.post_raw(body, signed_headers(body, sign.pop("secret", self.secret), **sign), timeout=timeout)

    def post_command(self, fields: dict[str, str], **sign: Any) -> tuple[int, str]:
        body = form_body(fields)
        return self.post_raw(body, signed_headers(body, self.secret, content_type="application/x-www-form-urlencoded",
                                                  **sign))

    def post_action(self, payload: dict, **sign: Any) -> tuple[int, str]:
        body = action_form_body(payload)
        return self.post_raw(body, signed_headers(body, self.secret, content_type="application/x-www-form-urlencoded",
                                                  **sign))


@contextmanager
def http_bot(fake: FakeSlack, service: Any, state_db: Path, **overrides: Any) -> Iterator[HttpBot]:
    runner = HttpRunner(settings_for(fake, state_db, **overrides), service)
    thread = threading.Thread(target=runner.serve_forever, daemon=True, name="bot-http")
    thread.start()
    try:
        yield HttpBot(runner)
    finally:
        runner.stop()
        thread.join(5)


@contextmanager
def socket_bot(fake: FakeSlack, service: Any, state_db: Path, *, ping_interval: float = 1.0,
               **overrides: Any) -> Iterator[SocketRunner]:
    runner = SocketRunner(settings_for(fake, state_db, **overrides), service, ping_interval=ping_interval)
    thread = threading.Thread(target=runner.serve_forever, daemon=True, name="bot-socket")
    thread.start()
    try:
        fake.wait_connected(1, timeout=10)
        yield runner
    finally:
        runner.stop()
        thread.join(5)
