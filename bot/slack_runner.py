"""Run the Slack app: Socket Mode (`worker:`) or the Events API over HTTP (`web:`).

Both runners block until stopped (SIGTERM/SIGINT when run from the main thread, or `stop()` from
another thread, which is how the tests run them). HTTP mode serves `/slack/events` (events, slash
commands and interactivity) with waitress, a multi-threaded production WSGI server, through bolt's
WSGI adapter; bolt verifies the v0 signature and refuses requests older than five minutes.
Socket Mode uses slack_sdk's built-in client, which reconnects on `disconnect` and dropped sockets.

Logging: every handler of the root logger gets a filter that replaces the tokens and the signing
secret with `[redacted]`, whatever library logs them.
"""
from __future__ import annotations

import logging
import re
import signal
import socket
import threading
from typing import Any, Callable, Iterable

import waitress
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.slack_app import AnswerServiceLike, create_app
from bot.slack_events import CLAIM_LEASE_SECONDS, SlackStateStore
from bot.slack_settings import SlackSettings

log = logging.getLogger("verbatim.slack")

_TOKEN_PATTERN = re.compile(r"\bx(?:ox[abposr]|app)-[A-Za-z0-9-]+")


class RedactSecrets(logging.Filter):
    """Replace known secrets and anything shaped like a Slack token in every log record."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def _clean(self, text: str) -> str:
        for s in self.secrets:
            text = text.replace(s, "[redacted]")
        return _TOKEN_PATTERN.sub("[redacted]", text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave the record to logging's own error path
            return True
        cleaned = self._clean(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._clean(record.exc_text)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


def install_log_redaction(settings: SlackSettings) -> RedactSecrets:
    """Configure basic logging if nothing did, and redact secrets on every root handler."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    redactor = RedactSecrets(settings.secrets())
    for handler in root.handlers:
        if not any(isinstance(f, RedactSecrets) for f in handler.filters):
            handler.addFilter(redactor)
    return redactor


def _report_interrupted(store: SlackStateStore) -> None:
    """Questions a previous process took but never finished: log them as failed, by event id."""
    for event_id in store.interrupted(older_than=CLAIM_LEASE_SECONDS):
        store.mark_failed(event_id, "interrupted")
        log.error("event %s: FAILED, the process stopped while answering it", event_id)


def _on_signals(stop: Callable[[], None]) -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop())


class _HealthAndSlack:
    """WSGI app: `/slack/events` goes to bolt; `GET /` and `/healthz` answer "ok" for load balancers."""

    def __init__(self, slack: SlackRequestHandler) -> None:
        self.slack = slack

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        if environ.get("REQUEST_METHOD") == "GET" and environ.get("PATH_INFO") in ("/", "/healthz"):
            start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"ok\n"]
        return self.slack(environ, start_response)


class HttpRunner:
    """Events API + slash commands + interactivity at `/slack/events`, served by waitress."""

    def __init__(self, settings: SlackSettings, service: AnswerServiceLike, *, app: App | None = None,
                 store: SlackStateStore | None = None, threads: int | None = None) -> None:
        install_log_redaction(settings)
        self.store = store or SlackStateStore(settings.state_db)
        _report_interrupted(self.store)
        self.app = app or create_app(settings, service, store=self.store)
        self.server = waitress.create_server(
            _HealthAndSlack(SlackRequestHandler(self.app, path="/slack/events")),
            host=settings.host, port=settings.port, threads=threads or settings.http_threads,
            ident="verbatim",
            # waitress reads this setting with int(): 0.2 became 0, a select() that never waited, so
            # the socket loop spun a whole CPU (and the GIL) even when idle. `request_stop` wakes the
            # loop through waitress's trigger, so this timeout does not delay stopping.
            asyncore_loop_timeout=1,
        )
        self._done = threading.Event()

    @property
    def port(self) -> int:
        return int(self.server.effective_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def serve_forever(self) -> None:
        log.info("Verbatim listening for Slack on port %s at /slack/events", self.port)
        try:
            self.server.run()
        finally:
            # let answers already being computed finish and post (bounded), then report stopped
            self.server.task_dispatcher.shutdown(cancel_pending=False, timeout=5)
            self._done.set()

    def request_stop(self) -> None:
        """Ask the server loop to close its sockets and return; safe from a signal handler.

        The sockets are closed by a thunk that waitress runs inside its own loop thread (closing
        them from another thread would race the loop's select())."""
        srv = self.server

        def close_all() -> None:
            for channel in list(srv._map.values()):  # client channels, the listener, the trigger
                try:
                    channel.close()
                except Exception:
                    pass

        try:
            srv.trigger.pull_trigger(close_all)
        except OSError:  # already closed
            pass

    def stop(self, timeout: float = 10.0) -> None:
        """Stop from another thread and wait (bounded) until `serve_forever` has returned."""
        self.request_stop()
        self._done.wait(timeout)


class SocketRunner:
    """Socket Mode: no public URL; the built-in client reconnects on `disconnect` and drops."""

    def __init__(self, settings: SlackSettings, service: AnswerServiceLike, *, app: App | None = None,
                 store: SlackStateStore | None = None, ping_interval: float = 10.0) -> None:
        if not settings.app_token:
            from index.errors import ConfigError
            raise ConfigError("SLACK_APP_TOKEN is not set: Socket Mode needs an app-level token (xapp-...)")
        install_log_redaction(settings)
        self.store = store or SlackStateStore(settings.state_db)
        _report_interrupted(self.store)
        self.app = app or create_app(settings, service, store=self.store)
        self.handler = SocketModeHandler(self.app, app_token=settings.app_token, ping_interval=ping_interval,
                                         concurrency=settings.listener_threads)
        self._stopped = threading.Event()
        self._closed = False
        self._close_lock = threading.Lock()

    def connect(self) -> None:
        self.handler.connect()
        log.info("Verbatim connected to Slack in Socket Mode")

    def serve_forever(self) -> None:
        self.connect()
        self._stopped.wait()
        self._close()

    def request_stop(self) -> None:
        """Safe from a signal handler: `serve_forever` closes the connection once it wakes up."""
        self._stopped.set()

    def stop(self) -> None:
        """Stop from another thread (or before `serve_forever` ran) and close the connection."""
        self._stopped.set()
        self._close()

    def _close(self) -> None:
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        client = self.handler.client
        try:
            # Wake the receive loop first: the built-in client's close() otherwise waits for its
            # blocking recv() to time out (about 3 s) before it can take the socket lock.
            client.auto_reconnect_enabled = False
            client.current_session_state.terminated = True
            sock = getattr(client.current_session, "sock", None)
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
        except (OSError, AttributeError):
            pass
        try:
            self.handler.close()
        except Exception as err:  # closing a half-open socket can raise; we are stopping anyway
            log.debug("socket mode close: %s", type(err).__name__)
        log.info("Verbatim disconnected from Slack")


def run_http(settings: SlackSettings, service: AnswerServiceLike) -> None:
    """Serve HTTP mode until SIGTERM/SIGINT."""
    runner = HttpRunner(settings, service)
    _on_signals(runner.request_stop)
    runner.serve_forever()


def run_socket_mode(settings: SlackSettings, service: AnswerServiceLike) -> None:
    """Run Socket Mode until SIGTERM/SIGINT."""
    runner = SocketRunner(settings, service)
    _on_signals(runner.request_stop)
    runner.serve_forever()


__all__ = ["run_http", "run_socket_mode", "HttpRunner", "SocketRunner", "RedactSecrets", "install_log_redaction"]
