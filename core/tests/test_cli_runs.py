"""``servicesync runs``: the run history, newest first."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_world import WEBHOOK_ENV, CliWorld, cli_world, sqlite_store
from servicesync.store import RunCounts, Store


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


def runs_of(world: CliWorld, *args: str) -> list[dict[str, Any]]:
    result = world.invoke("runs", "--json", *args)
    assert result.exit_code == 0, result.output
    runs: list[dict[str, Any]] = json.loads(result.stdout)["runs"]
    return runs


def test_runs_lists_the_latest_runs_newest_first(world: CliWorld) -> None:
    world.add_deal("Northwind: data audit")
    world.invoke("sync")

    runs = runs_of(world, "--limit", "3")

    stored = sorted(world.rows("runs"), key=lambda r: r["started_at"], reverse=True)
    assert [run["id"] for run in runs] == [row["id"] for row in stored[:3]]
    assert {run["status"] for run in runs} == {"ok"}
    assert all(run["duration_seconds"] >= 0 for run in runs)


def test_runs_counts_what_each_run_read_and_wrote(world: CliWorld) -> None:
    world.add_deal("Northwind: data audit")
    world.add_deal("Contoso: BI dashboards")
    world.invoke("sync")

    runs = {run["stream"]: run for run in runs_of(world)}

    assert (runs["deals"]["read"], runs["deals"]["written"]) == (2, 2)
    assert runs["deals"]["trigger"] == "cli"


def test_runs_shows_a_failed_run_with_its_error(
    world: CliWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.invoke("sync")
    code = world.webhook_url.rstrip("/").rsplit("/", 1)[-1]
    monkeypatch.setenv(WEBHOOK_ENV, world.webhook_url.replace(code, "0" * len(code)))
    assert world.invoke("sync").exit_code == 1

    latest = runs_of(world, "--limit", "1")[0]

    assert latest["status"] == "failed"
    assert "refused the credentials" in latest["error"]
    assert code not in latest["error"]


def test_runs_of_one_connection_leave_the_others_out(world: CliWorld) -> None:
    world.invoke("sync")
    other = world.store.start_run("billing", "invoices")
    world.store.finish_run(other, "ok", RunCounts(read=1))

    runs = runs_of(world, "--connection", "crm")

    assert runs
    assert {run["connection"] for run in runs} == {"crm"}


def test_runs_of_an_unknown_connection_exit_1(sqlite_world: CliWorld) -> None:
    result = sqlite_world.invoke("runs", "--connection", "billing")

    assert result.exit_code == 1
    assert "No connection named 'billing'" in result.stderr


def test_runs_prints_a_table(sqlite_world: CliWorld) -> None:
    sqlite_world.invoke("sync")

    result = sqlite_world.invoke("runs", "-n", "2")

    assert result.exit_code == 0, result.output
    assert "crm" in result.stdout
    assert "Times are UTC." in result.stdout
