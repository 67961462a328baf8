"""``servicesync dead-letters list`` and ``dead-letters replay``, end to end.

A deal signed at the portal becomes one event with a delivery to each hook
plugin: ``audit`` always takes it, ``mailer`` fails until it is fixed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cli_world import CliWorld, cli_world, sqlite_store
from servicesync import VirtualClock
from servicesync.cli._app import installed_plugins
from servicesync.config import load_config
from servicesync.engine import Dispatcher, Engine
from servicesync.logs import configure_logging
from servicesync.store import Store, open_store


@pytest.fixture
def world(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CliWorld]:
    with cli_world(store, tmp_path, monkeypatch) as world:
        yield world


@pytest.fixture
def sqlite_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliWorld]:
    """A world on a SQLite file of its own, for tests of output alone."""
    with sqlite_store(tmp_path) as store, cli_world(store, tmp_path, monkeypatch) as w:
        yield w


def fail_until_dead(world: CliWorld) -> None:
    """Let time pass until the failing delivery has used up its attempts."""
    # The engine's own dispatcher retries with backoff; a virtual clock lets
    # the hours between its attempts pass at once.
    configure_logging()  # to this test's stderr, not a finished command's
    clock = VirtualClock(start=datetime.now(UTC))
    store = open_store(world.store_url, clock=clock)
    engine = Engine(load_config(world.config_path), store, installed_plugins())
    dispatcher = Dispatcher(store, engine.handlers())
    try:
        for _ in range(10):
            if store.dead_letters():
                break
            clock.advance(3600)
            asyncio.run(dispatcher.drain())
    finally:
        asyncio.run(engine.aclose())
        store.close()


@pytest.fixture
def dead_event(world: CliWorld) -> str:
    """The id of an event ``audit`` took and ``mailer`` failed for good."""
    deal = world.add_deal("Northwind: data audit")
    world.invoke("sync")
    world.move(deal, "EXECUTING")
    world.mailer.failing = True
    world.invoke("sync")
    fail_until_dead(world)
    [(event_id, _)] = world.audit.calls
    return event_id


def dead_letters(world: CliWorld, *args: str) -> list[dict[str, Any]]:
    result = world.invoke("dead-letters", "list", "--json", *args)
    assert result.exit_code == 0, result.output
    letters: list[dict[str, Any]] = json.loads(result.stdout)["dead_letters"]
    return letters


def delivery_status(world: CliWorld, event_id: str, consumer: str) -> str:
    [row] = [
        row
        for row in world.rows("outbox_deliveries")
        if (row["event_id"], row["plugin"]) == (event_id, consumer)
    ]
    return str(row["status"])


def test_dead_letters_list_names_the_consumer_and_its_last_error(
    world: CliWorld, dead_event: str
) -> None:
    [letter] = dead_letters(world)

    assert (letter["event_id"], letter["consumer"]) == (dead_event, "plugin:mailer")
    assert letter["attempts"] == 5
    assert letter["last_error"] == "RuntimeError: the mail server is down"
    assert letter["payload"]["stage"] == "contract_signed"


def test_dead_letters_list_of_one_plugin(world: CliWorld, dead_event: str) -> None:
    assert dead_letters(world, "--plugin", "audit") == []
    assert len(dead_letters(world, "--plugin", "mailer")) == 1


def test_dead_letters_list_prints_a_table(world: CliWorld, dead_event: str) -> None:
    result = world.invoke("dead-letters", "list")

    assert result.exit_code == 0, result.output
    assert "plugin:mailer" in result.stdout
    assert "the mail server is down" in result.stdout


def test_dead_letters_replay_delivers_once_the_hook_is_fixed(
    world: CliWorld, dead_event: str
) -> None:
    world.mailer.failing = False

    result = world.invoke("dead-letters", "replay", dead_event)

    assert result.exit_code == 0, result.output
    assert "delivered" in result.stdout
    assert world.mailer.calls[-1] == (dead_event, "contract_signed")
    assert len(world.mailer.calls) == 6  # five failures, then the replay
    assert world.audit.calls == [(dead_event, "contract_signed")]
    assert delivery_status(world, dead_event, "plugin:mailer") == "done"
    assert dead_letters(world) == []


def test_dead_letters_replay_that_fails_again_exits_1_and_keeps_it(
    world: CliWorld, dead_event: str
) -> None:
    result = world.invoke("dead-letters", "replay", "--plugin", "mailer")

    assert result.exit_code == 1
    assert "failed again" in result.stderr
    assert "the mail server is down" in result.stdout
    assert delivery_status(world, dead_event, "plugin:mailer") == "pending"
    assert world.audit.calls == [(dead_event, "contract_signed")]


def test_dead_letters_replay_of_an_unknown_event_exits_1(
    sqlite_world: CliWorld,
) -> None:
    result = sqlite_world.invoke("dead-letters", "replay", "01NOSUCHEVENT")

    assert result.exit_code == 1
    assert "No dead letter has the event id '01NOSUCHEVENT'" in result.stderr


def test_dead_letters_none_says_so(sqlite_world: CliWorld) -> None:
    listed = sqlite_world.invoke("dead-letters", "list")
    replayed = sqlite_world.invoke("dead-letters", "replay")

    assert (listed.exit_code, replayed.exit_code) == (0, 0)
    assert "No dead letters." in listed.stdout
    assert "No dead letters to replay." in replayed.stdout
