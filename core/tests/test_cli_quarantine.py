"""``servicesync quarantine list`` and ``quarantine retry``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_world import CliWorld, cli_world, sqlite_store
from servicesync.store import Store

#: A mapping that knows new deals only: signed and prepared ones are refused.
NEW_ONLY = {"NEW": "acquaintance"}


@pytest.fixture
def world(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CliWorld]:
    with cli_world(store, tmp_path, monkeypatch) as world:
        world.write_config(NEW_ONLY)
        yield world


@pytest.fixture
def sqlite_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliWorld]:
    """A world on a SQLite file of its own, for tests of output alone."""
    with sqlite_store(tmp_path) as store, cli_world(store, tmp_path, monkeypatch) as w:
        w.write_config(NEW_ONLY)
        yield w


def quarantined(world: CliWorld) -> dict[str, dict[str, Any]]:
    result = world.invoke("quarantine", "list", "--json")
    assert result.exit_code == 0, result.output
    return {r["external_id"]: r for r in json.loads(result.stdout)["records"]}


def test_quarantine_list_shows_each_refused_record_and_why(world: CliWorld) -> None:
    signed = world.add_deal("Contoso: BI dashboards", stage="EXECUTING")
    world.add_deal("Northwind: data audit")
    world.invoke("sync")

    records = quarantined(world)

    assert list(records) == [signed]
    assert "'EXECUTING' is not mapped" in records[signed]["reason"]
    assert records[signed]["payload"]["TITLE"] == "Contoso: BI dashboards"


def test_a_title_longer_than_the_store_keeps_is_quarantined_not_fatal(
    world: CliWorld,
) -> None:
    long = world.add_deal("Contoso: " + "BI dashboards, " * 30)
    world.add_deal("Northwind: data audit")

    result = world.invoke("sync")

    assert result.exit_code == 0, result.output
    assert (
        "title: String should have at most 300 characters"
        in (quarantined(world)[long]["reason"])
    )
    assert [deal["title"] for deal in world.rows("deals")] == ["Northwind: data audit"]


def test_sync_stops_when_the_mapping_refuses_more_than_the_share(
    world: CliWorld,
) -> None:
    text = world.config_path.read_text()
    limit = 'plugin = "bitrix24"\nmax_quarantined_share = 0.2\n'
    world.config_path.write_text(text.replace('plugin = "bitrix24"\n', limit, 1))
    signed = [world.add_deal(f"Signed {i}", stage="EXECUTING") for i in range(21)]
    world.add_deal("Northwind: data audit")

    result = world.invoke("sync")

    assert result.exit_code == 1
    assert "21 of the 22 records read could not be mapped (95%)" in result.output
    assert "connections.crm.max_quarantined_share" in result.output
    assert sorted(quarantined(world)) == sorted(signed)
    assert [deal["title"] for deal in world.rows("deals")] == ["Northwind: data audit"]


def test_quarantine_list_prints_the_reason_with_its_brackets(
    sqlite_world: CliWorld,
) -> None:
    sqlite_world.add_deal("Contoso: BI dashboards", stage="EXECUTING")
    sqlite_world.invoke("sync")

    result = sqlite_world.invoke("quarantine", "list", "--connection", "crm")

    assert result.exit_code == 0, result.output
    assert "[connections" in result.stdout


def test_quarantine_retry_takes_in_what_maps_now_and_keeps_the_rest(
    world: CliWorld,
) -> None:
    signed = world.add_deal("Contoso: BI dashboards", stage="EXECUTING")
    prepared = world.add_deal("Fabrikam: process redesign", stage="PREPARATION")
    world.invoke("sync")
    world.write_config({**NEW_ONLY, "EXECUTING": "contract_signed"})

    result = world.invoke("quarantine", "retry")

    assert result.exit_code == 0, result.output
    assert "1 record(s) taken in" in result.stdout
    records = quarantined(world)
    assert list(records) == [prepared]
    assert records[prepared]["retries"] == 1
    assert "'PREPARATION' is not mapped" in records[prepared]["reason"]
    assert [deal["title"] for deal in world.rows("deals")] == ["Contoso: BI dashboards"]
    assert signed not in records


def test_quarantine_retry_fires_no_flows(world: CliWorld) -> None:
    world.add_deal("Signed long ago", stage="EXECUTING")
    world.invoke("sync")
    world.invoke("sync")  # past the baseline: a new signed deal would fire now
    world.write_config({**NEW_ONLY, "EXECUTING": "contract_signed"})

    world.invoke("quarantine", "retry")

    assert world.rows("outbox_events") == []
    assert world.audit.calls == []


def test_quarantine_retried_record_is_not_taken_in_twice(world: CliWorld) -> None:
    world.add_deal("Contoso: BI dashboards", stage="EXECUTING")
    world.invoke("sync")
    world.write_config({**NEW_ONLY, "EXECUTING": "contract_signed"})
    world.invoke("quarantine", "retry")

    result = world.invoke("sync", "--json")

    deals = json.loads(result.stdout)["streams"]["crm.deals"]
    assert (deals["written"], deals["quarantined"], deals["events"]) == (0, 0, 0)


def test_quarantine_empty_says_so(sqlite_world: CliWorld) -> None:
    listed = sqlite_world.invoke("quarantine", "list")
    retried = sqlite_world.invoke("quarantine", "retry")

    assert (listed.exit_code, retried.exit_code) == (0, 0)
    assert "The quarantine is empty." in listed.stdout
    assert "The quarantine is empty." in retried.stdout
