"""``servicesync state show`` and ``state reset``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_world import CliWorld, cli_world, sqlite_store
from servicesync.store import Store


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


def streams_of(world: CliWorld) -> dict[str, dict[str, Any]]:
    result = world.invoke("state", "show", "--json")
    assert result.exit_code == 0, result.output
    return {s["stream"]: s for s in json.loads(result.stdout)["streams"]}


def deals_report(world: CliWorld) -> dict[str, Any]:
    result = world.invoke("sync", "--json")
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout)["streams"]["crm.deals"]
    return report


def test_state_show_gives_each_stream_its_cursor_and_last_run(
    world: CliWorld,
) -> None:
    world.add_deal("Northwind: data audit")
    world.invoke("sync")

    streams = streams_of(world)

    assert streams["deals"]["connection"] == "crm"
    assert streams["deals"]["cursor"] is not None
    assert streams["deals"]["window_end"] is None
    assert streams["deals"]["last_run"]["status"] == "ok"


def test_state_show_prints_a_table(sqlite_world: CliWorld) -> None:
    sqlite_world.invoke("sync")

    result = sqlite_world.invoke("state", "show", "crm")

    assert result.exit_code == 0, result.output
    assert "resume point" in result.stdout
    assert "deals" in result.stdout


def test_state_show_before_any_sync_says_so(sqlite_world: CliWorld) -> None:
    result = sqlite_world.invoke("state", "show")

    assert result.exit_code == 0, result.output
    assert "No stream has been read yet." in result.stdout


def test_state_reset_refused_at_the_prompt_keeps_the_state(
    sqlite_world: CliWorld,
) -> None:
    sqlite_world.invoke("sync")

    result = sqlite_world.invoke("state", "reset", "crm", "deals", input="n\n")

    assert result.exit_code == 1
    assert "deals" in streams_of(sqlite_world)


def test_state_reset_makes_the_next_sync_read_everything_again(
    world: CliWorld,
) -> None:
    for title in ("Northwind: data audit", "Contoso: BI dashboards"):
        world.add_deal(title)
    world.invoke("sync")

    result = world.invoke("state", "reset", "crm", "deals", "--yes")

    assert result.exit_code == 0, result.output
    assert "deals" not in streams_of(world)
    assert "companies" in streams_of(world)
    report = deals_report(world)
    assert report["written"] == report["read"] == 2


def test_state_reset_fires_no_flows_for_history(world: CliWorld) -> None:
    world.write_config({"NEW": "acquaintance"})
    world.add_deal("Signed long ago", stage="EXECUTING")
    world.add_deal("Northwind: data audit")
    world.invoke("sync")
    world.write_config()  # the signed stage is mapped from now on

    world.invoke("state", "reset", "crm", "--yes")
    report = deals_report(world)

    assert report["written"] == 2
    assert report["events"] == 0
    assert world.rows("outbox_events") == []
    assert world.audit.calls == []
