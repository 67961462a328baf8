"""Registering Trello webhooks on the boards a connection reads.

Trello sends a ``HEAD`` to a callback before it registers it. Here the fake
sends it to the daemon's own Starlette app, served in process at the public
URL, so a registration succeeds only when the daemon's route answers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import servicesync_trello.plugin
from servicesync.config import Config, parse_config
from servicesync.contract import Connector, RegisteredWebhook, WebhookRegistrar
from servicesync.daemon import DaemonMetrics, LocalScheduler, SyncJobs
from servicesync.daemon._http import build_http_app
from servicesync.engine import Engine
from servicesync.errors import ConfigError, RecordError
from servicesync.plugins import load_plugins
from servicesync.store import Store
from servicesync.store.testing import every_row
from servicesync_trello.fake import TrelloFake
from trello_helpers import ConnectorFactory, bot_id

PUBLIC_URL = "https://sync.example.test"
HOOK_URL = f"{PUBLIC_URL}/webhooks/delivery"

CONFIG = """
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


def registrar_of(connector: Connector[Any]) -> WebhookRegistrar:
    registrar = connector.webhook_registrar()
    assert registrar is not None
    return registrar


def board(fake: TrelloFake, name: str) -> str:
    """Create an open board in the connection's Workspace; return its id."""
    org = fake.connection_settings()["organization"]
    made = fake.state.create_board(bot_id(fake), {"name": name, "idOrganization": org})
    return str(made["id"])


def posts_to_webhooks(fake: TrelloFake) -> int:
    return len(fake.log.filter(method="POST", route="/1/webhooks/"))


@dataclass
class Deployment:
    """The daemon's HTTP app at the public URL, and a command's own engine."""

    config: Config
    jobs: SyncJobs
    command: Engine

    def registrar(self) -> WebhookRegistrar:
        return registrar_of(self.command.connector("delivery"))


@pytest.fixture
async def deployment(fake: TrelloFake, store: Store) -> AsyncIterator[Deployment]:
    config = parse_config(
        CONFIG.format(public_url=PUBLIC_URL, **fake.connection_settings())
    )
    plugins = load_plugins(modules=[("trello", servicesync_trello.plugin)])
    transports = {"delivery": fake.transport()}
    jobs = SyncJobs(config, store, plugins, DaemonMetrics(store), transports=transports)
    scheduler = LocalScheduler(jobs, store.clock, grace=30)
    http = build_http_app(jobs, scheduler, public_url=PUBLIC_URL)
    fake.add_receiver(f"{PUBLIC_URL}/webhooks/", app=http)
    # The command runs in a process of its own: it shares only the store.
    command = Engine(config, store, plugins, transports=transports)
    yield Deployment(config, jobs, command)
    await command.aclose()
    await jobs.aclose()


async def test_register_watches_each_board_after_the_daemon_answers_the_head(
    fake: TrelloFake, deployment: Deployment
) -> None:
    boards = {board(fake, "Alpha"), board(fake, "Beta")}

    made = await deployment.registrar().register(HOOK_URL, None)

    assert {hook["idModel"] for hook in fake.hooks.values()} == boards
    assert {hook["callbackURL"] for hook in fake.hooks.values()} == {HOOK_URL}
    assert sorted(h.external_id for h in made) == sorted(fake.hooks)
    assert all(h.expires_at is None and h.secret is None for h in made)


async def test_delivery_to_the_daemon_is_verified_over_the_registered_url(
    fake: TrelloFake, deployment: Deployment, store: Store
) -> None:
    watched = board(fake, "Alpha")
    await deployment.registrar().register(HOOK_URL, None)
    lst = fake.state.lists_of(watched, "open")[0]

    fake.state.create_card(bot_id(fake), {"name": "Ship", "idList": lst["id"]})
    delivered = await fake.webhooks.flush()

    assert [d.status for d in delivered] == [200]
    assert len(every_row(store.engine)["webhook_receipts"]) == 1


async def test_register_refused_when_the_daemon_does_not_answer_the_head(
    fake: TrelloFake, deployment: Deployment
) -> None:
    board(fake, "Alpha")
    unknown = f"{PUBLIC_URL}/webhooks/no-such-connection"

    with pytest.raises(RecordError, match="reachable at"):
        await deployment.registrar().register(unknown, None)

    assert fake.hooks == {}


async def test_register_again_posts_only_for_new_boards(
    fake: TrelloFake, deployment: Deployment
) -> None:
    board(fake, "Alpha")
    registrar = deployment.registrar()
    await registrar.register(HOOK_URL, None)
    board(fake, "Beta")

    again = await registrar.register(HOOK_URL, None)

    assert posts_to_webhooks(fake) == 2
    assert len(again) == len(fake.hooks) == 2


async def test_register_watches_only_the_configured_boards(
    fake: TrelloFake, make: ConnectorFactory
) -> None:
    wanted = board(fake, "Alpha")
    board(fake, "Beta")
    fake.add_receiver(PUBLIC_URL, handler=lambda request: httpx.Response(200))
    connector = make(board_ids=[wanted])

    await registrar_of(connector).register(HOOK_URL, None)

    assert [hook["idModel"] for hook in fake.hooks.values()] == [wanted]


async def test_register_without_the_app_secret_registers_nothing(
    fake: TrelloFake, make: ConnectorFactory
) -> None:
    board(fake, "Alpha")
    connector = make(app_secret=None)

    with pytest.raises(ConfigError, match="app_secret"):
        await registrar_of(connector).register(HOOK_URL, None)

    assert fake.hooks == {} and posts_to_webhooks(fake) == 0


async def test_webhooks_lists_only_the_tokens_own(
    fake: TrelloFake, deployment: Deployment
) -> None:
    board(fake, "Alpha")
    registrar = deployment.registrar()
    await registrar.register(HOOK_URL, None)
    other = fake.issue_token(bot_id(fake), fake.connection_settings()["api_key"])
    fake.hook_tokens[next(iter(fake.hooks))] = other

    assert await registrar.webhooks() == []


async def test_remove_deletes_and_a_second_remove_is_no_error(
    fake: TrelloFake, deployment: Deployment
) -> None:
    board(fake, "Alpha")
    registrar = deployment.registrar()
    (hook,) = await registrar.register(HOOK_URL, None)

    await registrar.remove(hook)
    await registrar.remove(RegisteredWebhook(hook.external_id, hook.url))

    assert fake.hooks == {}
    assert fake.webhooks.subscriptions == []
