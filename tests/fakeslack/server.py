"""A fake Slack on 127.0.0.1 for tests: the Web API over HTTP, response_url endpoints and a Socket
Mode websocket server. It records every call so tests can assert on what the bot posted.

Why a fake and not mocks: the real bolt app, the real slack_sdk WebClient (with its retry
handlers) and the real Socket Mode client talk to it over real sockets, so the tests exercise
exactly the code that runs against slack.com. It is strict about Block Kit limits (50 blocks,
3000 characters a section, 2000 a button value) so a renderer bug fails a test, like Slack would.

Faults (`inject`): HTTP 500, 429 `ratelimited` with Retry-After, slow responses, dropped responses,
and Slack API errors, consumed one per call of the named method.

For load runs (`tests/bench/bench_slack.py`), `FakeSlack(record="posts")` keeps no call log at all:
only `(thread_ts, time)` of each delivered chat.postMessage, which `drain_posts()` hands over and
forgets, and per-method counts. So a 10-minute soak cannot grow the fake's memory, and the fake can
run in its own process (`python -m fakeslack.serve`), driven over `/_bench/...` on its HTTP port.
"""
from __future__ import annotations

import itertools
import json
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlparse

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve


@dataclass(frozen=True)
class Fault:
    """What the next call of a method gets instead of a normal answer."""

    status: int = 200           # HTTP status (500, 503, 429 ...)
    error: str | None = None    # Slack API error with HTTP 200, e.g. "channel_not_found"
    retry_after: int | None = None  # seconds, sent as Retry-After (use with status=429)
    delay: float = 0.0          # seconds before answering
    drop: bool = False          # close the connection without answering (after `delay`)


@dataclass
class Call:
    method: str                 # Web API method, or "response_url"
    params: dict[str, Any]
    headers: dict[str, str]
    path: str
    at: float
    delivered: bool = True      # False when a fault replaced the normal answer

    @property
    def blocks(self) -> list[dict]:
        b = self.params.get("blocks") or []
        return json.loads(b) if isinstance(b, str) else b

    @property
    def all_text(self) -> str:
        """The fallback text and every text inside the blocks, joined: handy for assertions."""
        parts = [str(self.params.get("text") or "")]

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                for key, value in node.items():
                    if key == "text" and isinstance(value, str):
                        parts.append(value)
                    else:
                        walk(value)
            elif isinstance(node, list):
                for item in node:
                    walk(item)

        walk(self.blocks)
        return "\n".join(parts)


@dataclass
class Envelope:
    envelope_id: str
    type: str
    payload: dict
    retry_attempt: int = 0


def _rss_mib() -> float:
    """This process's resident set size (Linux), for the load benchmark's memory check."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return -1.0


def check_blocks(blocks: list[dict]) -> str | None:
    """Slack's limits that matter to us; returns an error code like Slack's, or None."""
    if not isinstance(blocks, list) or len(blocks) > 50:
        return "invalid_blocks"
    for block in blocks:
        if block.get("type") == "section":
            text = (block.get("text") or {}).get("text", "")
            if not text or len(text) > 3000:
                return "invalid_blocks"
        if block.get("type") == "context":
            for el in block.get("elements", []):
                if len(el.get("text", "")) > 3000:
                    return "invalid_blocks"
        if block.get("type") == "actions":
            ids = [el.get("action_id") for el in block.get("elements", [])]
            if len(ids) != len(set(ids)) or len(ids) > 25:
                return "invalid_blocks"
            for el in block.get("elements", []):
                if len(el.get("value", "")) > 2000 or len(el["text"]["text"]) > 75:
                    return "invalid_blocks"
    return None


class FakeSlack:
    """Start with `FakeSlack().start()` (or as a context manager); `stop()` when done."""

    def __init__(self, *, bot_token: str = "xoxb-fake-bot-token", app_token: str = "xapp-fake-app-token",
                 bot_user_id: str = "UBOT0001", bot_id: str = "BBOT0001", team_id: str = "T0001",
                 record: str = "all") -> None:
        if record not in ("all", "posts"):
            raise ValueError(f"record must be 'all' or 'posts', not {record!r}")
        self.bot_token, self.app_token = bot_token, app_token
        self.bot_user_id, self.bot_id, self.team_id = bot_user_id, bot_id, team_id
        self.record = record  # "all": every call, envelope and ack is kept (tests); "posts": load runs
        self._calls: list[Call] = []
        self._posts: list[tuple[str | None, float]] = []  # (thread_ts, at) of delivered posts, drained
        self.counts: dict[str, int] = {}  # calls per method (delivered or not)
        self._rr = itertools.count()  # round-robin over live Socket Mode connections (send_envelopes)
        self.http_connections = 0  # TCP connections accepted by the Web API server (keep-alive reuse)
        self._http_socks: set[socket.socket] = set()
        self._faults: dict[str, list[Fault]] = {}
        self._cond = threading.Condition()
        self._ts = itertools.count(1)
        self._http: ThreadingHTTPServer | None = None
        self._ws = None
        self._threads: list[threading.Thread] = []
        # socket mode state
        self._conns: list[ServerConnection] = []
        self.connections_opened = 0
        self.acks: dict[str, dict] = {}
        self.ack_counts: dict[str, int] = {}
        self.envelopes: list[Envelope] = []

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> "FakeSlack":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out in two writes; on a kept-alive connection Nagle's algorithm
            # would hold the body back for the client's delayed ACK (~40 ms), unlike slack.com
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def setup(self) -> None:
                super().setup()
                with fake._cond:
                    fake.http_connections += 1
                    fake._http_socks.add(self.connection)

            def finish(self) -> None:
                with fake._cond:
                    fake._http_socks.discard(self.connection)
                super().finish()

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                fake._handle_http(self)

            do_GET = do_POST

        class Server(ThreadingHTTPServer):
            # socketserver's listen backlog is 5: a bot opening a few connections at once during a
            # burst would overflow it and wait out a 1 s SYN retransmit, which slack.com never causes
            request_queue_size = 128

        self._http = Server(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self._ws = serve(self._ws_handler, "127.0.0.1", 0, compression=None, ping_interval=None,
                         close_timeout=2)
        for target in (self._http.serve_forever, self._ws.serve_forever):
            t = threading.Thread(target=target, daemon=True, name="fakeslack")
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> None:
        self.drop_connections()  # no close handshake: the test is over, do not wait for the client
        if self._http:
            self._http.shutdown()
            self._http.server_close()
        if self._ws:
            self._ws.shutdown()
        for t in self._threads:
            t.join(timeout=5)

    def __enter__(self) -> "FakeSlack":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._http is not None
        return self._http.server_address[1]

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    @property
    def ws_port(self) -> int:
        return self._ws.socket.getsockname()[1]

    def response_url(self, name: str | None = None) -> str:
        return f"http://127.0.0.1:{self.port}/respond/{name or uuid.uuid4().hex[:12]}"

    # -- recording ------------------------------------------------------------------------------
    def calls(self, method: str | None = None, *, delivered_only: bool = False) -> list[Call]:
        with self._cond:
            return [c for c in self._calls if (method is None or c.method == method)
                    and (c.delivered or not delivered_only)]

    def posted(self) -> list[Call]:
        """Messages that really reached the fake (chat.postMessage answered ok)."""
        return self.calls("chat.postMessage", delivered_only=True)

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Wait (bounded) until predicate() is truthy; return its value, or raise TimeoutError."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = predicate()
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"fake Slack: condition not met within {timeout}s; calls: "
                                       f"{[c.method for c in self._calls]}")
                self._cond.wait(min(remaining, 0.05))

    def wait_calls(self, method: str, n: int = 1, timeout: float = 5.0, *, delivered_only: bool = True) -> list[Call]:
        return self.wait_for(lambda: (lambda cs: cs if len(cs) >= n else None)(
            self.calls(method, delivered_only=delivered_only)), timeout)

    def quiet_for(self, seconds: float) -> None:
        """Wait until no call arrived for `seconds` (used to prove nothing *else* gets posted)."""
        deadline = time.monotonic() + max(seconds * 20, 5.0)
        while time.monotonic() < deadline:
            with self._cond:
                last = self._calls[-1].at if self._calls else 0.0
            idle = time.monotonic() - last
            if idle >= seconds:
                return
            time.sleep(min(seconds - idle, 0.05) + 0.001)

    def reset(self) -> None:
        with self._cond:
            self._calls.clear()
            self._posts.clear()
            self._faults.clear()

    def drain_posts(self) -> list[tuple[str | None, float]]:
        """`(thread_ts, monotonic time)` of every chat.postMessage delivered since the last drain.

        The times are `time.monotonic()` in this process; on Linux that is the system-wide
        CLOCK_MONOTONIC, so a load generator in another process can subtract its own send times."""
        with self._cond:
            out, self._posts = self._posts, []
        return out

    def inject(self, method: str, *faults: Fault) -> None:
        with self._cond:
            self._faults.setdefault(method, []).extend(faults)

    # -- Web API --------------------------------------------------------------------------------
    def _handle_http(self, req: BaseHTTPRequestHandler) -> None:
        url = urlparse(req.path)
        length = int(req.headers.get("Content-Length") or 0)
        raw = req.rfile.read(length) if length else b""
        ctype = req.headers.get("Content-Type", "")
        params: dict[str, Any] = {k: v[0] for k, v in parse_qs(url.query).items()}
        if raw:
            if "json" in ctype:
                try:
                    params.update(json.loads(raw))
                except ValueError:
                    params["_raw"] = raw.decode("utf-8", "replace")
            else:
                params.update({k: v[0] for k, v in parse_qs(raw.decode("utf-8")).items()})
        if url.path.startswith("/_bench/"):
            self._bench_control(req, url.path[len("/_bench/"):], params)
            return
        if url.path.startswith("/api/"):
            method = url.path[len("/api/"):]
        elif url.path.startswith("/respond/"):
            method = "response_url"
        else:
            self._reply(req, 404, {"ok": False, "error": "unknown_path"})
            return
        call = Call(method=method, params=params, headers=dict(req.headers.items()), path=url.path,
                    at=time.monotonic())
        with self._cond:
            queue = self._faults.get(method)
            fault = queue.pop(0) if queue else None
        if fault is not None:
            call.delivered = False
            if fault.delay:
                time.sleep(fault.delay)
            if fault.drop:
                self._record(call)
                req.close_connection = True
                try:
                    req.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            if fault.status != 200 or fault.error:
                self._record(call)
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
                error = fault.error or ("ratelimited" if fault.status == 429 else "internal_error")
                self._reply(req, fault.status, {"ok": False, "error": error}, headers)
                return
            call.delivered = True  # a pure delay: answered normally, just late
        status, body = self._api(method, params, req.headers.get("Authorization", ""), call)
        self._record(call)
        self._reply(req, status, body)

    def _record(self, call: Call) -> None:
        with self._cond:
            self.counts[call.method] = self.counts.get(call.method, 0) + 1
            if call.method == "chat.postMessage" and call.delivered:
                self._posts.append((call.params.get("thread_ts"), call.at))
            if self.record == "all":
                self._calls.append(call)
            self._cond.notify_all()

    def _bench_control(self, req: BaseHTTPRequestHandler, what: str, params: dict[str, Any]) -> None:
        """Control endpoints for a load generator in another process (never called by the bot):
        `envelopes` sends `{"payloads": [...]}` as events_api envelopes spread over the live
        connections, `posts` drains the post log, `stats` reports counts, connections and RSS."""
        if what == "envelopes":
            try:
                ids = self.send_envelopes(list(params.get("payloads") or []))
            except RuntimeError as err:
                self._reply(req, 409, {"ok": False, "error": str(err)})
                return
            self._reply(req, 200, {"ok": True, "envelope_ids": ids})
        elif what == "posts":
            self._reply(req, 200, {"ok": True, "posts": self.drain_posts()})
        elif what == "stats":
            with self._cond:
                counts, held = dict(self.counts), len(self._calls) + len(self._posts)
            self._reply(req, 200, {"ok": True, "counts": counts, "held": held, "pid": os.getpid(),
                                   "connections": self.live_connections(), "rss_mib": _rss_mib()})
        else:
            self._reply(req, 404, {"ok": False, "error": "unknown_path"})

    @staticmethod
    def _reply(req: BaseHTTPRequestHandler, status: int, body: dict, headers: dict | None = None) -> None:
        data = json.dumps(body).encode()
        req.send_response(status)
        req.send_header("Content-Type", "application/json; charset=utf-8")
        req.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            req.send_header(k, v)
        req.end_headers()
        req.wfile.write(data)

    def _next_ts(self) -> str:
        return f"{1700000000 + next(self._ts)}.000100"

    def _api(self, method: str, p: dict[str, Any], auth: str, call: Call) -> tuple[int, dict]:
        if method == "response_url":
            blocks = p.get("blocks")
            if blocks is not None and check_blocks(blocks if isinstance(blocks, list) else json.loads(blocks)):
                call.delivered = False
                return 400, {"ok": False, "error": "invalid_blocks"}
            return 200, {"ok": True}
        token = auth.removeprefix("Bearer ").strip() or p.get("token", "")
        expected = self.app_token if method == "apps.connections.open" else self.bot_token
        if token != expected:
            call.delivered = False
            return 200, {"ok": False, "error": "invalid_auth"}
        if method == "auth.test":
            return 200, {"ok": True, "url": "https://fake.slack.test/", "team": "Fake", "user": "verbatim",
                         "team_id": self.team_id, "user_id": self.bot_user_id, "bot_id": self.bot_id}
        if method == "apps.connections.open":
            return 200, {"ok": True, "url": f"ws://127.0.0.1:{self.ws_port}/link/?ticket={uuid.uuid4().hex}"}
        if method in ("chat.postMessage", "chat.postEphemeral", "chat.update"):
            if not p.get("channel"):
                call.delivered = False
                return 200, {"ok": False, "error": "channel_not_found"}
            if not p.get("text") and not p.get("blocks"):
                call.delivered = False
                return 200, {"ok": False, "error": "no_text"}
            blocks = p.get("blocks")
            if blocks is not None:
                error = check_blocks(blocks if isinstance(blocks, list) else json.loads(blocks))
                if error:
                    call.delivered = False
                    return 200, {"ok": False, "error": error}
            ts = p.get("ts") if method == "chat.update" else self._next_ts()
            message = {"type": "message", "text": p.get("text", ""), "ts": ts, "bot_id": self.bot_id,
                       "user": self.bot_user_id}
            if p.get("thread_ts"):
                message["thread_ts"] = p["thread_ts"]
            if method == "chat.postEphemeral":
                return 200, {"ok": True, "message_ts": ts}
            return 200, {"ok": True, "channel": p["channel"], "ts": ts, "message": message}
        call.delivered = False
        return 200, {"ok": False, "error": "unknown_method"}

    # -- Socket Mode ----------------------------------------------------------------------------
    def _ws_handler(self, conn: ServerConnection) -> None:
        with self._cond:
            self._conns.append(conn)
            self.connections_opened += 1
            n = len(self._conns)
            self._cond.notify_all()
        try:
            conn.send(json.dumps({"type": "hello", "num_connections": n,
                                  "debug_info": {"host": "fakeslack", "approximate_connection_time": 3600},
                                  "connection_info": {"app_id": "A0001"}}))
            for message in conn:
                try:
                    data = json.loads(message)
                except ValueError:
                    continue
                envelope_id = data.get("envelope_id")
                if envelope_id:
                    with self._cond:
                        self.counts["ack"] = self.counts.get("ack", 0) + 1
                        if self.record == "all":
                            self.acks[envelope_id] = data
                            self.ack_counts[envelope_id] = self.ack_counts.get(envelope_id, 0) + 1
                        self._cond.notify_all()
        except ConnectionClosed:
            pass
        finally:
            with self._cond:
                if conn in self._conns:
                    self._conns.remove(conn)
                self._cond.notify_all()

    def live_connections(self) -> int:
        with self._cond:
            return len(self._conns)

    def wait_connected(self, opened: int = 1, timeout: float = 5.0) -> None:
        """Wait until at least `opened` connections were ever opened and one is live."""
        self.wait_for(lambda: self.connections_opened >= opened and self._conns, timeout)

    def send_envelope(self, type_: str, payload: dict, *, retry_attempt: int = 0,
                      envelope_id: str | None = None, accepts_response_payload: bool = False) -> str:
        envelope_id = envelope_id or uuid.uuid4().hex
        message = {"envelope_id": envelope_id, "type": type_, "payload": payload,
                   "accepts_response_payload": accepts_response_payload}
        if type_ == "events_api":
            message["retry_attempt"] = retry_attempt
            message["retry_reason"] = "timeout" if retry_attempt else ""
        with self._cond:
            if not self._conns:
                raise RuntimeError("fake Slack: no Socket Mode connection to send on")
            conn = self._conns[-1]
            if self.record == "all":
                self.envelopes.append(Envelope(envelope_id, type_, payload, retry_attempt))
        conn.send(json.dumps(message))
        return envelope_id

    def send_envelopes(self, payloads: list[dict]) -> list[str]:
        """Send each payload as an events_api envelope, back to back, spread round-robin over the
        live connections as Slack spreads events over an app's connections (up to 10)."""
        with self._cond:
            conns = list(self._conns)
        if not conns:
            raise RuntimeError("fake Slack: no Socket Mode connection to send on")
        ids = []
        for payload in payloads:
            envelope_id = uuid.uuid4().hex
            conn = conns[next(self._rr) % len(conns)]
            conn.send(json.dumps({"envelope_id": envelope_id, "type": "events_api", "payload": payload,
                                  "accepts_response_payload": False, "retry_attempt": 0, "retry_reason": ""}))
            ids.append(envelope_id)
        return ids

    def wait_ack(self, envelope_id: str, timeout: float = 5.0) -> dict:
        return self.wait_for(lambda: self.acks.get(envelope_id), timeout)

    def send_disconnect(self, reason: str = "refresh_requested") -> None:
        """Slack's polite "please reconnect": the client should open a new connection."""
        with self._cond:
            conns = list(self._conns)
        for conn in conns:
            conn.send(json.dumps({"type": "disconnect", "reason": reason,
                                  "debug_info": {"host": "fakeslack"}}))

    def close_connections(self, code: int = 1001) -> None:
        """Close every websocket with a close frame (Slack going away)."""
        with self._cond:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.close(code=code)
            except Exception:
                pass

    def close_http_connections(self) -> None:
        """Close every kept-alive Web API connection from the server side, as a server does with
        idle ones: a client must notice and open a new connection, not lose or repeat a call."""
        with self._cond:
            socks = list(self._http_socks)
        for sock in socks:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def drop_connections(self) -> None:
        """Cut every websocket without a close frame (network failure)."""
        with self._cond:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.socket.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
