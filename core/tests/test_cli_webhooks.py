"""``servicesync webhooks register|list|refresh|remove`` against a pretend service.

The connector here registers webhooks in a dict that stands for its service,
so the tests see exactly what the command asked of it; the plugins' own
tests drive their registrars against their fakes.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Literal

import pytest
from cryptography.fernet import Fernet
from servicesync import hookimpl
from servicesync.cli import _app
from servicesync.cli._app import app, build_app
from servicesync.contract import (
    Connector,
    ConnectorConfig,
    ConnectorContext,
    RegisteredWebhook,
    Stream,
    WebhookRegistrar,
)
from servicesync.errors import ServiceUnavailable
from servicesync.plugins import load_plugins
from servicesync.store import KEY_ENV, Store, open_store
from servicesync.store.testing import every_row
from typer.testing import CliRunner, Result

PUBLIC_URL = "https://sync.example.test/"
HOOK_URL = "https://sync.example.test/webhooks/tracker"

CONFIG = """\
[store]
url = "sqlite:///{db}"
{daemon}
[connections.tracker]
plugin = "pretend"
[connections.tracker.schedule]
every = 300

[connections.handmade]
plugin = "pretend"
[connections.handmade.settings]
mode = "manual"

[connections.plain]
plugin = "pretend"
[connections.plain.settings]
mode = "none"
"""


class PretendService:
    """The webhooks a pretend service holds, and what it was asked to do."""

    def __init__(self) -> None:
        self.hooks: dict[str, RegisteredWebhook] = {}
        self.secrets: list[str | None] = []
        self.calls: Counter[str] = Counter()
        self.lists = True
        self.failing: set[str] = set()
        self._ids = itertools.count(1)

    def new_id(self) -> str:
        return f"wh-{next(self._ids)}"

    def called(self, operation: str) -> None:
        self.calls[operation] += 1
        if operation in self.failing:
            raise ServiceUnavailable("The pretend service answered 503.")


class PretendConfig(ConnectorConfig):
    mode: Literal["api", "manual", "none"] = "api"


class PretendRegistrar(WebhookRegistrar):
    """Registers two webhooks a day long; a refresh makes them thirty days."""

    wants_secret = True

    def __init__(self, connector: PretendConnector) -> None:
        self.service = connector.service
        self.connector = connector

    def now(self) -> datetime:
        return self.connector.context.clock.now()

    def manual_steps(self, url: str) -> str | None:
        if self.connector.config.mode != "manual":
            return None
        name = self.connector.context.connection
        return (
            f"1. Open Settings > Webhooks and paste {url}.\n"
            f"2. Put the token it shows in [connections.{name}.settings] token."
        )

    async def register(
        self, url: str, secret: str | None
    ) -> Sequence[RegisteredWebhook]:
        self.service.called("register")
        present = [h for h in self.service.hooks.values() if h.url == url]
        if present:
            return present
        for _ in range(2):
            hook = RegisteredWebhook(
                self.service.new_id(), url, self.now() + timedelta(days=1)
            )
            self.service.hooks[hook.external_id] = hook
            self.service.secrets.append(secret)
        return list(self.service.hooks.values())

    async def webhooks(self) -> Sequence[RegisteredWebhook] | None:
        self.service.called("list")
        return list(self.service.hooks.values()) if self.service.lists else None

    async def refresh(
        self, webhooks: Sequence[RegisteredWebhook]
    ) -> Sequence[RegisteredWebhook]:
        self.service.called("refresh")
        later = self.now() + timedelta(days=30)
        renewed = []
        for hook in webhooks:
            if hook.external_id in self.service.hooks:
                renewed.append(RegisteredWebhook(hook.external_id, hook.url, later))
                self.service.hooks[hook.external_id] = renewed[-1]
        return renewed

    async def remove(self, webhook: RegisteredWebhook) -> None:
        self.service.called("remove")
        self.service.hooks.pop(webhook.external_id, None)


class PretendConnector(Connector[PretendConfig]):
    name = "pretend"
    config_model = PretendConfig
    service: ClassVar[PretendService] = PretendService()

    def __init__(self, config: PretendConfig, context: ConnectorContext) -> None:
        super().__init__(config, context)

    def streams(self) -> Sequence[Stream]:
        return []

    def webhook_registrar(self) -> WebhookRegistrar | None:
        return None if self.config.mode == "none" else PretendRegistrar(self)


class PretendPlugin:
    @hookimpl
    def register_connectors(
        self, register: Callable[[type[Connector[Any]]], None]
    ) -> None:
        register(PretendConnector)


class World:
    """The config, the pretend service and a way to run the command line."""

    def __init__(self, folder: Path, key: str) -> None:
        self.db = folder / "servicesync.db"
        self.config_path = folder / "servicesync.toml"
        self.key = key
        self.service = PretendService()
        PretendConnector.service = self.service
        self.runner = CliRunner()
        self.write_config(public_url=PUBLIC_URL)

    def write_config(self, public_url: str | None) -> None:
        daemon = f'[daemon]\npublic_url = "{public_url}"\n' if public_url else ""
        self.config_path.write_text(CONFIG.format(db=self.db, daemon=daemon))

    def invoke(self, *args: str) -> Result:
        return self.runner.invoke(app, ["--config", str(self.config_path), *args])

    def json(self, *args: str) -> Any:
        result = self.invoke(*args, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def store(self) -> Store:
        return open_store(f"sqlite:///{self.db}", secret_key=self.key)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    build_app()
    key = Fernet.generate_key().decode()
    monkeypatch.setenv(KEY_ENV, key)
    plugins = load_plugins(modules=[("pretend", PretendPlugin())])
    monkeypatch.setattr(_app, "_plugins", plugins)
    yield World(tmp_path, key)


@pytest.fixture
def registered(world: World) -> World:
    result = world.invoke("webhooks", "register", "tracker")
    assert result.exit_code == 0, result.output
    return world


def statuses(world: World) -> dict[str, str]:
    listed = world.json("webhooks", "list", "tracker")["webhooks"]
    return {row["external_id"]: row["status"] for row in listed}


# -- register -----------------------------------------------------------------


def test_register_posts_to_the_daemons_public_url(world: World) -> None:
    result = world.invoke("webhooks", "register", "tracker")

    assert result.exit_code == 0, result.output
    assert {h.url for h in world.service.hooks.values()} == {HOOK_URL}
    assert "2 webhook(s) registered at " + HOOK_URL in result.stdout
    assert "webhooks refresh tracker" in result.stdout


def test_register_keeps_the_fresh_secret_only_encrypted(world: World) -> None:
    world.invoke("webhooks", "register", "tracker")
    secret = world.service.secrets[0]
    assert secret is not None and len(secret) >= 32

    store = world.store()
    try:
        rows = every_row(store.engine)["webhooks"]
        decrypted = [store.webhook_secret("tracker", h) for h in world.service.hooks]
    finally:
        store.close()

    assert len(rows) == 2
    assert not any(secret in repr(row) for row in rows)
    assert decrypted == [secret, secret]


def test_register_with_url_option_uses_it(world: World) -> None:
    world.write_config(public_url=None)

    result = world.invoke(
        "webhooks", "register", "tracker", "--url", "https://edge.test/in"
    )

    assert result.exit_code == 0, result.output
    assert {h.url for h in world.service.hooks.values()} == {"https://edge.test/in"}


def test_register_without_public_url_says_what_to_set(world: World) -> None:
    world.write_config(public_url=None)

    result = world.invoke("webhooks", "register", "tracker")

    assert result.exit_code == 1
    assert "public_url" in result.stderr and "--url" in result.stderr
    assert world.service.calls["register"] == 0


def test_register_again_makes_no_duplicate_and_keeps_the_secret(
    registered: World,
) -> None:
    result = registered.invoke("webhooks", "register", "tracker")

    assert result.exit_code == 0, result.output
    assert len(registered.service.hooks) == 2
    assert registered.service.calls["register"] == 2
    assert len(set(registered.service.secrets)) == 1
    assert len(statuses(registered)) == 2


def test_register_again_forgets_what_the_service_lost(registered: World) -> None:
    lost, kept = sorted(registered.service.hooks)
    del registered.service.hooks[lost]

    result = registered.invoke("webhooks", "register", "tracker")

    assert result.exit_code == 0, result.output
    assert statuses(registered) == {kept: "ok"}


def test_register_at_another_url_asks_to_remove_first(registered: World) -> None:
    result = registered.invoke(
        "webhooks", "register", "tracker", "--url", "https://edge.test/in"
    )

    assert result.exit_code == 1
    assert "servicesync webhooks remove tracker" in result.stderr
    assert registered.service.calls["register"] == 1


def test_register_by_hand_prints_the_steps_and_exits_0(world: World) -> None:
    result = world.invoke("webhooks", "register", "handmade")

    assert result.exit_code == 0, result.output
    assert "https://sync.example.test/webhooks/handmade" in result.stdout
    assert "[connections.handmade.settings] token" in result.stdout
    assert "no schedule" in result.stdout
    assert world.service.calls["register"] == 0
    assert world.json("webhooks", "list", "handmade")["webhooks"] == []


def test_register_by_hand_names_the_schedule_that_polls_meanwhile(
    world: World,
) -> None:
    with world.config_path.open("a") as config:
        config.write("\n[connections.handmade.schedule]\nevery = 600\n")

    result = world.invoke("webhooks", "register", "handmade")

    assert result.exit_code == 0, result.output
    assert "polls 'handmade' on its schedule (*/10 * * * *)" in result.stdout


def test_register_for_a_connector_without_webhooks_fails(world: World) -> None:
    result = world.invoke("webhooks", "register", "plain")

    assert result.exit_code == 1
    assert "cannot register webhooks" in result.stderr


def test_register_of_an_unknown_connection_lists_the_known(world: World) -> None:
    result = world.invoke("webhooks", "register", "nowhere")

    assert result.exit_code == 1
    assert "handmade, plain, tracker" in result.stderr


def test_register_refused_by_the_service_stores_nothing(world: World) -> None:
    world.service.failing.add("register")

    result = world.invoke("webhooks", "register", "tracker")

    assert result.exit_code == 1
    assert "Could not register webhooks for 'tracker'" in result.stderr
    assert "Traceback" not in result.output
    assert world.json("webhooks", "list", "tracker")["webhooks"] == []


# -- list ---------------------------------------------------------------------


def test_list_marks_what_differs_from_the_service(registered: World) -> None:
    first, second = sorted(registered.service.hooks)
    del registered.service.hooks[first]
    moved = registered.service.hooks[second]
    registered.service.hooks[second] = RegisteredWebhook(
        second, "https://elsewhere.test/", moved.expires_at
    )
    stranger = RegisteredWebhook("wh-99", HOOK_URL)
    registered.service.hooks["wh-99"] = stranger

    assert statuses(registered) == {
        first: "missing at service",
        second: "url differs",
        "wh-99": "not in store",
    }


def test_list_marks_a_webhook_past_its_expiry(registered: World) -> None:
    lapsed = sorted(registered.service.hooks)[0]
    hook = registered.service.hooks[lapsed]
    past = datetime.now(UTC) - timedelta(hours=1)
    registered.service.hooks[lapsed] = RegisteredWebhook(lapsed, hook.url, past)

    assert statuses(registered)[lapsed] == "expired"


def test_list_json_gives_both_sides(registered: World) -> None:
    document = registered.json("webhooks", "list", "tracker")

    assert document["connection"] == "tracker"
    assert document["service_lists"] is True
    row = document["webhooks"][0]
    assert row["stored"] is True and row["at_service"] is True
    assert row["status"] == "ok" and row["url"] == HOOK_URL
    assert row["expires_at"] is not None


def test_list_unchecked_when_the_service_cannot_list(registered: World) -> None:
    registered.service.lists = False

    document = registered.json("webhooks", "list", "tracker")

    assert document["service_lists"] is False
    assert {r["status"] for r in document["webhooks"]} == {"unchecked"}
    assert {r["at_service"] for r in document["webhooks"]} == {None}


def test_list_prints_a_table(registered: World) -> None:
    result = registered.invoke("webhooks", "list", "tracker")

    assert result.exit_code == 0, result.output
    for hook in registered.service.hooks:
        assert hook in result.stdout
    assert "ok" in result.stdout and HOOK_URL in result.stdout


# -- refresh ------------------------------------------------------------------


def test_refresh_renews_and_records_the_new_expiry(registered: World) -> None:
    before = registered.json("webhooks", "list", "tracker")["webhooks"]

    result = registered.invoke("webhooks", "refresh", "tracker")

    assert result.exit_code == 0, result.output
    store = registered.store()
    try:
        after = {h.external_id: h.expires_at for h in store.webhooks("tracker")}
    finally:
        store.close()
    for row in before:
        old = datetime.fromisoformat(row["expires_at"])
        renewed = after[row["external_id"]]
        assert renewed is not None and renewed - old > timedelta(days=28)


def test_refresh_of_a_lost_webhook_exits_1_with_next_step(registered: World) -> None:
    lost = sorted(registered.service.hooks)[0]
    del registered.service.hooks[lost]

    result = registered.invoke("webhooks", "refresh", "tracker")

    assert result.exit_code == 1
    assert lost in result.stderr and "register tracker" in result.stderr


def test_refresh_with_nothing_expiring_calls_nobody(world: World) -> None:
    result = world.invoke("webhooks", "refresh", "tracker")

    assert result.exit_code == 0, result.output
    assert world.service.calls["refresh"] == 0


# -- remove -------------------------------------------------------------------


def test_remove_deletes_at_the_service_and_in_the_store(registered: World) -> None:
    result = registered.invoke("webhooks", "remove", "tracker")

    assert result.exit_code == 0, result.output
    assert registered.service.hooks == {}
    assert registered.json("webhooks", "list", "tracker")["webhooks"] == []


def test_remove_one_by_id_keeps_the_others(registered: World) -> None:
    first, second = sorted(registered.service.hooks)

    result = registered.invoke("webhooks", "remove", "tracker", "--id", first)

    assert result.exit_code == 0, result.output
    assert list(registered.service.hooks) == [second]
    assert statuses(registered) == {second: "ok"}


def test_remove_by_id_finds_one_only_at_the_service(world: World) -> None:
    world.service.hooks["wh-77"] = RegisteredWebhook("wh-77", HOOK_URL)

    result = world.invoke("webhooks", "remove", "tracker", "--id", "wh-77")

    assert result.exit_code == 0, result.output
    assert world.service.hooks == {}


def test_remove_of_an_unknown_id_fails(registered: World) -> None:
    result = registered.invoke("webhooks", "remove", "tracker", "--id", "wh-404")

    assert result.exit_code == 1
    assert "no webhook 'wh-404'" in result.stderr
    assert len(registered.service.hooks) == 2


def test_remove_refused_keeps_the_rows_and_exits_1(registered: World) -> None:
    registered.service.failing.add("remove")

    result = registered.invoke("webhooks", "remove", "tracker")

    assert result.exit_code == 1
    assert "was not removed" in result.stderr
    assert set(statuses(registered).values()) == {"ok"}
