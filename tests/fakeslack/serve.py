"""Run the fake Slack in its own process: `python -m fakeslack.serve [--record posts|all]` (with
`tests/` on the path).

Why: the load benchmark measures the bot in its own process; with the fake (which parses every
Web API call the bot makes) in the load generator's process, the generator's own work and the
fake's share one interpreter lock and distort each other's timing. The first stdout line is JSON
(`port`, `ws_port`, `api_url`, `bot_token`, `app_token`, `pid`); the process then serves until
SIGTERM/SIGINT or stdin closes. It is driven over HTTP at `/_bench/envelopes`, `/_bench/posts`
and `/_bench/stats` (see `FakeSlack._bench_control`).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading

from .server import FakeSlack


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m fakeslack.serve", description=__doc__.splitlines()[0])
    ap.add_argument("--record", choices=["posts", "all"], default="posts",
                    help="posts: keep only drained (thread_ts, time) pairs and counts (default; bounded memory)")
    args = ap.parse_args(argv)
    fake = FakeSlack(record=args.record).start()
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())

    def watch_stdin() -> None:  # the parent died or closed our stdin: do not linger
        try:
            sys.stdin.read()
        except (OSError, ValueError):
            pass
        done.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    print(json.dumps({"port": fake.port, "ws_port": fake.ws_port, "api_url": fake.api_url,
                      "bot_token": fake.bot_token, "app_token": fake.app_token, "pid": os.getpid()}), flush=True)
    done.wait()
    fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
