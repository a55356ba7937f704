"""`python -m bot http` and `python -m bot socket` as real processes: configuration errors are one
line, the bot answers through the fake Slack, and SIGTERM stops it promptly."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fakeslack import FakeSlack, event_callback, mention_event, signed_headers  # noqa: E402
from fakeslack.harness import SECRET, build_corpus  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
QUESTION = "when is the evacuation drill for the harbour office"


def run_bot(args: list[str], env: dict[str, str], **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bot", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def base_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env.update(VERBATIM_DB=str(tmp_path / "index.db"), VERBATIM_CORPUS=str(build_corpus(tmp_path)),
               VERBATIM_STATE_DB=str(tmp_path / "slack-state.db"), VERBATIM_QUIET_BUILD="1")
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("mode, env, missing", [
    ("http", {}, "SLACK_BOT_TOKEN"),
    ("http", {"SLACK_BOT_TOKEN": "xoxb-1-2-3"}, "SLACK_SIGNING_SECRET"),
    ("socket", {"SLACK_BOT_TOKEN": "xoxb-1-2-3"}, "SLACK_APP_TOKEN"),
])
def test_missing_configuration_is_one_line(tmp_path, mode, env, missing):
    proc = run_bot([mode], {**base_env(tmp_path), **env})
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and missing in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def stop(proc: subprocess.Popen) -> str:
    began = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=15)
    assert time.monotonic() - began < 10
    return err


def test_http_process_answers_and_stops_on_sigterm(tmp_path):
    with FakeSlack() as fake:
        port = free_port()
        env = {**base_env(tmp_path), "SLACK_BOT_TOKEN": fake.bot_token, "SLACK_SIGNING_SECRET": SECRET,
               "SLACK_API_URL": fake.api_url, "PORT": str(port), "HOST": "127.0.0.1"}
        proc = run_bot(["http"], env)
        try:
            deadline = time.monotonic() + 60  # the index is built at start
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                        break
                except OSError:
                    assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
                    time.sleep(0.1)
            body = json.dumps(event_callback(mention_event(QUESTION)))
            req = urllib.request.Request(f"http://127.0.0.1:{port}/slack/events", data=body.encode(),
                                         headers=signed_headers(body, SECRET), method="POST")
            with urllib.request.urlopen(req, timeout=5) as resp:
                assert resp.status == 200
            [call] = fake.wait_calls("chat.postMessage", timeout=10)
            assert "evacuation drill" in call.params["text"]
        finally:
            err = stop(proc)
        assert fake.bot_token not in err and SECRET not in err


def test_socket_process_answers_and_stops_on_sigterm(tmp_path):
    with FakeSlack() as fake:
        env = {**base_env(tmp_path), "SLACK_BOT_TOKEN": fake.bot_token, "SLACK_APP_TOKEN": fake.app_token,
               "SLACK_API_URL": fake.api_url}
        proc = run_bot(["socket"], env)
        try:
            fake.wait_connected(1, timeout=60)
            envelope = fake.send_envelope("events_api", event_callback(mention_event(QUESTION)))
            fake.wait_ack(envelope, timeout=10)
            [call] = fake.wait_calls("chat.postMessage", timeout=10)
            assert "evacuation drill" in call.params["text"]
        finally:
            err = stop(proc)
        assert fake.app_token not in err and fake.bot_token not in err
