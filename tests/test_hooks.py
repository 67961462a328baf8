"""Each hook is called with its documented arguments when its moment comes.

A hook that nothing calls yet is listed in :data:`NOT_FIRED_YET` with the
reason; :func:`test_every_hook_is_tested_or_listed_as_not_fired` fails as
soon as a hook is neither tested here nor listed, or is listed but the
core's code starts calling it (it then needs its own test).
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import servicesync
import servicesync_bitrix24.plugin
import servicesync_jira.plugin
import typer
from servicesync import hookimpl, hookspecs
from servicesync.cli import _app
from servicesync.config import parse_config
from servicesync.contract import Connector, ConnectorConfig, Stream
from servicesync.domain import Deal
from servicesync.engine import Engine
from servicesync.plugins import load_plugins
from servicesync.store import OutboxEvent, Store
from servicesync_bitrix24.fake import FakePortal
from sqlmodel import select
from typer.testing import CliRunner
from won_deal_worlds import JiraWorld

#: Hooks no flow of the core fires yet, and why.
NOT_FIRED_YET = {
    "on_time_entries_synced": "no connector reads time entries into the store yet",
    "on_invoice_due": "nothing computes billing milestones or periods yet",
    "on_invoice_issued": "no flow issues invoices or reads them back yet",
}

SPECS = sorted(
    name
    for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
    if hasattr(function, "servicesync_spec")
)


def documented_arguments(name: str) -> list[str]:
    return list(inspect.signature(getattr(hookspecs, name)).parameters)


def test_every_hook_is_tested_or_listed_as_not_fired() -> None:
    tested = {
        name.removeprefix("test_hook_")
        for name in dir(sys.modules[__name__])
        if name.startswith("test_hook_")
    }
    core = Path(servicesync.__file__).parent
    sources = "".join(
        p.read_text() for p in core.rglob("*.py") if p.name != "hookspecs.py"
    )

    assert {s for s in SPECS if s not in tested} == set(NOT_FIRED_YET)
    assert [name for name in NOT_FIRED_YET if name in sources] == []


# -- register_connectors ----------------------------------------------------


class NotesConfig(ConnectorConfig):
    pass


class NotesConnector(Connector[NotesConfig]):
    name = "notes"
    config_model = NotesConfig

    def streams(self) -> Sequence[Stream]:
        return []


def test_hook_register_connectors() -> None:
    calls: list[dict[str, Any]] = []

    class Notes:
        @hookimpl
        def register_connectors(self, register: Callable[[type], None]) -> None:
            calls.append({"register": register})
            register(NotesConnector)

    plugins = load_plugins(modules=[("notes", Notes())])

    assert [list(call) for call in calls] == [
        documented_arguments("register_connectors")
    ]
    assert plugins.connector("notes") is NotesConnector


# -- register_commands -------------------------------------------------------


def test_hook_register_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[typer.Typer] = []

    class Greeter:
        @hookimpl
        def register_commands(self, app: typer.Typer) -> None:
            calls.append(app)
            app.command("greet")(lambda: typer.echo("hello from a plugin"))

    root = typer.Typer(no_args_is_help=True)
    root.callback()(lambda: None)
    monkeypatch.setattr(_app, "app", root)
    monkeypatch.setattr(_app, "_built", False)
    monkeypatch.setattr(
        _app, "_plugins", load_plugins(modules=[("greeter", Greeter())])
    )

    built = _app.build_app()
    result = CliRunner().invoke(built, ["greet"])

    assert calls == [root] and built is root
    assert documented_arguments("register_commands") == ["app"]
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "hello from a plugin"


# -- on_deal_stage_changed ---------------------------------------------------

CONFIG = """
[connections.crm]
plugin = "bitrix24"
[connections.crm.settings]
portal_url = "{portal_url}"
webhook_url = "{webhook_url}"
[connections.crm.mapping.values.stage]
NEW = "acquaintance"
EXECUTING = "contract_signed"
"""


class StageListener:
    """Records every call of ``on_deal_stage_changed``; fails while told to."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.failures_left = 0

    @hookimpl
    def on_deal_stage_changed(
        self,
        event_id: str,
        deal: dict[str, Any],
        previous_stage: str | None,
        stage: str,
    ) -> None:
        self.calls.append(
            {
                "event_id": event_id,
                "deal": deal,
                "previous_stage": previous_stage,
                "stage": stage,
            }
        )
        if self.failures_left:
            self.failures_left -= 1
            raise RuntimeError("the listener is down")


class Portal:
    """A portal with one new deal, synced once, and a listening plugin."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.fake = FakePortal(clock=store.clock, seed=4)
        self.listener = StageListener()
        text = CONFIG.format(
            portal_url=self.fake.base_url, webhook_url=self.fake.add_webhook()
        )
        plugins = load_plugins(
            modules=[
                ("bitrix24", servicesync_bitrix24.plugin),
                ("listener", self.listener),
            ]
        )
        self.engine = Engine(
            parse_config(text),
            store,
            plugins,
            transports={"crm": self.fake.transport()},
        )
        self.deal = self.fake.data.add_deal({"TITLE": "Hooked", "OPPORTUNITY": "5"})

    def move(self, stage: str) -> None:
        self.fake.data.update_deal(self.deal, {"STAGE_ID": stage})

    def stored_deal(self) -> dict[str, Any]:
        with self.store.session() as session:
            return session.exec(select(Deal)).one().model_dump(mode="json")

    def event_ids(self) -> list[str]:
        with self.store.session() as session:
            return list(session.exec(select(OutboxEvent.id)))


@pytest.fixture
async def portal(store: Store) -> AsyncIterator[Portal]:
    made = Portal(store)
    await made.engine.sync()
    yield made
    await made.engine.aclose()


async def test_hook_on_deal_stage_changed(portal: Portal) -> None:
    portal.move("EXECUTING")

    await portal.engine.sync()

    assert portal.listener.calls == [
        {
            "event_id": portal.event_ids()[0],
            "deal": portal.stored_deal(),
            "previous_stage": "acquaintance",
            "stage": "contract_signed",
        }
    ]
    assert list(portal.listener.calls[0]) == documented_arguments(
        "on_deal_stage_changed"
    )
    assert portal.listener.calls[0]["deal"]["title"] == "Hooked"


async def test_hook_on_deal_stage_changed__retry_repeats_the_event_id(
    portal: Portal,
) -> None:
    portal.listener.failures_left = 1
    portal.move("EXECUTING")
    await portal.engine.sync()

    portal.store.clock.advance(3600)
    delivered = await portal.engine.dispatch()

    ids = [call["event_id"] for call in portal.listener.calls]
    assert delivered == 1
    assert ids == [portal.event_ids()[0]] * 2


class ProjectListener:
    """Records every call of ``on_project_created``."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    @hookimpl
    def on_project_created(
        self, event_id: str, project: dict[str, Any], deal: dict[str, Any]
    ) -> None:
        self.calls.append({"event_id": event_id, "project": project, "deal": deal})


async def test_hook_on_project_created(store: Store) -> None:
    world = JiraWorld(store)
    listener = ProjectListener()
    plugins = load_plugins(
        modules=[
            ("bitrix24", servicesync_bitrix24.plugin),
            ("jira", servicesync_jira.plugin),
            ("listener", listener),
        ]
    )
    transports = {"crm": world.crm.transport(), "delivery": world.jira.transport()}
    engine = Engine(world.config, store, plugins, transports=transports)
    deal = await world.add_deal("Northwind: data audit")
    await engine.sync()
    await world.call(
        "crm.deal.update", {"id": deal, "fields": {"STAGE_ID": "EXECUTING"}}
    )

    await engine.sync()
    await engine.sync()
    await engine.aclose()

    assert len(listener.calls) == 1
    call = listener.calls[0]
    assert list(call) == documented_arguments("on_project_created")
    assert call["deal"]["title"] == "Northwind: data audit"
    assert call["project"]["deal_id"] == call["deal"]["id"]
    assert call["project"]["team"] and call["project"]["milestones"]
    assert call["project"]["links"] == [
        {
            "connection": "delivery",
            "external_id": call["project"]["links"][0]["external_id"],
        }
    ]


class SlipListener:
    """Records every call of ``on_delivery_date_slipped``."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    @hookimpl
    def on_delivery_date_slipped(
        self,
        event_id: str,
        deal: dict[str, Any],
        project: dict[str, Any],
        milestone: str | None,
        previous_date: str,
        new_date: str,
        owner: str | None,
    ) -> None:
        self.calls.append(
            {
                "event_id": event_id,
                "deal": deal,
                "project": project,
                "milestone": milestone,
                "previous_date": previous_date,
                "new_date": new_date,
                "owner": owner,
            }
        )


async def test_hook_on_delivery_date_slipped(store: Store) -> None:
    world = JiraWorld(store)
    await world.engine.aclose()
    flows = {
        name: flow.model_copy(update={"two_way": True})
        for name, flow in world.config.flows.items()
    }
    config = world.config.model_copy(update={"flows": flows})
    listener = SlipListener()
    plugins = load_plugins(
        modules=[
            ("bitrix24", servicesync_bitrix24.plugin),
            ("jira", servicesync_jira.plugin),
            ("listener", listener),
        ]
    )
    transports = {"crm": world.crm.transport(), "delivery": world.jira.transport()}
    engine = Engine(config, store, plugins, transports=transports)
    deal = await world.add_deal("Northwind: data audit")
    await engine.sync()
    await world.call(
        "crm.deal.update", {"id": deal, "fields": {"STAGE_ID": "EXECUTING"}}
    )
    await engine.sync()
    await engine.sync()  # the project read back: its dates are the bases
    version = next(iter(world.jira.site.versions.values()))
    before = version["releaseDate"]
    version["releaseDate"] = "2027-06-30"  # moved by a person in Jira

    await engine.sync()
    await engine.sync()
    await engine.aclose()

    assert len(listener.calls) == 1
    call = listener.calls[0]
    assert list(call) == documented_arguments("on_delivery_date_slipped")
    assert (call["milestone"], call["previous_date"], call["new_date"]) == (
        version["name"],
        before,
        "2027-06-30",
    )
    assert call["owner"] == call["deal"]["owner"]
    assert call["project"]["deal_id"] == call["deal"]["id"]
