"""Registering Asana webhooks on the projects a connection reads.

While ``POST /webhooks`` is in flight, Asana posts a secret to the target and
wants it echoed. In the deployment tests the fake posts it to the daemon's
own Starlette app, served in process at the public URL; the daemon and the
command share nothing but the store, as two processes would, so a webhook is
made only when the daemon's route answers the handshake.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import servicesync_asana.plugin
from asana_helpers import HOOK_TARGET, TOKEN, ConnectorFactory, receiver, served
from cryptography.fernet import Fernet
from servicesync.cli import _app
from servicesync.cli._app import app, build_app
from servicesync.cli.commands import webhooks
from servicesync.config import Config, load_config, parse_config
from servicesync.contract import (
    Connector,
    RegisteredWebhook,
    WebhookRegistrar,
    WebhookRequest,
)
from servicesync.daemon import DaemonMetrics, LocalScheduler, SyncJobs
from servicesync.daemon._http import build_http_app
from servicesync.engine import Engine
from servicesync.errors import RecordError, WebhookRejected
from servicesync.plugins import Plugins, load_plugins
from servicesync.store import KEY_ENV, Store, open_store
from servicesync.store.testing import (
    _postgres_engine,
    _sqlite_engine,
    every_row,
    store,
    store_backend,
)
from servicesync_asana import HOOK_SECRET, HOOK_SIGNATURE, AsanaConnector
from servicesync_asana.fake import AsanaFake
from servicesync_sdk.signatures import sign_hmac_sha256_hex
from servicesync_sdk.testing import MemoryVault
from typer.testing import CliRunner, Result

__all__ = ["_postgres_engine", "_sqlite_engine", "store", "store_backend"]

PUBLIC_URL = "https://sync.example.test"
HOOK_URL = f"{PUBLIC_URL}/webhooks/delivery"

CONFIG = """\
{store}
[daemon]
public_url = "{public_url}"

[connections.delivery]
plugin = "asana"
[connections.delivery.settings]
workspace = "{workspace}"
team = "{team}"
access_token = "{token}"
"""


def config_text(fake: AsanaFake, store: str = "") -> str:
    """Return a config whose ``delivery`` connection reaches ``fake``."""
    return CONFIG.format(
        store=store,
        public_url=PUBLIC_URL,
        workspace=fake.space.gid,
        team=fake.space.team,
        token=TOKEN,
    )


def asana_plugins() -> Plugins:
    return load_plugins(modules=[("asana", servicesync_asana.plugin)])


def registrar_of(connector: Connector[Any]) -> WebhookRegistrar:
    registrar = connector.webhook_registrar()
    assert registrar is not None
    return registrar


def project(fake: AsanaFake, name: str) -> str:
    """Create a live project in the connection's team; return its gid."""
    space = fake.space
    return space.create_project({"name": name, "team": space.team}, None).gid


def add_task(fake: AsanaFake, project_gid: str) -> None:
    fake.space.create_task({"name": "Ship", "projects": [project_gid]}, None)


def posts_to_webhooks(fake: AsanaFake) -> int:
    return fake.log.count(method="POST", route="/api/1.0/webhooks")


def signed(body: bytes, secret: str) -> WebhookRequest:
    """A delivery to the tests' target signed with ``secret``."""
    headers = {HOOK_SIGNATURE: sign_hmac_sha256_hex(secret, body)}
    return WebhookRequest("POST", HOOK_TARGET, headers, body)


@dataclass
class Deployment:
    """The daemon's HTTP app at the public URL, and a command's own engine."""

    jobs: SyncJobs
    command: Engine

    def registrar(self) -> WebhookRegistrar:
        return registrar_of(self.command.connector("delivery"))


@pytest.fixture
async def deployment(fake: AsanaFake, store: Store) -> AsyncIterator[Deployment]:
    config = parse_config(config_text(fake))
    plugins = asana_plugins()
    transports = {"delivery": fake.transport()}
    jobs = SyncJobs(config, store, plugins, DaemonMetrics(store), transports=transports)
    scheduler = LocalScheduler(jobs, store.clock, grace=30)
    fake.hook_receiver = served(build_http_app(jobs, scheduler, public_url=PUBLIC_URL))
    # The command runs in a process of its own: it shares only the store.
    command = Engine(config, store, plugins, transports=transports)
    yield Deployment(jobs, command)
    await command.aclose()
    await jobs.aclose()


# -- with the daemon answering ---------------------------------------------------


async def test_register_subscribes_each_project_once_the_daemon_echoes(
    fake: AsanaFake, deployment: Deployment
) -> None:
    projects = {project(fake, "Alpha"), project(fake, "Beta")}

    made = await deployment.registrar().register(HOOK_URL, None)

    assert {hook.resource for hook in fake.hooks.values()} == projects
    assert {hook.target for hook in fake.hooks.values()} == {HOOK_URL}
    assert sorted(hook.external_id for hook in made) == sorted(fake.hooks)
    assert all(h.url == HOOK_URL and h.expires_at is None for h in made)
    assert all(hook.secret is None for hook in made)


async def test_deliveries_of_every_project_are_taken_by_the_daemon(
    fake: AsanaFake, deployment: Deployment, store: Store
) -> None:
    alpha, beta = project(fake, "Alpha"), project(fake, "Beta")
    await deployment.registrar().register(HOOK_URL, None)

    add_task(fake, alpha)
    add_task(fake, beta)
    delivered = await fake.webhooks.flush()

    # Each webhook signs with a secret of its own, both at the one URL.
    assert [d.status for d in delivered] == [200, 200]
    assert len(every_row(store.engine)["webhook_receipts"]) == 2


async def test_register_refused_when_the_daemon_does_not_echo(
    fake: AsanaFake, deployment: Deployment
) -> None:
    project(fake, "Alpha")
    unknown = f"{PUBLIC_URL}/webhooks/no-such-connection"

    with pytest.raises(RecordError, match="reachable at"):
        await deployment.registrar().register(unknown, None)

    assert fake.hooks == {}


async def test_register_again_posts_only_for_new_projects(
    fake: AsanaFake, deployment: Deployment
) -> None:
    project(fake, "Alpha")
    registrar = deployment.registrar()
    await registrar.register(HOOK_URL, None)
    project(fake, "Beta")
    # The list of projects in scope is kept a minute.
    deployment.command.store.clock.advance(61)

    again = await registrar.register(HOOK_URL, None)

    assert posts_to_webhooks(fake) == 2
    assert len(again) == len(fake.hooks) == 2


# -- with the connector's handler in process -------------------------------------


async def test_register_watches_only_the_configured_projects(
    fake: AsanaFake, make: ConnectorFactory
) -> None:
    wanted = project(fake, "Alpha")
    project(fake, "Beta")
    connector = make(projects=[wanted])
    fake.hook_receiver = receiver(connector)

    await registrar_of(connector).register(HOOK_TARGET, None)

    assert [hook.resource for hook in fake.hooks.values()] == [wanted]


async def test_handshake_refused_after_a_failed_registration(
    fake: AsanaFake, make: ConnectorFactory, vault: MemoryVault
) -> None:
    connector = make(projects=["1"])  # Asana knows no such project
    fake.hook_receiver = receiver(connector)
    with pytest.raises(RecordError):
        await registrar_of(connector).register(HOOK_TARGET, None)
    handler = connector.webhook_handler()
    assert handler is not None
    planted = WebhookRequest("POST", HOOK_TARGET, {HOOK_SECRET: "chosen"}, b"")

    with pytest.raises(WebhookRejected):
        await handler.handle(planted)

    assert vault.values == {}


async def test_webhooks_lists_the_users_own_at_the_registered_url(
    fake: AsanaFake, connector: AsanaConnector
) -> None:
    watched = project(fake, "Alpha")
    fake.hook_receiver = receiver(connector)
    registrar = registrar_of(connector)
    made = await registrar.register(HOOK_TARGET, None)
    me = fake.tokens[TOKEN]
    someone = fake.add_user("someone@acme.test", "Someone").gid
    fake.add_webhook(watched, "https://other.acme.test/hook", "a" * 64, owner=me)
    fake.add_webhook(watched, HOOK_TARGET, "b" * 64, owner=someone)

    listed = await registrar.webhooks()

    assert listed == made
    assert len(fake.hooks) == 3


async def test_webhooks_before_any_registration_lists_none(
    fake: AsanaFake, connector: AsanaConnector
) -> None:
    fake.add_webhook(project(fake, "Alpha"), HOOK_TARGET, "a" * 64)

    assert await registrar_of(connector).webhooks() == []


async def test_remove_deletes_and_a_second_remove_is_no_error(
    fake: AsanaFake, connector: AsanaConnector
) -> None:
    project(fake, "Alpha")
    fake.hook_receiver = receiver(connector)
    registrar = registrar_of(connector)
    (hook,) = await registrar.register(HOOK_TARGET, None)

    await registrar.remove(hook)
    await registrar.remove(RegisteredWebhook(hook.external_id, hook.url))

    assert fake.hooks == {}
    assert fake.webhooks.subscriptions == []
    assert fake.log.count(method="DELETE", status=404) == 1


async def test_remove_forgets_the_secret_of_the_removed_webhook(
    fake: AsanaFake, connector: AsanaConnector
) -> None:
    alpha, beta = project(fake, "Alpha"), project(fake, "Beta")
    fake.hook_receiver = receiver(connector)
    registrar = registrar_of(connector)
    made = await registrar.register(HOOK_TARGET, None)
    by_project = {fake.hooks[h.external_id].resource: h for h in made}
    gone, kept = by_project[alpha], by_project[beta]
    old_secret = fake.hooks[gone.external_id].secret
    live_secret = fake.hooks[kept.external_id].secret
    body = b'{"events": []}'
    handler = connector.webhook_handler()
    assert handler is not None

    await registrar.remove(gone)

    with pytest.raises(WebhookRejected):
        await handler.handle(signed(body, old_secret))
    assert (await handler.handle(signed(body, live_secret))).status == 200


# -- servicesync webhooks ----------------------------------------------------------


class World:
    """The fake, the daemon's app over the store, and the command line."""

    def __init__(self, fake: AsanaFake, folder: Path, jobs: SyncJobs) -> None:
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
    fake: AsanaFake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    config_path = tmp_path / "servicesync.toml"
    db = tmp_path / "servicesync.db"
    config_path.write_text(config_text(fake, f'[store]\nurl = "sqlite:///{db}"\n'))
    key = Fernet.generate_key().decode()
    monkeypatch.setenv(KEY_ENV, key)
    build_app()
    plugins = asana_plugins()
    monkeypatch.setattr(_app, "_plugins", plugins)

    def engine_for(config: Config, store: Store) -> Engine:
        return Engine(config, store, plugins, transports={"delivery": fake.transport()})

    monkeypatch.setattr(webhooks, "engine_for", engine_for)
    daemon_store = open_store(f"sqlite:///{db}", secret_key=key)
    jobs = SyncJobs(
        load_config(config_path), daemon_store, plugins, DaemonMetrics(daemon_store)
    )
    scheduler = LocalScheduler(jobs, daemon_store.clock, grace=30)
    fake.hook_receiver = served(build_http_app(jobs, scheduler, public_url=PUBLIC_URL))
    yield World(fake, tmp_path, jobs)
    asyncio.run(jobs.aclose())
    daemon_store.close()


def test_command_registers_lists_refreshes_and_removes(world: World) -> None:
    alpha = project(world.fake, "Alpha")
    project(world.fake, "Beta")

    registered = world.invoke("webhooks", "register", "delivery")
    listed = world.listed()
    refreshed = world.invoke("webhooks", "refresh", "delivery")
    add_task(world.fake, alpha)
    delivered = asyncio.run(world.fake.webhooks.flush())
    removed = world.invoke("webhooks", "remove", "delivery")

    assert registered.exit_code == 0, registered.output
    assert f"2 webhook(s) registered at {HOOK_URL}" in registered.stdout
    assert [(row["status"], row["url"]) for row in listed] == [("ok", HOOK_URL)] * 2
    assert refreshed.exit_code == 0, refreshed.output
    assert "none renewed" in refreshed.stdout
    assert [d.status for d in delivered] == [200]
    assert removed.exit_code == 0, removed.output
    assert world.fake.hooks == {}
    assert world.listed() == []


def test_command_shows_a_webhook_deleted_in_asana(world: World) -> None:
    project(world.fake, "Alpha")
    world.invoke("webhooks", "register", "delivery")
    world.fake.hooks.clear()

    (row,) = world.listed()

    assert row["status"] == "missing at service"


def test_command_fails_cleanly_when_the_daemon_does_not_echo(world: World) -> None:
    project(world.fake, "Alpha")

    result = world.invoke(
        "webhooks", "register", "delivery", "--url", f"{PUBLIC_URL}/webhooks/other"
    )

    assert result.exit_code == 1
    assert "reachable at" in result.stderr and "Traceback" not in result.output
    assert world.fake.hooks == {}
    assert world.listed() == []
