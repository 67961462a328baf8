"""``servicesync webhooks`` for Jira connections: an OAuth app, and an API token."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import servicesync_jira.plugin
from cryptography.fernet import Fernet
from servicesync import SystemClock
from servicesync.cli import _app
from servicesync.cli._app import app, build_app
from servicesync.cli.commands import webhooks
from servicesync.config import Config, load_config
from servicesync.daemon import DaemonMetrics, SyncJobs
from servicesync.engine import Engine
from servicesync.plugins import load_plugins
from servicesync.store import KEY_ENV, Store, open_store
from servicesync_jira.fake import JiraFake
from typer.testing import CliRunner, Result

CONFIG = """\
[store]
url = "sqlite:///{db}"

[daemon]
public_url = "https://sync.example.test"

[connections.delivery]
plugin = "jira"
[connections.delivery.settings]
access_token = "${{JIRA_ACCESS_TOKEN}}"
cloud_id = "{cloud}"
client_secret = "${{JIRA_CLIENT_SECRET}}"
webhook_jql = "project IN (WEB, OPS)"

[connections.tokened]
plugin = "jira"
[connections.tokened.settings]
site_url = "{site}"
email = "bot@acme.test"
api_token = "${{JIRA_API_TOKEN}}"
[connections.tokened.schedule]
every = 120
"""

HOOK_URL = "https://sync.example.test/webhooks/delivery"


class Site:
    """A fake Jira site the command line reaches in process."""

    def __init__(self, fake: JiraFake, folder: Path) -> None:
        self.fake = fake
        self.config_path = folder / "servicesync.toml"
        self.config_path.write_text(
            CONFIG.format(
                db=folder / "servicesync.db", cloud=fake.cloud_id, site=fake.base_url
            )
        )
        self.runner = CliRunner()

    def invoke(self, *args: str) -> Result:
        return self.runner.invoke(app, ["--config", str(self.config_path), *args])

    def listed(self) -> list[dict[str, Any]]:
        result = self.invoke("webhooks", "list", "delivery", "--json")
        assert result.exit_code == 0, result.output
        rows: list[dict[str, Any]] = json.loads(result.stdout)["webhooks"]
        return rows


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    fake = JiraFake(clock=SystemClock(), seed=2, base_url="https://acme.atlassian.net")
    _, api_token = fake.add_api_user("bot@acme.test", "Delivery Bot")
    bot = next(iter(fake.site.users))
    secret = "jira-app-secret-for-the-command-line-0"
    monkeypatch.setenv(
        "JIRA_ACCESS_TOKEN", fake.add_oauth_token(bot, client_secret=secret)
    )
    monkeypatch.setenv("JIRA_CLIENT_SECRET", secret)
    monkeypatch.setenv("JIRA_API_TOKEN", api_token)
    monkeypatch.setenv(KEY_ENV, Fernet.generate_key().decode())
    build_app()
    plugins = load_plugins(modules=[("jira", servicesync_jira.plugin)])
    monkeypatch.setattr(_app, "_plugins", plugins)

    # The OAuth base URL is Atlassian's, so the connectors reach the fake
    # through an in-process transport rather than over a socket.
    def engine_for(config: Config, store: Store) -> Engine:
        transports = {name: fake.transport() for name in config.connections}
        return Engine(config, store, plugins, transports=transports)

    monkeypatch.setattr(webhooks, "engine_for", engine_for)
    yield Site(fake, tmp_path)


def test_app_registers_lists_refreshes_and_removes(site: Site) -> None:
    registered = site.invoke("webhooks", "register", "delivery")
    listed = site.listed()
    refreshed = site.invoke("webhooks", "refresh", "delivery")
    removed = site.invoke("webhooks", "remove", "delivery")

    assert registered.exit_code == 0, registered.output
    assert "1 webhook(s) registered at " + HOOK_URL in registered.stdout
    assert "webhooks refresh delivery" in registered.stdout
    (row,) = listed
    assert (row["status"], row["url"]) == ("ok", HOOK_URL)
    assert refreshed.exit_code == 0, refreshed.output
    assert row["external_id"] in refreshed.stdout
    assert removed.exit_code == 0, removed.output
    assert site.fake.dynamic.hooks == {}
    assert site.listed() == []


def test_webhook_deleted_at_jira_shows_and_fails_the_refresh(site: Site) -> None:
    site.invoke("webhooks", "register", "delivery")
    site.fake.dynamic.hooks.clear()

    (row,) = site.listed()
    refreshed = site.invoke("webhooks", "refresh", "delivery")

    assert row["status"] == "missing at service"
    assert refreshed.exit_code == 1
    assert "register delivery" in refreshed.stderr


def test_api_token_prints_the_admin_webhook_steps_and_calls_nothing(
    site: Site,
) -> None:
    result = site.invoke("webhooks", "register", "tokened")

    assert result.exit_code == 0, result.output
    assert "https://sync.example.test/webhooks/tokened" in result.stdout
    assert "webhook_secret" in result.stdout
    assert "[connections.tokened.settings]" in result.stdout
    assert "polls 'tokened' on its schedule" in result.stdout
    assert len(site.fake.log) == 0


def test_daemon_renews_webhooks_only_when_they_fall_due(site: Site) -> None:
    registered = site.invoke("webhooks", "register", "delivery")
    assert registered.exit_code == 0, registered.output
    config = load_config(site.config_path)
    store = open_store(config.store_url())
    (hook,) = store.webhooks("delivery")

    async def renew_twice() -> tuple[int, int, int]:
        jobs = SyncJobs(
            config,
            store,
            load_plugins(modules=[("jira", servicesync_jira.plugin)]),
            DaemonMetrics(store),
            transports={name: site.fake.transport() for name in config.connections},
        )
        calls = len(site.fake.log)
        far_off = await jobs.renew_webhooks()
        quiet = len(site.fake.log) - calls
        soon = store.now() + timedelta(days=2)
        store.renew_webhook("delivery", hook.external_id, soon)
        due = await jobs.renew_webhooks()
        await jobs.aclose()
        return far_off, quiet, due

    far_off, quiet, due = asyncio.run(renew_twice())
    (renewed,) = store.webhooks("delivery")
    store.close()

    assert (far_off, quiet) == (0, 0)
    assert due == 1
    assert renewed.expires_at is not None
    assert renewed.expires_at - datetime.now(UTC) > timedelta(days=29)
    assert site.fake.log.count(method="PUT", route="/rest/api/3/webhook/refresh") == 1
