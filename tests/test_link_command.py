"""``servicesync link`` adopts an existing Jira project for a Bitrix24 deal.

The command runs as a user runs it, through the CLI, with its store and
engine pointed at the test's store and the fakes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from servicesync.cli._app import app
from servicesync.cli.commands import link
from servicesync.config import Config
from servicesync.domain import Project
from servicesync.engine import Engine
from servicesync.store import Store
from sqlmodel import select
from typer.testing import CliRunner
from won_deal_worlds import JiraWorld

MakeWorld = Callable[..., JiraWorld]
LINK_FIELD = "UF_CRM_SERVICESYNC_PROJECT"


class Cli:
    """Runs ``servicesync`` against one world, off the test's event loop."""

    def __init__(self, world: JiraWorld, config: Path) -> None:
        self.world = world
        self.config = config
        self.runner = CliRunner()

    async def __call__(self, *args: str) -> Result:
        command = ["--config", str(self.config), *args]
        # The command runs its own event loop, which cannot start inside ours.
        return await asyncio.to_thread(self.runner.invoke, app, command)


@pytest.fixture
def cli(make_world: MakeWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    world = make_world()
    config = tmp_path / "servicesync.toml"
    config.write_text(world.config_text)

    @contextmanager
    def test_store(_config: Config) -> Iterator[Store]:
        yield world.store

    def test_engine(config: Config, store: Store) -> Engine:
        transports = {"crm": world.crm.transport(), "delivery": world.jira.transport()}
        return Engine(config, store, world.engine.plugins, transports=transports)

    monkeypatch.setattr(link, "configured_store", test_store)
    monkeypatch.setattr(link, "engine_for", test_engine)
    with_link_command()
    return Cli(world, config)


def with_link_command() -> None:
    """Add ``link`` to the CLI, as the full command set does."""
    if not any(c.name == "link" for c in app.registered_commands):
        link.register(app)


def existing_project(world: JiraWorld, key: str = "LEGACY") -> str:
    """Make a project in Jira by hand, as a person would; return its id."""
    lead = next(iter(world.jira.site.users))
    body = {"key": key, "name": f"{key} project", "leadAccountId": lead}
    return str(world.jira.site.create_project(body)["id"])


async def synced_deal(world: JiraWorld, title: str = "Northwind: data audit") -> str:
    deal = await world.add_deal(title)
    await world.engine.sync()
    return deal


async def deal_field(world: JiraWorld, deal: str) -> Any:
    return (await world.call("crm.deal.get", {"id": deal})).get(LINK_FIELD)


def deal_projects(world: JiraWorld) -> dict[str, str | None]:
    with world.store.session() as session:
        return {p.name: p.deal_id for p in session.exec(select(Project))}


async def test_link_adopts_a_project_and_the_flow_makes_no_other(cli: Cli) -> None:
    world = cli.world
    deal = await synced_deal(world)
    existing_project(world)

    result = await cli("link", deal, "delivery:LEGACY")
    await world.call(
        "crm.deal.update", {"id": deal, "fields": {"STAGE_ID": "EXECUTING"}}
    )
    await world.engine.sync()

    assert result.exit_code == 0, result.output
    assert f"crm:{deal} to delivery:LEGACY" in result.output
    assert await deal_field(world, deal) == f"{world.jira.base_url}/browse/LEGACY"
    assert world.projects_in_jira() == 0
    assert list(deal_projects(world)) == ["LEGACY project"]


async def test_link_accepts_the_crm_connection_and_a_project_id(cli: Cli) -> None:
    world = cli.world
    deal = await synced_deal(world)
    project_id = existing_project(world)

    result = await cli("link", f"crm:{deal}", f"delivery:{project_id}")

    assert result.exit_code == 0, result.output
    assert "delivery:LEGACY" in result.output
    assert await deal_field(world, deal) == f"{world.jira.base_url}/browse/LEGACY"


async def test_link_again_changes_nothing_and_says_so(cli: Cli) -> None:
    world = cli.world
    deal = await synced_deal(world)
    existing_project(world)
    await cli("link", deal, "delivery:LEGACY")

    result = await cli("link", deal, "delivery:LEGACY")

    assert result.exit_code == 0, result.output
    assert "already linked" in result.output
    assert len(deal_projects(world)) == 1


async def test_link_refuses_an_unknown_deal(cli: Cli) -> None:
    existing_project(cli.world)

    result = await cli("link", "999", "delivery:LEGACY")

    assert result.exit_code == 1
    assert "'999' is not in the store" in result.output
    assert deal_projects(cli.world) == {}


async def test_link_refuses_a_project_jira_does_not_have(cli: Cli) -> None:
    world = cli.world
    deal = await synced_deal(world)

    result = await cli("link", deal, "delivery:NOPE")

    assert result.exit_code == 1
    assert "no project 'NOPE' in 'delivery'" in result.output
    assert deal_projects(world) == {}
    assert await deal_field(world, deal) in (None, "")


async def test_link_refuses_to_replace_the_flow_project_without_force(
    cli: Cli,
) -> None:
    world = cli.world
    deal = await synced_deal(world)
    await world.call(
        "crm.deal.update", {"id": deal, "fields": {"STAGE_ID": "EXECUTING"}}
    )
    await world.engine.sync()
    (made,) = world.jira.site.projects
    existing_project(world)

    refused = await cli("link", deal, "delivery:LEGACY")
    forced = await cli("link", deal, "delivery:LEGACY", "--force")

    assert refused.exit_code == 1
    assert f"already linked to delivery:{made}" in refused.output
    assert "--force" in refused.output
    assert forced.exit_code == 0, forced.output
    assert f"replaces delivery:{made}" in forced.output
    assert await deal_field(world, deal) == f"{world.jira.base_url}/browse/LEGACY"
    owners = deal_projects(world)
    assert owners["LEGACY project"] is not None
    assert [
        deal_id for name, deal_id in owners.items() if name != "LEGACY project"
    ] == [None]


async def test_link_refuses_a_project_of_another_deal_without_force(
    cli: Cli,
) -> None:
    world = cli.world
    first = await synced_deal(world, "Northwind: data audit")
    second = await synced_deal(world, "Contoso: data audit")
    existing_project(world)
    await cli("link", first, "delivery:LEGACY")

    refused = await cli("link", second, "delivery:LEGACY")
    forced = await cli("link", second, "delivery:LEGACY", "--force")

    assert refused.exit_code == 1
    assert f"already linked to the deal crm:{first}" in refused.output
    assert forced.exit_code == 0, forced.output
    assert f"no longer the project of the deal crm:{first}" in forced.output


async def test_link_adopted_project_follows_the_lost_policy(cli: Cli) -> None:
    world = cli.world
    deal = await synced_deal(world)
    existing_project(world)
    await cli("link", deal, "delivery:LEGACY")

    await world.call("crm.deal.update", {"id": deal, "fields": {"STAGE_ID": "LOSE"}})
    await world.engine.sync()

    description = str(world.jira.site.projects["LEGACY"]["description"])
    assert description.startswith("[servicesync mark]")


def test_link_refuses_a_project_argument_without_a_connection(
    tmp_path: Path,
) -> None:
    config = tmp_path / "servicesync.toml"
    config.write_text('[connections.delivery]\nplugin = "jira"\n')
    with_link_command()

    result = CliRunner().invoke(app, ["--config", str(config), "link", "42", "ACME"])

    assert result.exit_code == 2
    assert "CONNECTION:PROJECT_ID" in result.output


def test_link_help_names_the_accepted_forms() -> None:
    with_link_command()

    result = CliRunner().invoke(app, ["link", "--help"])

    assert result.exit_code == 0, result.output
    assert "CRM_CONNECTION:DEAL_ID" in result.output
    assert "DELIVERY_CONNECTION:PROJECT_ID" in result.output
