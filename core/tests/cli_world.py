"""A Bitrix24 fake on loopback, a config pointing at it, and the CLI to run.

The command line builds its own store and engine from the config, so the
fake is served over real HTTP and the config's store URL names the test's
own database (SQLite, or the test's PostgreSQL schema).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import servicesync_bitrix24.plugin
import sqlalchemy as sa
from servicesync import SystemClock, VirtualClock, hookimpl
from servicesync.cli import _app
from servicesync.cli._app import app, build_app
from servicesync.plugins import load_plugins
from servicesync.store import Store, metadata, open_store
from servicesync_bitrix24.fake import FakePortal, PortalPlan
from servicesync_sdk.fakes import serve_in_thread
from typer.testing import CliRunner, Result

#: The funnel stages the config maps by default: a new deal, and a signed one.
STAGES = {"NEW": "acquaintance", "EXECUTING": "contract_signed"}

#: The last part of a Bitrix24 method name that changes data at the portal.
WRITE_VERBS = {"add", "update", "delete", "set", "bind", "unbind"}

WEBHOOK_ENV = "CLI_TEST_BITRIX24_WEBHOOK"

CONFIG = """\
[store]
url = "{store_url}"

[connections.crm]
plugin = "bitrix24"
[connections.crm.settings]
portal_url = "{portal_url}"
webhook_url = "${{{webhook_env}}}"
plan = "enterprise"
[connections.crm.mapping.values.stage]
{stages}
"""


class HookRecorder:
    """A plugin that receives deal stage events, and fails while told to."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.failing = False

    @hookimpl
    def on_deal_stage_changed(
        self,
        event_id: str,
        deal: dict[str, Any],
        previous_stage: str | None,
        stage: str,
    ) -> None:
        self.calls.append((event_id, stage))
        if self.failing:
            raise RuntimeError("the mail server is down")


def store_url_of(store: Store) -> str:
    """The URL that opens ``store``'s database, PostgreSQL schema included."""
    url = store.engine.url
    if url.get_backend_name() == "postgresql":
        with store.transaction() as tx:
            schema = tx.exec_driver_sql("SELECT current_schema()").scalar_one()
        url = url.update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


class CliWorld:
    """The fake portal, the config file, two hook plugins and a CLI runner.

    Attributes:
        audit: a hook plugin that always succeeds.
        mailer: a hook plugin that fails while ``mailer.failing`` is set.
    """

    def __init__(self, store: Store, folder: Path, portal: FakePortal) -> None:
        self.store = store
        self.portal = portal
        self.store_url = store_url_of(store)
        self.config_path = folder / "servicesync.toml"
        self.webhook_url = portal.credentials()["webhook_url"]
        self.audit = HookRecorder()
        self.mailer = HookRecorder()
        self.runner = CliRunner()
        self.write_config()

    def write_config(self, stages: Mapping[str, str] = STAGES) -> None:
        """Write the config, mapping the portal's ``stages`` to funnel stages."""
        lines = "\n".join(f'{code} = "{stage}"' for code, stage in stages.items())
        self.config_path.write_text(
            CONFIG.format(
                store_url=self.store_url,
                portal_url=self.portal.base_url,
                webhook_env=WEBHOOK_ENV,
                stages=lines,
            )
        )

    def invoke(self, *args: str, input: str | None = None) -> Result:
        """Run ``servicesync --config FILE ARGS``."""
        command = ["--config", str(self.config_path), *args]
        return self.runner.invoke(app, command, input=input)

    def call(self, method: str, body: dict[str, Any]) -> Any:
        """Call a method of the portal through its webhook; return its result."""
        response = httpx.post(f"{self.webhook_url}{method}.json", json=body)
        response.raise_for_status()
        return response.json()["result"]

    def add_deal(self, title: str, stage: str = "NEW") -> str:
        """Create a deal at the portal; return its id."""
        fields = {
            "TITLE": title,
            "STAGE_ID": stage,
            "OPPORTUNITY": "12000",
            "CURRENCY_ID": "EUR",
        }
        return str(self.call("crm.deal.add", {"fields": fields}))

    def move(self, deal: str, stage: str) -> None:
        """Move a deal to another stage at the portal."""
        self.call("crm.deal.update", {"id": deal, "fields": {"STAGE_ID": stage}})

    def writes_at_portal(self) -> int:
        """Count the calls that changed data at the portal."""
        return sum(
            count
            for method, count in self.portal.method_calls.items()
            if method.rsplit(".", 1)[-1] in WRITE_VERBS
        )

    def rows(self, table: str) -> list[dict[str, Any]]:
        """Return every row of a table of the store."""
        with self.store.transaction() as tx:
            found = tx.execute(sa.select(metadata().tables[table]))
            return [dict(row) for row in found.mappings()]

    def snapshot(self) -> dict[str, list[str]]:
        """Every row of every table, except the shared rate budgets.

        Reading from a service uses up its rate budget whether or not the run
        writes anything, and every process sharing the store must know it;
        so even a dry run books its reads there.
        """
        with self.store.transaction() as tx:
            return {
                table.name: sorted(
                    repr(tuple(row)) for row in tx.execute(sa.select(table))
                )
                for table in metadata().sorted_tables
                if table.name != "rate_budgets"
            }


@contextmanager
def sqlite_store(folder: Path) -> Iterator[Store]:
    """A store of its own in ``folder``, for tests where the database is no matter."""
    store = open_store(f"sqlite:///{folder / 'servicesync.db'}", clock=VirtualClock())
    try:
        yield store
    finally:
        store.close()


@contextmanager
def cli_world(
    store: Store, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CliWorld]:
    """Serve a fake portal and yield a :class:`CliWorld` around it."""
    # The fake answers over a real socket, so it runs on the real clock; the
    # Enterprise plan's larger burst keeps a test's few syncs from waiting.
    portal = FakePortal(clock=SystemClock(), seed=1, plan=PortalPlan.enterprise())
    # Commands are added once per process, from the installed plugins; the
    # test's own plugins below only serve the engine the commands build.
    build_app()
    with serve_in_thread(portal):
        world = CliWorld(store, folder, portal)
        monkeypatch.setenv(WEBHOOK_ENV, world.webhook_url)
        plugins = load_plugins(
            modules=[
                ("bitrix24", servicesync_bitrix24.plugin),
                ("audit", world.audit),
                ("mailer", world.mailer),
            ]
        )
        monkeypatch.setattr(_app, "_plugins", plugins)
        yield world
