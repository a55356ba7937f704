"""A slack_sdk WebClient that keeps its HTTP(S) connections to the Web API open between calls.

Why: slack_sdk's WebClient sends every call through `urllib.request.urlopen`, which opens a new TCP
connection (and, against slack.com, a new TLS handshake) for each chat.postMessage and closes it
after one response. Under a burst of mentions that is a connect/handshake per answer, on the CPU the
answers need. This subclass replaces only the innermost step (`_perform_urllib_http_request_internal`:
one request, one response) with a small pool of keep-alive `http.client` connections; everything
around it — argument handling, the retry handlers (429 Retry-After, 500/503, connection resets),
error classes — is slack_sdk's own, and the errors raised here are the ones urllib raises:
- a failure to connect or to send the request is wrapped in `URLError` (as urllib's `do_open` does),
- a failure while waiting for the response propagates as is (a timeout is a `TimeoutError`, which the
  retry handlers do not retry: the message may have been posted),
- an HTTP status outside 2xx raises `HTTPError` carrying the headers and body.

A pooled connection is only reused when it is idle and its socket shows no pending data or EOF (the
server has not closed it); a connection that saw any error is closed, never pooled, so a request is
never silently sent twice. Proxies (`WebClient(proxy=...)`) keep slack_sdk's urllib path.
"""
from __future__ import annotations

import http.client
import io
import select
import socket
import ssl
import threading
import time
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import Request

from slack_sdk import WebClient

IDLE_SECONDS = 30.0  # drop pooled connections idle longer than this (servers close idle ones too)
MAX_IDLE = 16  # pooled idle connections per host (one per concurrent answer is plenty)


class _HTTPConnection(http.client.HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _no_delay(self.sock)


class _HTTPSConnection(http.client.HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _no_delay(self.sock)


def _no_delay(sock: socket.socket | None) -> None:
    """http.client writes the headers and the body with two send() calls; on a reused connection
    Nagle's algorithm holds the body until the server's delayed ACK (~40 ms). Send at once."""
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass


class _Pool:
    """Idle keep-alive connections per (scheme, host, port), shared by the client's threads."""

    def __init__(self, timeout: float, context: ssl.SSLContext | None) -> None:
        self.timeout, self.context = timeout, context
        self._idle: dict[tuple[str, str, int], list[tuple[http.client.HTTPConnection, float]]] = {}
        self._lock = threading.Lock()
        self.opened = 0  # connections ever opened (the tests read it)

    def take(self, key: tuple[str, str, int]) -> tuple[http.client.HTTPConnection, bool]:
        """(connection, reused). Stale or dead idle connections are closed and skipped."""
        now = time.monotonic()
        while True:
            with self._lock:
                stack = self._idle.get(key)
                item = stack.pop() if stack else None
            if item is None:
                break
            conn, since = item
            if now - since < IDLE_SECONDS and _still_open(conn):
                return conn, True
            conn.close()
        scheme, host, port = key
        if scheme == "https":
            context = self.context or ssl.create_default_context()
            conn: http.client.HTTPConnection = _HTTPSConnection(host, port, timeout=self.timeout, context=context)
        else:
            conn = _HTTPConnection(host, port, timeout=self.timeout)
        with self._lock:
            self.opened += 1
        return conn, False

    def give_back(self, key: tuple[str, str, int], conn: http.client.HTTPConnection) -> None:
        with self._lock:
            stack = self._idle.setdefault(key, [])
            if len(stack) < MAX_IDLE:
                stack.append((conn, time.monotonic()))
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for stack in idle.values():
            for conn, _ in stack:
                conn.close()


def _still_open(conn: http.client.HTTPConnection) -> bool:
    """An idle keep-alive socket must have nothing to read: readable means EOF (the server closed
    it) or stray bytes, and either way it must not carry the next request."""
    sock = conn.sock
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


class PooledWebClient(WebClient):
    """`WebClient` with keep-alive connections; see the module docstring for what is unchanged."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pool: _Pool | None = None
        self._pool_lock = threading.Lock()

    @property
    def pool(self) -> _Pool:
        with self._pool_lock:
            # created lazily so a timeout or ssl context set after construction is honoured
            if self._pool is None:
                self._pool = _Pool(float(self.timeout), self.ssl)
            return self._pool

    def close_connections(self) -> None:
        if self._pool is not None:
            self._pool.close()

    def _perform_urllib_http_request_internal(self, url: str, req: Request) -> dict[str, Any]:
        parts = urlsplit(url)
        if self.proxy is not None or parts.scheme not in ("http", "https"):
            return super()._perform_urllib_http_request_internal(url, req)
        key = (parts.scheme, parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
        pool = self.pool
        conn, _reused = pool.take(key)
        conn.timeout = float(self.timeout)
        if conn.sock is not None:  # a reused socket keeps the timeout it was opened with otherwise
            conn.sock.settimeout(conn.timeout)
        headers = {k: v for k, v in req.header_items()}  # urllib capitalises names; http.client does not care
        try:
            conn.request(req.get_method(), req.selector, body=req.data, headers=headers)
        except OSError as err:
            conn.close()
            raise URLError(err) from err
        try:
            resp = conn.getresponse()
            body = resp.read()
        except BaseException:
            conn.close()
            raise
        if resp.will_close:
            conn.close()
        else:
            pool.give_back(key, conn)
        if not 200 <= resp.status < 300:
            raise HTTPError(url, resp.status, resp.reason, resp.msg, io.BytesIO(body))
        if resp.msg.get_content_type() == "application/gzip":
            return {"status": resp.status, "headers": resp.msg, "body": body}
        charset = resp.msg.get_content_charset() or "utf-8"
        return {"status": resp.status, "headers": resp.msg, "body": body.decode(charset)}


__all__ = ["PooledWebClient"]
