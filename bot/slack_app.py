"""The Slack app: a factory that builds the bolt `App` and the listeners that answer questions.

Nothing happens at import. `create_app` builds the WebClient with `base_url=SLACK_API_URL` (so
GovSlack, proxies and the tests' fake Slack work; `App(token=...)` alone would always call slack.com)
and with retry handlers that honour `Retry-After` on HTTP 429 and retry 500/503 a few times.

How each question is handled (the production rules of issue 4):
- Events are acked by bolt before the listener runs (auto-ack), slash commands and buttons call
  `ack()` first; answering happens after the ack, in bolt's listener thread pool.
- Every event is claimed by `event_id` in the persistent seen-table before answering; a retry
  (`X-Slack-Retry-Num` / Socket Mode `retry_attempt`) or any second delivery finds the claim and is
  dropped, even while the first delivery is still being answered.
- Messages from bots (ours included), edits, deletions and other subtypes are ignored.
- Users only ever see an answer, a no-answer with a hint, or a fixed apology; exception text goes to
  the log with the event id, and the event is marked failed in the seen-table.
"""
from __future__ import annotations

import logging
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Protocol

from slack_bolt import App
from slack_bolt.error import BoltError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator

from bot.answer import Answer
from bot.render_slack import (
    ACTION_HELPFUL,
    ACTION_MORE,
    ACTION_NOT_HELPFUL,
    ACTION_SHARE,
    SlackMessage,
    parse_value,
    render_answer,
    render_apology,
    render_feedback_thanks,
    render_usage,
)
from bot.slack_events import SlackStateStore
from bot.slack_settings import SlackSettings
from bot.slack_text import normalize_question
from bot.slack_webclient import PooledWebClient
from index.errors import ConfigError

log = logging.getLogger("verbatim.slack")

# Any message subtype is an edit, a deletion, a join, a bot post...: never a new question.
# (file_share and thread_broadcast are people typing, so they are kept.)
_QUESTION_SUBTYPES = {None, "file_share", "thread_broadcast"}
_MAX_OFFSET = 500  # a forged More button cannot make the service page forever
_MAX_K = 10
# Slack API errors where the blocks were refused: try once more with the plain-text fallback.
_BLOCK_ERRORS = {"invalid_blocks", "invalid_blocks_format", "msg_too_long", "too_many_blocks"}


class AnswerServiceLike(Protocol):
    """What the Slack front end needs from `bot.service.AnswerService`."""

    def ask(self, question: str, k: int = 3, offset: int = 0) -> Answer: ...


def make_web_client(settings: SlackSettings) -> WebClient:
    """A WebClient pointed at `settings.api_url` that retries what is safe to retry:
    429 after Retry-After, 500/503 twice with short back-off, connection resets; it keeps its
    connections open between calls (`PooledWebClient`), instead of one connection per message."""
    client = PooledWebClient(token=settings.bot_token, base_url=settings.api_url, timeout=max(1, int(settings.http_timeout)))
    client.timeout = settings.http_timeout  # int() above only satisfies the type hint; urllib takes floats
    client.retry_handlers = [
        ConnectionErrorRetryHandler(max_retry_count=1),
        RateLimitErrorRetryHandler(max_retry_count=3),
        ServerErrorRetryHandler(max_retry_count=2,
                                interval_calculator=BackoffRetryIntervalCalculator(backoff_factor=0.2)),
    ]
    return client


def create_app(settings: SlackSettings, service: AnswerServiceLike, *, store: SlackStateStore | None = None,
               client: WebClient | None = None, token_verification: bool = True) -> App:
    """Build the bolt App (HTTP mode verifies signatures when `settings.signing_secret` is set).

    `token_verification` calls auth.test now, so a wrong token fails at start with one clear line
    rather than on the first question."""
    client = client or make_web_client(settings)
    store = store or SlackStateStore(settings.state_db)
    try:
        app = App(
            client=client,
            signing_secret=settings.signing_secret or "",
            request_verification_enabled=bool(settings.signing_secret),
            token_verification_enabled=token_verification,
            process_before_response=False,
            listener_executor=ThreadPoolExecutor(max_workers=settings.listener_threads,
                                                 thread_name_prefix="verbatim-answer"),
            logger=logging.getLogger("verbatim.slack.bolt"),
        )
    except BoltError as err:
        # bolt's message names the API error (e.g. invalid_auth), never the token itself
        raise ConfigError(f"Slack rejected SLACK_BOT_TOKEN at {settings.api_url}auth.test: {err}") from None
    register_listeners(app, service, store, k=settings.answer_k)
    return app


def _is_question_message(event: dict[str, Any]) -> bool:
    return (event.get("subtype") in _QUESTION_SUBTYPES and not event.get("bot_id")
            and not event.get("bot_profile") and not event.get("hidden") and bool(event.get("user")))


def _error_code(err: Exception) -> str:
    if isinstance(err, SlackApiError):
        try:
            return str(err.response.get("error") or err.response.status_code)
        except Exception:  # a malformed response object must not hide the original failure
            return "slack_api_error"
    return type(err).__name__


def _respond(respond: Callable, **kwargs: Any) -> None:
    """Call bolt's `respond` (response_url) and raise if Slack did not take it: the webhook client
    returns error statuses instead of raising, which would otherwise make failures silent."""
    result = respond(**kwargs)
    status = getattr(result, "status_code", 200)
    if status >= 400:
        raise RuntimeError(f"response_url answered HTTP {status}")


class _Handlers:
    """The listeners. One instance per app; state lives in the store, not here."""

    def __init__(self, service: AnswerServiceLike, store: SlackStateStore, k: int) -> None:
        self.service = service
        self.store = store
        self.k = k
        # Services that declare themselves thread-safe are called concurrently; others are serialised
        # (answers take milliseconds, and a shared SQLite handle must not be used from two threads).
        self._ask_lock: threading.Lock | None = None if getattr(service, "thread_safe", False) else threading.Lock()

    # -- answering ------------------------------------------------------------------------------
    def _ask(self, question: str, k: int, offset: int = 0) -> Answer:
        if self._ask_lock is None:
            return self.service.ask(question, k=k, offset=offset)
        with self._ask_lock:
            return self.service.ask(question, k=k, offset=offset)

    def _build(self, raw: str, *, share: bool, label: str) -> tuple[SlackMessage, str | None]:
        """(message, failure) for a question as typed in Slack; failure is an error class name."""
        question = normalize_question(raw)
        if not question:
            return render_usage(), None
        try:
            return render_answer(self._ask(question, self.k), k=self.k, share=share), None
        except Exception as err:  # the user sees a fixed apology; the log gets the details
            log.exception("%s: answering failed (%s)", label, type(err).__name__)
            return render_apology(), type(err).__name__

    def _post(self, client: WebClient, channel: str, thread_ts: str | None, msg: SlackMessage) -> None:
        kwargs: dict[str, Any] = {"channel": channel, "unfurl_links": False, "unfurl_media": False}
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        try:
            client.chat_postMessage(**kwargs, **msg.kwargs())
        except SlackApiError as err:
            if _error_code(err) not in _BLOCK_ERRORS or not msg.blocks:
                raise
            log.warning("blocks refused (%s); posting the text fallback", _error_code(err))
            client.chat_postMessage(**kwargs, text=msg.text)

    def _answer_event(self, *, event_id: str, retry: str | None, text: str, channel: str,
                      thread_ts: str | None, client: WebClient) -> None:
        if not self.store.claim(event_id):
            log.info("event %s: already taken (delivery retry %s), not answering twice", event_id, retry or 0)
            return
        msg, failure = self._build(text, share=False, label=f"event {event_id}")
        try:
            self._post(client, channel, thread_ts, msg)
        except Exception as err:
            self.store.mark_failed(event_id, f"post:{_error_code(err)}")
            log.error("event %s: FAILED, the answer could not be posted to %s (%s)", event_id, channel,
                      _error_code(err))
            return
        if failure:
            self.store.mark_failed(event_id, failure)
            log.error("event %s: FAILED, an apology was posted instead of an answer (%s)", event_id, failure)
        else:
            self.store.mark_answered(event_id)

    @staticmethod
    def _event_id(body: dict[str, Any], event: dict[str, Any]) -> str:
        # event_id is always there in Events API payloads; the fallback keeps hand-made events unique
        return str(body.get("event_id") or f"{event.get('channel')}:{event.get('ts')}")

    @staticmethod
    def _retry(request: Any) -> str | None:
        headers = getattr(request, "headers", None) or {}
        value = headers.get("x-slack-retry-num")
        return value[0] if isinstance(value, list) and value else value

    def on_mention(self, body: dict, event: dict, client: WebClient, request: Any) -> None:
        if event.get("bot_id") or event.get("bot_profile") or event.get("subtype"):
            return
        self._answer_event(event_id=self._event_id(body, event), retry=self._retry(request),
                           text=event.get("text") or "", channel=event["channel"],
                           thread_ts=event.get("thread_ts") or event.get("ts"), client=client)

    def on_message(self, body: dict, event: dict, client: WebClient, request: Any) -> None:
        if event.get("channel_type") != "im" or not _is_question_message(event):
            return
        # reply in the DM itself, or in the DM thread the person wrote in
        self._answer_event(event_id=self._event_id(body, event), retry=self._retry(request),
                           text=event.get("text") or "", channel=event["channel"],
                           thread_ts=event.get("thread_ts"), client=client)

    def on_ask(self, ack: Callable, command: dict, respond: Callable, client: WebClient) -> None:
        ack()
        label = f"/ask by {command.get('user_id')} in {command.get('channel_id')}"
        msg, failure = self._build(command.get("text") or "", share=True, label=label)
        try:
            _respond(respond, response_type="ephemeral", replace_original=False, **msg.kwargs())
        except Exception as err:
            log.warning("%s: response_url failed (%s), trying chat.postEphemeral", label, _error_code(err))
            try:
                client.chat_postEphemeral(channel=command["channel_id"], user=command["user_id"], **msg.kwargs())
            except Exception as err2:
                log.error("%s: FAILED, the answer could not be delivered (%s)", label, _error_code(err2))
                return
        if failure:
            log.error("%s: FAILED, an apology was shown instead of an answer (%s)", label, failure)

    # -- buttons --------------------------------------------------------------------------------
    @staticmethod
    def _where(body: dict) -> tuple[str | None, str | None, bool, dict]:
        container = body.get("container") or {}
        channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
        message = body.get("message") or {}
        ts = container.get("message_ts") or message.get("ts")
        return channel, ts, bool(container.get("is_ephemeral")), message

    def on_feedback(self, ack: Callable, body: dict, action: dict, respond: Callable) -> None:
        ack()
        rating = "helpful" if action.get("action_id") == ACTION_HELPFUL else "not_helpful"
        data = parse_value(action.get("value"))
        channel, ts, _, _ = self._where(body)
        user = (body.get("user") or {}).get("id") or "unknown"
        sources = [str(s)[:300] for s in data.get("s", []) if isinstance(s, str)][:10]
        self.store.record_feedback(rating=rating, user_id=user, channel=channel or "", message_ts=ts or "",
                                   question=str(data.get("q") or "")[:2000], sources=sources)
        log.info("feedback %s from %s on %s/%s", rating, user, channel, ts)
        try:
            _respond(respond, text=render_feedback_thanks(rating), response_type="ephemeral",
                     replace_original=False)
        except Exception as err:
            log.warning("feedback recorded but the thanks could not be shown (%s)", _error_code(err))

    def _page_from(self, action: dict) -> tuple[str, int, int] | None:
        data = parse_value(action.get("value"))
        question = data.get("q")
        if not isinstance(question, str) or not question.strip():
            return None
        try:
            k = min(max(int(data.get("k", self.k)), 1), _MAX_K)
            offset = min(max(int(data.get("o", 0)), 0), _MAX_OFFSET)
        except (TypeError, ValueError):
            return None
        return question, k, offset

    def _render_page(self, action: dict, *, share: bool, shared_by: str | None = None) -> SlackMessage:
        page = self._page_from(action)
        if page is None:
            return render_apology()
        question, k, offset = page
        try:
            answer = self._ask(question, k, offset)
        except Exception as err:
            log.exception("button %s: answering failed (%s)", action.get("action_id"), type(err).__name__)
            return render_apology()
        return render_answer(answer, k=k, share=share, shared_by=shared_by)

    def on_more(self, ack: Callable, body: dict, action: dict, respond: Callable, client: WebClient) -> None:
        ack()
        channel, ts, ephemeral, message = self._where(body)
        msg = self._render_page(action, share=ephemeral)
        if ephemeral or not channel:
            _respond(respond, response_type="ephemeral", replace_original=False, **msg.kwargs())
            return
        # continue in the answer's thread; a top-level DM answer continues top-level
        thread = message.get("thread_ts") or (None if channel.startswith("D") else ts)
        try:
            self._post(client, channel, thread, msg)
        except Exception as err:
            log.warning("More: could not post in %s (%s), answering privately", channel, _error_code(err))
            _respond(respond, response_type="ephemeral", replace_original=False, **msg.kwargs())

    def on_share(self, ack: Callable, body: dict, action: dict, respond: Callable) -> None:
        ack()
        user = (body.get("user") or {}).get("id")
        msg = self._render_page(action, share=False, shared_by=user)
        # response_url posts in the channel even where the bot is not a member
        _respond(respond, response_type="in_channel", replace_original=False, **msg.kwargs())
        try:
            _respond(respond, response_type="ephemeral", replace_original=True, text="Shared in the channel.")
        except Exception as err:  # the share itself worked; the private copy just stays
            log.info("share: could not replace the private answer (%s)", _error_code(err))

    @staticmethod
    def on_other_event() -> None:
        """Acknowledge events nobody listens to, so Socket Mode does not redeliver them."""

    @staticmethod
    def on_error(error: Exception, body: dict) -> None:
        event_id = (body or {}).get("event_id") if isinstance(body, dict) else None
        log.error("listener error (%s) for event %s", type(error).__name__, event_id, exc_info=error)


def register_listeners(app: App, service: AnswerServiceLike, store: SlackStateStore, *, k: int = 3) -> None:
    """Attach every listener, by kind: events, the /ask command, the four buttons, then a catch-all."""
    h = _Handlers(service, store, k)
    app.event("app_mention")(h.on_mention)
    app.event("message")(h.on_message)
    app.command("/ask")(h.on_ask)
    app.action(ACTION_HELPFUL)(h.on_feedback)
    app.action(ACTION_NOT_HELPFUL)(h.on_feedback)
    app.action(ACTION_MORE)(h.on_more)
    app.action(ACTION_SHARE)(h.on_share)
    app.event(re.compile(".*"))(h.on_other_event)
    app.error(h.on_error)


__all__ = ["create_app", "register_listeners", "make_web_client", "AnswerServiceLike"]
