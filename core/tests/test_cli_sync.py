"""``servicesync sync``: reports, dry runs, progress and clean failures."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_world import WEBHOOK_ENV, CliWorld, cli_world, sqlite_store
from rich.console import Console
from servicesync.cli._app import app, build_app
from servicesync.cli.commands import sync
from servicesync.store import Store
from typer.testing import CliRunner


@pytest.fixture
def world(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CliWorld]:
    with cli_world(store, tmp_path, monkeypatch) as world:
        yield world


@pytest.fixture
def sqlite_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliWorld]:
    with sqlite_store(tmp_path) as store, cli_world(store, tmp_path, monkeypatch) as w:
        yield w


def invoke_alone(*args: str) -> tuple[int, str, str]:
    build_app()
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_sync_takes_deals_in_and_reports_each_stream(world: CliWorld) -> None:
    world.add_deal("Northwind: data audit")

    result = world.invoke("sync", "--json")

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["streams"]["crm.deals"]["written"] == 1
    assert report["dry_run"] is False
    assert len(world.rows("deals")) == 1


def test_sync_dry_run_changes_nothing_in_the_store_or_the_services(
    world: CliWorld,
) -> None:
    signed = world.add_deal("Contoso: BI dashboards")
    assert world.invoke("sync").exit_code == 0
    world.move(signed, "EXECUTING")
    fresh = world.add_deal("Fabrikam: process redesign")
    before, writes = world.snapshot(), world.writes_at_portal()

    result = world.invoke("sync", "--dry-run", "--json")

    assert result.exit_code == 0, result.output
    deals = json.loads(result.stdout)["streams"]["crm.deals"]
    assert (deals["would_create"], deals["would_update"]) == ([fresh], [signed])
    assert world.snapshot() == before
    assert world.writes_at_portal() == writes
    assert world.audit.calls == []


def test_sync_after_a_dry_run_still_does_what_was_previewed(world: CliWorld) -> None:
    signed = world.add_deal("Contoso: BI dashboards")
    world.invoke("sync")
    world.move(signed, "EXECUTING")
    world.invoke("sync", "--dry-run")

    result = world.invoke("sync", "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["streams"]["crm.deals"]["events"] == 1
    assert [stage for _, stage in world.audit.calls] == ["contract_signed"]


def test_sync_dry_run_lists_records_it_would_create_and_update(
    sqlite_world: CliWorld,
) -> None:
    known = sqlite_world.add_deal("Northwind: data audit")
    sqlite_world.invoke("sync")
    sqlite_world.move(known, "EXECUTING")
    fresh = sqlite_world.add_deal("Tailspin: analytics retainer")

    result = sqlite_world.invoke("sync", "--dry-run")

    assert result.exit_code == 0, result.output
    assert "Dry run: nothing was written anywhere." in result.stdout
    assert f"would create deals: {fresh}" in result.stdout
    assert f"would update deals: {known}" in result.stdout


def test_sync_shows_progress_on_a_terminal(
    sqlite_world: CliWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqlite_world.add_deal("Northwind: data audit")
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=120)
    monkeypatch.setattr(sync, "console", terminal)

    result = sqlite_world.invoke("sync")

    assert result.exit_code == 0, result.output
    assert "crm.deals" in screen.getvalue()
    assert "records read" in screen.getvalue()


def test_sync_is_quiet_about_progress_when_not_on_a_terminal(
    sqlite_world: CliWorld,
) -> None:
    sqlite_world.add_deal("Northwind: data audit")

    result = sqlite_world.invoke("sync")

    assert result.exit_code == 0, result.output
    assert "records read" not in result.output
    assert "\x1b[" not in result.output


def test_sync_refused_credentials_exit_1_with_the_reason(
    sqlite_world: CliWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = sqlite_world.webhook_url.rstrip("/").rsplit("/", 1)[-1]
    monkeypatch.setenv(
        WEBHOOK_ENV, sqlite_world.webhook_url.replace(code, "0" * len(code))
    )

    result = sqlite_world.invoke("sync")

    assert result.exit_code == 1
    assert "refused the credentials" in result.stderr
    assert "Traceback" not in result.output
    assert code not in result.output


def test_sync_unknown_connection_exits_1(tmp_path: Path) -> None:
    config = tmp_path / "servicesync.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{tmp_path}/s.db"\n')

    code, _, err = invoke_alone("--config", str(config), "sync", "billing")

    assert code == 1
    assert "No connection named 'billing'" in err


def test_sync_broken_config_exits_1_without_a_traceback(tmp_path: Path) -> None:
    config = tmp_path / "servicesync.toml"
    config.write_text("[connections.crm\nplugin = ")

    code, out, err = invoke_alone("--config", str(config), "sync")

    assert code == 1
    assert "error:" in err
    assert "Traceback" not in out + err


def test_sync_help_names_the_default_connection() -> None:
    code, out, _ = invoke_alone("sync", "--help")

    assert code == 0
    assert "every enabled one" in out
