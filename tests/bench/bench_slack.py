"""Slack front end benchmark: mention -> chat.postMessage latency, bursts, exactly-once, memory.

    .venv/bin/python tests/bench/bench_slack.py                          # 200 sequential + 100 at once, both modes
    .venv/bin/python tests/bench/bench_slack.py --mode socket --burst 200 --sequential 0
    .venv/bin/python tests/bench/bench_slack.py --sustained 1000 --over 60 --burst 200   # issue 6 load
    .venv/bin/python tests/bench/bench_slack.py --mode http --soak 600 --sequential 0 --burst 0   # memory soak
    .venv/bin/python tests/bench/bench_slack.py --profile /tmp/bot.prof --mode http --burst 200

Three processes, as in production where Slack is far away: the bot is the real `python -m bot http`
or `python -m bot socket` (waitress or the Socket Mode client, bolt, the real AnswerService building
its index of the seeds in a temp dir at start), pointed at the fake Slack by `SLACK_API_URL`; the
fake Slack runs in its own process (`python -m fakeslack.serve`, keeping only counts and the
(thread_ts, time) of each post, drained by this process, so its memory cannot grow), or in this
process with `--fake-here`; this process generates the load.

Latency is measured from sending the mention (a signed HTTP request to the bot, or the request
asking the fake to push a Socket Mode envelope) to the fake receiving the bot's chat.postMessage
for that mention's thread; both ends read CLOCK_MONOTONIC, which Linux shares between processes.
Questions cycle through the seeds calibration set (answerable and unanswerable). Every mention has
a unique thread ts, so posts are matched to mentions: duplicates (>1 post) and losses (0 posts)
are counted, the target being 0/0. During `--soak` the bot's RSS is read from /proc/PID/status
every `--sample-every` seconds; the report gives the first and last minute and a least-squares
slope after the first minute. Not collected by pytest (bench_*.py).
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
TESTS = REPO / "tests"
for p in (str(TESTS), str(REPO)):
    if p not in sys.path:
        sys.path.insert(0, p)

from fakeslack import FakeSlack, event_callback, mention_event, signed_headers  # noqa: E402
from fakeslack.harness import SECRET, build_corpus  # noqa: E402

CALIB = TESTS / "eval" / "seeds-calib.jsonl"


def questions() -> list[str]:
    if CALIB.exists():
        qs = [json.loads(line)["question"] for line in CALIB.read_text(encoding="utf-8").splitlines() if line.strip()]
        if qs:
            return qs
    return ["hostages ceasefire", "who mediates the talks", "what is the boiling point of tungsten"]


def rss_mib(pid: int | str = "self") -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(all threads, main thread) user+system CPU seconds of a process, from /proc.
    In `python -m bot http` the main thread is waitress's socket loop; answers run in the others."""
    tick = os.sysconf("SC_CLK_TCK")

    def read(path: str) -> float:
        try:
            fields = Path(path).read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            return float("nan")

    return read(f"/proc/{pid}/stat"), read(f"/proc/{pid}/task/{pid}/stat")


def pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(p / 100 * (len(xs) - 1))))]


# -- the fake Slack, here or in its own process -----------------------------------------------------
class LocalFake:
    """The fake Slack in this process (`--fake-here`)."""

    def __init__(self) -> None:
        self.fake = FakeSlack(record="posts").start()
        self.api_url, self.bot_token, self.app_token = self.fake.api_url, self.fake.bot_token, self.fake.app_token
        self.pid = os.getpid()

    def send_envelopes(self, payloads: list[dict]) -> None:
        self.fake.send_envelopes(payloads)

    def drain_posts(self) -> list[tuple[str | None, float]]:
        return self.fake.drain_posts()

    def connections(self) -> int:
        return self.fake.live_connections()

    def stop(self) -> None:
        self.fake.stop()


class RemoteFake:
    """The fake Slack in its own process, driven over its `/_bench/` endpoints (keep-alive)."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(REPO)])}
        self.proc = subprocess.Popen([sys.executable, "-m", "fakeslack.serve", "--record", "posts"], cwd=TESTS,
                                     env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        info = json.loads(self.proc.stdout.readline())
        self.port, self.pid = info["port"], info["pid"]
        self.api_url, self.bot_token, self.app_token = info["api_url"], info["bot_token"], info["app_token"]
        self._local = threading.local()

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        for attempt in (0, 1):
            conn = getattr(self._local, "conn", None)
            if conn is None:
                conn = self._local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                data = json.dumps(body).encode() if body is not None else None
                conn.request(method, f"/_bench/{path}", body=data, headers={"Content-Type": "application/json"})
                resp = conn.getresponse()
                out = json.loads(resp.read())
                if resp.status != 200:
                    raise RuntimeError(f"fake Slack /_bench/{path}: HTTP {resp.status} {out}")
                return out
            except (http.client.HTTPException, ConnectionError):
                conn.close()
                self._local.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def send_envelopes(self, payloads: list[dict]) -> None:
        self._call("POST", "envelopes", {"payloads": payloads})

    def drain_posts(self) -> list[tuple[str | None, float]]:
        return [tuple(p) for p in self._call("GET", "posts")["posts"]]

    def stats(self) -> dict:
        return self._call("GET", "stats")

    def connections(self) -> int:
        return int(self.stats()["connections"])

    def stop(self) -> None:
        try:
            self.proc.stdin.close()  # serve.py exits when its stdin closes
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


# -- the bot, in its own process -------------------------------------------------------------------
class BotProcess:
    """`python -m bot http|socket` (or under tests/bench/profile_bot.py) pointed at the fake."""

    def __init__(self, mode: str, fake: Any, root: Path, *, profile: Path | None = None,
                 extra_env: dict[str, str] | None = None) -> None:
        self.mode, self.fake = mode, fake
        self.port = _free_port() if mode == "http" else 0
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
        env.update(VERBATIM_DB=str(root / "index.db"), VERBATIM_CORPUS=str(root / "corpus"),
                   VERBATIM_STATE_DB=str(root / f"{mode}-state.db"), VERBATIM_QUIET_BUILD="1",
                   SLACK_BOT_TOKEN=fake.bot_token, SLACK_API_URL=fake.api_url, PYTHONPATH=str(REPO))
        if mode == "http":
            env.update(SLACK_SIGNING_SECRET=SECRET, PORT=str(self.port), HOST="127.0.0.1")
        else:
            env.update(SLACK_APP_TOKEN=fake.app_token)
        env.update(extra_env or {})
        cmd = ([sys.executable, str(HERE / "profile_bot.py"), str(profile), mode] if profile
               else [sys.executable, "-m", "bot", mode])
        self.log_path = root / f"bot-{mode}.log"
        self._log = open(self.log_path, "w")
        began = time.perf_counter()
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        try:
            self._wait_ready(timeout=180)
        except BaseException:
            self.proc.kill()  # never leave a half-started bot behind
            self.proc.wait(5)
            raise
        self.start_s = time.perf_counter() - began

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the bot exited with {self.proc.returncode}: {self.log_path.read_text()[-2000:]}")
            try:
                if self.mode == "http":
                    with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1):
                        return
                elif self.fake.connections() >= 1:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise TimeoutError("the bot did not become ready")

    def rss(self) -> float:
        return rss_mib(self.pid)

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self._log.close()
        return self.log_path.read_text(errors="replace")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- load --------------------------------------------------------------------------------------------
class Driver:
    """Sends mentions through one transport and matches the bot's posts back to them."""

    def __init__(self, fake: Any, mode: str, bot: BotProcess) -> None:
        self.fake, self.mode, self.bot = fake, mode, bot
        self.sent: dict[str, float] = {}  # thread ts -> send time (monotonic)
        self.posts: dict[str | None, list[float]] = {}  # thread ts -> post times
        self.lock = threading.Lock()

    def _post_http(self, callback: dict) -> None:
        body = json.dumps(callback)
        conn = http.client.HTTPConnection("127.0.0.1", self.bot.port, timeout=30)
        try:
            conn.request("POST", "/slack/events", body=body.encode(), headers=signed_headers(body, SECRET))
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                raise RuntimeError(f"bot answered HTTP {resp.status}")
        finally:
            conn.close()

    def send(self, question: str) -> str:
        return self.send_many([question])[0]

    def send_many(self, qs: list[str]) -> list[str]:
        """Socket Mode: one request asks the fake to push every envelope back to back.
        HTTP: one signed request after another from this thread."""
        events = [mention_event(q) for q in qs]
        now = time.monotonic()
        with self.lock:
            for e in events:
                self.sent[e["ts"]] = now
        callbacks = [event_callback(e) for e in events]
        if self.mode == "http":
            for e, cb in zip(events, callbacks):
                with self.lock:
                    self.sent[e["ts"]] = time.monotonic()
                self._post_http(cb)
        else:
            self.fake.send_envelopes(callbacks)
        return [e["ts"] for e in events]

    def collect(self) -> None:
        drained = self.fake.drain_posts()
        with self.lock:
            for thread, at in drained:
                self.posts.setdefault(thread, []).append(at)

    def wait_answered(self, threads: list[str], timeout: float, poll: float = 0.01) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self.collect()
            with self.lock:
                if all(t in self.posts for t in threads):
                    break
            if time.monotonic() > deadline:
                break
            time.sleep(poll)
        time.sleep(0.3)  # a duplicate would arrive right after: collect it too
        self.collect()

    def outcome(self, threads: list[str]) -> dict:
        with self.lock:
            posts = {t: list(self.posts.get(t, [])) for t in threads}
        lat = [(posts[t][0] - self.sent[t]) * 1000 for t in threads if posts[t]]
        return {"n": len(threads), "answered": sum(1 for t in threads if posts[t]),
                "duplicates": sum(len(posts[t]) - 1 for t in threads if len(posts[t]) > 1),
                "lost": sum(1 for t in threads if not posts[t]), "latencies": lat}


def sequential(driver: Driver, qs: list[str], n: int) -> dict:
    threads = []
    for i in range(n):
        ts = driver.send(qs[i % len(qs)])
        threads.append(ts)
        driver.wait_answered([ts], timeout=10, poll=0.002)
    return driver.outcome(threads)


def sustained(driver: Driver, qs: list[str], n: int, over: float) -> dict:
    began = time.monotonic()
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
    batch = [qs[i % len(qs)] for i in range(n)]
    cpu0 = cpu_seconds(driver.bot.pid)
    if driver.mode == "socket":
        threads = driver.send_many(batch)
    else:
        width = min(n, 64)
        barrier = threading.Barrier(width)

        def fire(i: int) -> list[str]:
            barrier.wait()
            return driver.send_many(batch[i::width])

        with ThreadPoolExecutor(max_workers=width) as pool:
            threads = [t for part in pool.map(fire, range(width)) for t in part]
    driver.wait_answered(threads, timeout=120)
    cpu1 = cpu_seconds(driver.bot.pid)
    out = driver.outcome(threads)
    out["cpu_ms_per_mention"] = (cpu1[0] - cpu0[0]) * 1000 / n
    out["main_thread_cpu_ms_per_mention"] = (cpu1[1] - cpu0[1]) * 1000 / n
    return out


def soak(driver: Driver, qs: list[str], seconds: float, rate: float, sample_every: float,
         fake_pid: int | None) -> dict:
    samples: list[tuple[float, float]] = []  # (seconds since start, bot RSS MiB)
    fake_samples: list[float] = []
    began = time.monotonic()
    stop = threading.Event()

    def sampler() -> None:
        while not stop.is_set():
            samples.append((time.monotonic() - began, driver.bot.rss()))
            if fake_pid:
                fake_samples.append(rss_mib(fake_pid))
            stop.wait(sample_every)

    t = threading.Thread(target=sampler, daemon=True)
    t.start()
    threads, i = [], 0
    while time.monotonic() - began < seconds:
        due = began + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        threads.append(driver.send(qs[i % len(qs)]))
        i += 1
        if i % 50 == 0:
            driver.collect()  # keep the fake's post log drained as we go
    driver.wait_answered(threads, timeout=60)
    stop.set()
    t.join()
    samples.append((time.monotonic() - began, driver.bot.rss()))
    out = driver.outcome(threads)
    out["rss"] = samples
    out["fake_rss"] = fake_samples
    return out


def rss_summary(samples: list[tuple[float, float]]) -> dict:
    """First-minute and last-minute mean RSS, and the least-squares slope after the first minute."""
    end = samples[-1][0]
    first = [r for t, r in samples if t <= 60]
    last = [r for t, r in samples if t >= end - 60]
    tail = [(t, r) for t, r in samples if t > 60] or samples
    slope = 0.0
    if len(tail) >= 2:
        mt = statistics.fmean(t for t, _ in tail)
        mr = statistics.fmean(r for _, r in tail)
        var = sum((t - mt) ** 2 for t, _ in tail)
        slope = sum((t - mt) * (r - mr) for t, r in tail) / var * 60 if var else 0.0
    return {"first_min": statistics.fmean(first) if first else float("nan"),
            "last_min": statistics.fmean(last) if last else float("nan"),
            "max": max(r for _, r in samples), "slope_mib_per_min": slope, "samples": len(samples)}


def row(name: str, r: dict) -> str:
    lat = r["latencies"]
    p50, p99 = pct(lat, 50), pct(lat, 99)
    mx = max(lat) if lat else float("nan")
    return (f"| {name:<30} | {r['n']:>5} | {r['answered']:>8} | {r['duplicates']:>4} | {r['lost']:>4} "
            f"| {p50:>8.1f} | {p99:>8.1f} | {mx:>8.1f} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=["http", "socket", "both"], default="both")
    ap.add_argument("--sequential", type=int, default=200, help="mentions one after another (latency)")
    ap.add_argument("--burst", type=int, default=100, help="mentions sent at once")
    ap.add_argument("--bursts", type=int, default=1, help="repeat the burst this many times (pause between)")
    ap.add_argument("--sustained", type=int, default=0, help="mentions spread over --over seconds")
    ap.add_argument("--over", type=float, default=60.0)
    ap.add_argument("--soak", type=float, default=0.0, help="seconds of steady load, sampling the bot's RSS")
    ap.add_argument("--soak-rate", type=float, default=5.0, help="mentions per second during --soak")
    ap.add_argument("--sample-every", type=float, default=5.0, help="seconds between RSS samples during --soak")
    ap.add_argument("--fake-here", action="store_true", help="run the fake Slack in this process")
    ap.add_argument("--profile", type=Path, help="run the bot under cProfile (all threads); stats to this file")
    ap.add_argument("--bot-env", action="append", default=[], metavar="NAME=VALUE",
                    help="extra environment for the bot process (repeatable)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    extra_env = dict(item.split("=", 1) for item in args.bot_env)

    qs = questions()
    results: dict[str, dict] = {}
    starts: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-slack-") as tmp:
        root = Path(tmp)
        build_corpus(root)
        modes = ["http", "socket"] if args.mode == "both" else [args.mode]
        for mode in modes:
            fake = LocalFake() if args.fake_here else RemoteFake()
            try:
                profile = (args.profile.with_name(f"{args.profile.stem}-{mode}{args.profile.suffix}")
                           if args.profile and len(modes) > 1 else args.profile)
                bot = BotProcess(mode, fake, root, profile=profile, extra_env=extra_env)
                starts[mode] = bot.start_s
                try:
                    driver = Driver(fake, mode, bot)
                    driver.send("warm up the caches")
                    driver.wait_answered(list(driver.sent), timeout=30)
                    if args.sequential:
                        results[f"{mode}: {args.sequential} sequential"] = sequential(driver, qs, args.sequential)
                    if args.sustained:
                        key = f"{mode}: {args.sustained} over {args.over:.0f}s"
                        results[key] = sustained(driver, qs, args.sustained, args.over)
                    for b in range(args.burst and args.bursts):
                        if b:
                            time.sleep(2)
                        tag = f" #{b + 1}" if args.bursts > 1 else ""
                        results[f"{mode}: {args.burst} at once{tag}"] = burst(driver, qs, args.burst)
                    if args.soak:
                        fake_pid = None if args.fake_here else fake.pid
                        results[f"{mode}: soak {args.soak:.0f}s"] = soak(driver, qs, args.soak, args.soak_rate,
                                                                          args.sample_every, fake_pid)
                finally:
                    log = bot.stop()
                errors = [line for line in log.splitlines() if "ERROR" in line or "Traceback" in line]
                if errors:
                    print(f"{mode}: the bot logged {len(errors)} error line(s), first: {errors[0]}", file=sys.stderr)
            finally:
                fake.stop()

    cpu = platform.processor() or platform.machine()
    print(f"\nVerbatim Slack benchmark — {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(f"machine: {platform.node()} · {platform.system()} {platform.release()} · {cpu} · "
          f"{os.cpu_count()} CPUs · Python {platform.python_version()} · load avg {os.getloadavg()[0]:.2f}")
    print(f"bot: its own process ({', '.join(f'{m} ready in {s:.1f}s' for m, s in starts.items())}) · "
          f"fake Slack: {'in the load generator' if args.fake_here else 'its own process'}"
          f"{' · bot env ' + ' '.join(args.bot_env) if args.bot_env else ''}"
          f"{' · PROFILED (slower)' if args.profile else ''}")
    print(f"corpus: seeds · {len(qs)} questions cycled · loopback\n")
    print("| run                            | sent  | answered | dup  | lost | p50 (ms) | p99 (ms) | max (ms) |")
    print("|--------------------------------|-------|----------|------|------|----------|----------|----------|")
    for name, r in results.items():
        print(row(name, r))
    for name, r in results.items():
        if "cpu_ms_per_mention" in r:
            print(f"{name}: bot CPU {r['cpu_ms_per_mention']:.1f} ms per mention "
                  f"(main thread {r['main_thread_cpu_ms_per_mention']:.1f} ms)")
    for name, r in results.items():
        if "rss" in r:
            s = rss_summary(r["rss"])
            r["rss_summary"] = s
            print(f"\n{name}: bot RSS MiB first minute {s['first_min']:.1f}, last minute {s['last_min']:.1f}, "
                  f"max {s['max']:.1f}, slope after the first minute {s['slope_mib_per_min']:+.3f} MiB/min "
                  f"({s['samples']} samples)")
            if r.get("fake_rss"):
                f = r["fake_rss"]
                print(f"{name}: fake Slack RSS MiB first {f[0]:.1f}, last {f[-1]:.1f}, max {max(f):.1f}")
    print("\ntargets: p50 ≤ 50 ms (sequential); 0 duplicates and 0 lost everywhere; p99 < 1 s under load.")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    bad = any(r["duplicates"] or r["lost"] for r in results.values())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
