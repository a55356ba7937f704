"""Slack front end benchmark: mention -> chat.postMessage latency, bursts, exactly-once, memory.

    .venv/bin/python tests/bench/bench_slack.py                       # issue 4: 200 sequential + 100 at once
    .venv/bin/python tests/bench/bench_slack.py --mode socket
    .venv/bin/python tests/bench/bench_slack.py --sustained 1000 --over 60 --burst 200   # issue 6 load
    .venv/bin/python tests/bench/bench_slack.py --soak 600            # + memory over a 10-minute soak

The real bot (bolt app, waitress or the Socket Mode client, the real AnswerService on an index of
the seeds built in a temp dir) talks to the fake Slack on 127.0.0.1, in this process. Latency is
measured from sending the mention (signed HTTP request, or Socket Mode envelope) to the fake
receiving the bot's chat.postMessage for that mention's thread. Questions cycle through the seeds
calibration set (answerable and unanswerable). Every mention has a unique thread ts, so posts are
matched to mentions: duplicates (>1 post) and losses (0 posts) are counted, the target being 0/0.
Not collected by pytest (bench_*.py).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
for p in (str(REPO / "tests"), str(REPO)):
    if p not in sys.path:
        sys.path.insert(0, p)

from fakeslack import FakeSlack, event_callback, mention_event  # noqa: E402
from fakeslack.harness import http_bot, socket_bot  # noqa: E402

CALIB = REPO / "tests" / "eval" / "seeds-calib.jsonl"


def questions() -> list[str]:
    if CALIB.exists():
        qs = [json.loads(line)["question"] for line in CALIB.read_text(encoding="utf-8").splitlines() if line.strip()]
        if qs:
            return qs
    return ["hostages ceasefire", "who mediates the talks", "what is the boiling point of tungsten"]


def rss_mib() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(p / 100 * (len(xs) - 1))))]


class Driver:
    """Sends mentions through one transport and matches the bot's posts back to them."""

    def __init__(self, fake: FakeSlack, mode: str, bot) -> None:
        self.fake, self.mode, self.bot = fake, mode, bot
        self.sent: dict[str, float] = {}  # thread ts -> send time (monotonic)
        self.lock = threading.Lock()

    def send(self, question: str) -> str:
        event = mention_event(question)
        with self.lock:
            self.sent[event["ts"]] = time.monotonic()
        callback = event_callback(event)
        if self.mode == "http":
            status, _ = self.bot.post_event(callback, timeout=30)
            if status != 200:
                raise RuntimeError(f"bot answered HTTP {status}")
        else:
            self.fake.send_envelope("events_api", callback)
        return event["ts"]

    def posts_by_thread(self) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {}
        for call in self.fake.posted():
            out.setdefault(call.params.get("thread_ts"), []).append(call.at)
        return out

    def wait_answered(self, threads: list[str], timeout: float) -> None:
        want = set(threads)
        try:
            self.fake.wait_for(lambda: want <= set(self.posts_by_thread()), timeout=timeout)
        except TimeoutError:
            pass

    def outcome(self, threads: list[str]) -> dict:
        posts = self.posts_by_thread()
        lat = [(posts[t][0] - self.sent[t]) * 1000 for t in threads if t in posts]
        return {"n": len(threads), "answered": sum(1 for t in threads if t in posts),
                "duplicates": sum(len(posts[t]) - 1 for t in threads if len(posts.get(t, [])) > 1),
                "lost": sum(1 for t in threads if t not in posts), "latencies": lat}


def sequential(driver: Driver, qs: list[str], n: int) -> dict:
    threads = []
    for i in range(n):
        ts = driver.send(qs[i % len(qs)])
        threads.append(ts)
        driver.wait_answered([ts], timeout=10)
    return driver.outcome(threads)


def sustained(driver: Driver, qs: list[str], n: int, over: float) -> dict:
    threads, began = [], time.monotonic()
    with ThreadPoolExecutor(max_workers=16) as pool:
        futures = []
        for i in range(n):
            delay = began + i * over / n - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(driver.send, qs[i % len(qs)]))
        threads = [f.result() for f in futures]
    driver.wait_answered(threads, timeout=60)
    return driver.outcome(threads)


def burst(driver: Driver, qs: list[str], n: int) -> dict:
    barrier = threading.Barrier(min(n, 50))
    with ThreadPoolExecutor(max_workers=min(n, 50)) as pool:
        def fire(i: int) -> str:
            if i < 50:
                barrier.wait()
            return driver.send(qs[i % len(qs)])
        threads = list(pool.map(fire, range(n)))
    driver.wait_answered(threads, timeout=120)
    return driver.outcome(threads)


def soak(driver: Driver, qs: list[str], seconds: float, rate: float) -> dict:
    samples, began, i, threads = [], time.monotonic(), 0, []
    next_sample = began
    while time.monotonic() - began < seconds:
        threads.append(driver.send(qs[i % len(qs)]))
        i += 1
        if time.monotonic() >= next_sample:
            samples.append(rss_mib())
            next_sample += max(seconds / 20, 1)
        time.sleep(1 / rate)
    driver.wait_answered(threads, timeout=60)
    out = driver.outcome(threads)
    out["rss"] = samples + [rss_mib()]
    return out


def row(name: str, r: dict) -> str:
    lat = r["latencies"]
    p50, p99 = pct(lat, 50), pct(lat, 99)
    mx = max(lat) if lat else float("nan")
    return (f"| {name:<28} | {r['n']:>5} | {r['answered']:>8} | {r['duplicates']:>4} | {r['lost']:>4} "
            f"| {p50:>8.1f} | {p99:>8.1f} | {mx:>8.1f} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=["http", "socket", "both"], default="both")
    ap.add_argument("--sequential", type=int, default=200, help="mentions one after another (latency)")
    ap.add_argument("--burst", type=int, default=100, help="mentions sent at once")
    ap.add_argument("--sustained", type=int, default=0, help="mentions spread over --over seconds")
    ap.add_argument("--over", type=float, default=60.0)
    ap.add_argument("--soak", type=float, default=0.0, help="seconds of steady load, sampling RSS")
    ap.add_argument("--soak-rate", type=float, default=5.0, help="mentions per second during --soak")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()

    logging.basicConfig(level=logging.ERROR)
    os.environ["VERBATIM_QUIET_BUILD"] = "1"
    from fakeslack.harness import open_service

    qs = questions()
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-slack-") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        service = open_service(root / "svc")
        build_s = time.perf_counter() - t
        service.ask("warm up the caches", k=3)
        modes = ["http", "socket"] if args.mode == "both" else [args.mode]
        for mode in modes:
            fake = FakeSlack().start()
            try:
                ctx = (http_bot(fake, service, root / f"{mode}-state.db") if mode == "http"
                       else socket_bot(fake, service, root / f"{mode}-state.db"))
                with ctx as bot:
                    driver = Driver(fake, mode, bot)
                    if args.sequential:
                        results[f"{mode}: {args.sequential} sequential"] = sequential(driver, qs, args.sequential)
                    if args.sustained:
                        key = f"{mode}: {args.sustained} over {args.over:.0f}s"
                        results[key] = sustained(driver, qs, args.sustained, args.over)
                    if args.burst:
                        results[f"{mode}: {args.burst} at once"] = burst(driver, qs, args.burst)
                    if args.soak:
                        results[f"{mode}: soak {args.soak:.0f}s"] = soak(driver, qs, args.soak, args.soak_rate)
            finally:
                fake.stop()
        service.close()

    cpu = platform.processor() or platform.machine()
    print(f"\nVerbatim Slack benchmark — {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(f"machine: {platform.node()} · {platform.system()} {platform.release()} · {cpu} · "
          f"{os.cpu_count()} CPUs · Python {platform.python_version()}")
    print(f"corpus: seeds (index built in {build_s:.1f}s) · {len(qs)} questions cycled · fake Slack on loopback\n")
    print("| run                          | sent  | answered | dup  | lost | p50 (ms) | p99 (ms) | max (ms) |")
    print("|------------------------------|-------|----------|------|------|----------|----------|----------|")
    for name, r in results.items():
        print(row(name, r))
    for name, r in results.items():
        if "rss" in r:
            rss = r["rss"]
            print(f"\n{name}: RSS MiB first {rss[0]:.1f}, last {rss[-1]:.1f}, max {max(rss):.1f} "
                  f"({len(rss)} samples)")
    print("\ntargets: p50 ≤ 50 ms (sequential); 0 duplicates and 0 lost everywhere; p99 < 1 s under load.")
    if args.json:
        args.json.write_text(json.dumps({k: {kk: vv for kk, vv in v.items()} for k, v in results.items()}, indent=1))
    bad = any(r["duplicates"] or r["lost"] for r in results.values())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
