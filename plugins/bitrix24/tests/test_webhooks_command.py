"""``servicesync webhooks`` for Bitrix24 connections, the portal served on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import servicesync_bitrix24.plugin
from cryptography.fernet import Fernet
from servicesync import SystemClock
from servicesync.cli import _app
from servicesync.cli._app import app, build_app
from servicesync.plugins import load_plugins
from servicesync.store import KEY_ENV
from servicesync_bitrix24._registrar import EVENTS
from servicesync_bitrix24.fake import FakePortal, PortalPlan
from servicesync_sdk.fakes import serve_in_thread
from typer.testing import CliRunner, Result

CONFIG = """\
[store]
url = "sqlite:///{db}"

[daemon]
public_url = "https://sync.example.test"

[connections.crm]
plugin = "bitrix24"
[connections.crm.settings]
portal_url = "{portal}"
client_id = "app.1"
client_secret = "${{B24_CLIENT_SECRET}}"
refresh_token = "${{B24_REFRESH_TOKEN}}"
oauth_server_url = "{portal}/oauth/token/"
application_token = "${{B24_APPLICATION_TOKEN}}"

[connections.crm_hook]
plugin = "bitrix24"
[connections.crm_hook.settings]
portal_url = "{portal}"
webhook_url = "${{B24_WEBHOOK_URL}}"
[connections.crm_hook.schedule]
every = 300
"""

HOOK_URL = "https://sync.example.test/webhooks/crm"


class Portal:
    """A served portal with one application, a config, and the CLI to run."""

    def __init__(self, portal: FakePortal, folder: Path) -> None:
        self.portal = portal
        self.config_path = folder / "servicesync.toml"
        self.config_path.write_text(
            CONFIG.format(db=folder / "servicesync.db", portal=portal.base_url)
        )
        self.runner = CliRunner()

    def invoke(self, *args: str) -> Result:
        return self.runner.invoke(app, ["--config", str(self.config_path), *args])

    def listed(self, connection: str) -> dict[str, Any]:
        result = self.invoke("webhooks", "list", connection, "--json")
        assert result.exit_code == 0, result.output
        document: dict[str, Any] = json.loads(result.stdout)
        return document


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Portal]:
    portal = FakePortal(clock=SystemClock(), seed=4, plan=PortalPlan.enterprise())
    build_app()
    with serve_in_thread(portal):
        token = portal.oauth.add_app("app.1", "b24-client-secret-0c77")
        monkeypatch.setenv("B24_CLIENT_SECRET", "b24-client-secret-0c77")
        monkeypatch.setenv(
            "B24_REFRESH_TOKEN", portal.oauth.issue("app.1")["refresh_token"]
        )
        monkeypatch.setenv("B24_APPLICATION_TOKEN", token)
        monkeypatch.setenv("B24_WEBHOOK_URL", portal.add_webhook())
        monkeypatch.setenv(KEY_ENV, Fernet.generate_key().decode())
        plugins = load_plugins(modules=[("bitrix24", servicesync_bitrix24.plugin)])
        monkeypatch.setattr(_app, "_plugins", plugins)
        yield Portal(portal, tmp_path)


def test_register_list_remove_an_apps_event_handlers(served: Portal) -> None:
    registered = served.invoke("webhooks", "register", "crm")
    listed = served.listed("crm")
    removed = served.invoke("webhooks", "remove", "crm")

    assert registered.exit_code == 0, registered.output
    assert f"{len(EVENTS)} webhook(s) registered at {HOOK_URL}" in registered.stdout
    assert listed["service_lists"] is True
    assert {(r["external_id"], r["status"]) for r in listed["webhooks"]} == {
        (event, "ok") for event in EVENTS
    }
    assert removed.exit_code == 0, removed.output
    assert served.portal.events.bindings == []
    assert served.listed("crm")["webhooks"] == []


def test_list_shows_a_handler_unbound_in_the_portal(served: Portal) -> None:
    served.invoke("webhooks", "register", "crm")
    served.portal.events.unbind("ONTASKADD", HOOK_URL, "app:app.1")

    rows = {r["external_id"]: r["status"] for r in served.listed("crm")["webhooks"]}

    assert rows["ONTASKADD"] == "missing at service"
    assert rows["ONCRMDEALADD"] == "ok"


def test_incoming_webhook_connection_prints_the_outgoing_webhook_steps(
    served: Portal,
) -> None:
    result = served.invoke("webhooks", "register", "crm_hook")

    assert result.exit_code == 0, result.output
    assert "https://sync.example.test/webhooks/crm_hook" in result.stdout
    assert "[connections.crm_hook.settings]" in result.stdout
    assert "polls 'crm_hook' on its schedule" in result.stdout
    assert served.portal.method_calls["event.bind"] == 0
    assert served.portal.events.bindings == []
