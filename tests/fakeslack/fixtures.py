"""Pytest fixtures shared by the Slack front end's end-to-end tests (HTTP, Socket Mode, faults).

A test module imports the ones it needs by name (`from fakeslack.fixtures import fake, service`);
pytest then registers them for that module only, so a module-scoped `service` is still one index
per test module, as when each module defined its own. The two `bot` fixtures are named by transport
and registered as `bot`: a module imports the one its transport needs.
"""
from __future__ import annotations

from typing import Iterator

import pytest

from .harness import HttpBot, http_bot, open_service, socket_bot
from .server import FakeSlack


@pytest.fixture(scope="module")
def service(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """The real AnswerService on a fresh index of the seeds plus the hostile memo, one per test
    module (building it takes seconds; the tests only read it)."""
    svc = open_service(tmp_path_factory.mktemp(request.module.__name__.replace("test_", "").replace("_", "-")))
    yield svc
    svc.close()


@pytest.fixture()
def fake() -> Iterator[FakeSlack]:
    """A fresh fake Slack per test, so recorded calls and injected faults never leak between tests."""
    with FakeSlack() as f:
        yield f


@pytest.fixture(name="bot")
def http_bot_fixture(fake: FakeSlack, service, tmp_path) -> Iterator[HttpBot]:
    """The real bot in HTTP mode on a free port, posting to `fake`, with its own state database."""
    with http_bot(fake, service, tmp_path / "slack-state.db") as b:
        yield b


@pytest.fixture(name="bot")
def socket_bot_fixture(fake: FakeSlack, service, tmp_path):
    """The real bot in Socket Mode, connected to `fake`'s websocket, with its own state database."""
    with socket_bot(fake, service, tmp_path / "slack-state.db") as runner:
        yield runner
