"""Slack settings come from the environment; a missing variable is one clear ConfigError."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.slack_settings import DEFAULT_API_URL, default_state_db, load_settings
from index.errors import ConfigError

BOT = "xoxb-1111-2222-abcdef"
APP = "xapp-1-A111-222-abcdef"


def test_socket_mode_needs_bot_and_app_tokens():
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN"):
        load_settings("socket", {})
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN"):
        load_settings("socket", {"SLACK_BOT_TOKEN": BOT})
    with pytest.raises(ConfigError, match="xapp-"):
        load_settings("socket", {"SLACK_BOT_TOKEN": BOT, "SLACK_APP_TOKEN": BOT})
    s = load_settings("socket", {"SLACK_BOT_TOKEN": BOT, "SLACK_APP_TOKEN": APP})
    assert s.app_token == APP and s.signing_secret is None and s.api_url == DEFAULT_API_URL


def test_http_mode_needs_signing_secret_and_reads_port_and_api_url():
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        load_settings("http", {"SLACK_BOT_TOKEN": BOT})
    s = load_settings("http", {"SLACK_BOT_TOKEN": BOT, "SLACK_SIGNING_SECRET": "s3cr3t", "PORT": "8123",
                               "SLACK_API_URL": "http://127.0.0.1:9/api"})
    assert s.port == 8123 and s.api_url == "http://127.0.0.1:9/api/"
    with pytest.raises(ConfigError, match="PORT"):
        load_settings("http", {"SLACK_BOT_TOKEN": BOT, "SLACK_SIGNING_SECRET": "x", "PORT": "eighty"})
    with pytest.raises(ConfigError, match="SLACK_API_URL"):
        load_settings("http", {"SLACK_BOT_TOKEN": BOT, "SLACK_SIGNING_SECRET": "x", "SLACK_API_URL": "slack.com"})


def test_secrets_never_in_repr():
    s = load_settings("http", {"SLACK_BOT_TOKEN": BOT, "SLACK_SIGNING_SECRET": "s3cr3t-value"})
    assert BOT not in repr(s) and "s3cr3t-value" not in repr(s)
    assert set(s.secrets()) == {BOT, "s3cr3t-value"}


def test_state_db_location(tmp_path):
    assert default_state_db({"VERBATIM_STATE_DB": str(tmp_path / "s.db")}) == tmp_path / "s.db"
    assert default_state_db({"VERBATIM_DB": str(tmp_path / "idx" / "i.db")}) == tmp_path / "idx" / "slack-state.db"
    assert default_state_db({}) == Path(".verbatim") / "slack-state.db"


def test_manifest_and_procfile_match_what_the_app_handles():
    import yaml

    repo = Path(__file__).resolve().parents[1]
    manifest = yaml.safe_load((repo / "slack-manifest.yml").read_text(encoding="utf-8"))
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "app_mentions:read", "chat:write", "im:history", "im:read", "im:write", "commands"}
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["app_mention", "message.im"]
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == ["/ask"]
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True  # DMs
    procfile = (repo / "Procfile").read_text(encoding="utf-8").splitlines()
    assert "web: python -m bot http" in procfile and "worker: python -m bot socket" in procfile


def test_thread_counts_are_read_and_bounded():
    base = {"SLACK_BOT_TOKEN": BOT, "SLACK_SIGNING_SECRET": "s3cr3t"}
    s = load_settings("http", base)
    assert (s.listener_threads, s.http_threads) == (8, 8)
    s = load_settings("http", {**base, "VERBATIM_SLACK_THREADS": "3", "VERBATIM_HTTP_THREADS": "2"})
    assert (s.listener_threads, s.http_threads) == (3, 2)
    for name, value in (("VERBATIM_SLACK_THREADS", "0"), ("VERBATIM_HTTP_THREADS", "many"),
                        ("VERBATIM_SLACK_THREADS", "1000")):
        with pytest.raises(ConfigError, match=name):
            load_settings("http", {**base, name: value})
