"""``servicesync webhooks`` for a Trello connection, the daemon answering Trello.

The command and the daemon share nothing but the store, as two processes
would: the command registers, Trello's ``HEAD`` check reaches the daemon's
app, and a later delivery is checked by the daemon against the callback URL
the command left in the store.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import servicesync_trello.plugin
from cryptography.fernet import Fernet
from servicesync.cli import _app
from servicesync.cli._app import app, build_app
from servicesync.cli.commands import webhooks
from servicesync.config import Config, load_config
from servicesync.daemon import DaemonMetrics, LocalScheduler, SyncJobs
from servicesync.daemon._http import build_http_app
from servicesync.engine import Engine
from servicesync.plugins import load_plugins
from servicesync.store import KEY_ENV, Store, open_store
from servicesync.store.testing import every_row
from servicesync_trello.fake import TrelloFake
from trello_helpers import bot_id
from typer.testing import CliRunner, Result

PUBLIC_URL = "https://sync.example.test"

CONFIG = """\
[store]
url = "sqlite:///{db}"

[daemon]
public_url = "{public_url}"

[connections.delivery]
plugin = "trello"
[connections.delivery.settings]
base_url = "{base_url}"
api_key = "{api_key}"
token = "{token}"
app_secret = "{app_secret}"
organization = "{organization}"
"""


class World:
    """The fake, the daemon's app over the store, and the command line."""

    def __init__(self, fake: TrelloFake, folder: Path, jobs: SyncJobs) -> None:
        self.fake = fake
        self.jobs = jobs
        self.config_path = folder / "servicesync.toml"
        self.runner = CliRunner()

    def invoke(self, *args: str) -> Result:
        return self.runner.invoke(app, ["--config", str(self.config_path), *args])

    def listed(self) -> list[dict[str, Any]]:
        result = self.invoke("webhooks", "list", "delivery", "--json")
        assert result.exit_code == 0, result.output
        rows: list[dict[str, Any]] = json.loads(result.stdout)["webhooks"]
        return rows


@pytest.fixture
def world(
    fake: TrelloFake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    config_path = tmp_path / "servicesync.toml"
    db = tmp_path / "servicesync.db"
    config_path.write_text(
        CONFIG.format(db=db, public_url=PUBLIC_URL, **fake.connection_settings())
    )
    key = Fernet.generate_key().decode()
    monkeypatch.setenv(KEY_ENV, key)
    build_app()
    plugins = load_plugins(modules=[("trello", servicesync_trello.plugin)])
    monkeypatch.setattr(_app, "_plugins", plugins)

    def engine_for(config: Config, store: Store) -> Engine:
        return Engine(config, store, plugins, transports={"delivery": fake.transport()})

    monkeypatch.setattr(webhooks, "engine_for", engine_for)
    daemon_store = open_store(f"sqlite:///{db}", secret_key=key)
    config = load_config(config_path)
    jobs = SyncJobs(config, daemon_store, plugins, DaemonMetrics(daemon_store))
    http = build_http_app(
        jobs, LocalScheduler(jobs, daemon_store.clock, grace=30), public_url=PUBLIC_URL
    )
    fake.add_receiver(f"{PUBLIC_URL}/webhooks/", app=http)
    yield World(fake, tmp_path, jobs)
    asyncio.run(jobs.aclose())
    daemon_store.close()


def board(fake: TrelloFake, name: str) -> str:
    org = fake.connection_settings()["organization"]
    made = fake.state.create_board(bot_id(fake), {"name": name, "idOrganization": org})
    return str(made["id"])


def test_register_then_a_delivery_is_taken_by_the_daemon(world: World) -> None:
    watched = board(world.fake, "Alpha")

    result = world.invoke("webhooks", "register", "delivery")
    lst = world.fake.state.lists_of(watched, "open")[0]
    world.fake.state.create_card(bot_id(world.fake), {"name": "x", "idList": lst["id"]})
    delivered = asyncio.run(world.fake.webhooks.flush())

    assert result.exit_code == 0, result.output
    assert f"1 webhook(s) registered at {PUBLIC_URL}/webhooks/delivery" in result.stdout
    assert [d.status for d in delivered] == [200]
    assert len(every_row(world.jobs.store.engine)["webhook_receipts"]) == 1


def test_list_and_remove(world: World) -> None:
    board(world.fake, "Alpha")
    board(world.fake, "Beta")
    world.invoke("webhooks", "register", "delivery")

    listed = world.listed()
    removed = world.invoke("webhooks", "remove", "delivery")

    assert [row["status"] for row in listed] == ["ok", "ok"]
    assert removed.exit_code == 0, removed.output
    assert world.fake.hooks == {}
    assert world.listed() == []


def test_register_fails_cleanly_when_the_daemon_refuses_the_head(
    world: World,
) -> None:
    board(world.fake, "Alpha")

    result = world.invoke(
        "webhooks", "register", "delivery", "--url", f"{PUBLIC_URL}/webhooks/other"
    )

    assert result.exit_code == 1
    assert "reachable at" in result.stderr and "Traceback" not in result.output
    assert world.fake.hooks == {}
    assert world.listed() == []
