"""Secrets given to servicesync never come out in clear.

One scenario hands servicesync a distinct random secret through every path
it takes one in: a ``${ENV}`` reference and a clear value in the config, the
credential vault, a Bitrix24 OAuth refresh (whose rotated tokens the fake
portal issues), a Jira API token, a Bitrix24 event carrying the application
token, and incoming-webhook URLs (whose code is in the path) that fail. It
then syncs, fails to sync, and takes in events. Each test looks for every
secret in one place a user could see it: the store's tables, the log
records, the JSON log lines, the errors raised, and the command line.
"""

from __future__ import annotations

import io
import logging
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import servicesync_bitrix24.plugin
import servicesync_jira.plugin
import sqlalchemy as sa
from servicesync.cli import build_app
from servicesync.cli._app import app
from servicesync.config import Config, parse_config
from servicesync.contract import WebhookRequest
from servicesync.engine import Engine
from servicesync.errors import ServiceSyncError
from servicesync.logs import configure_logging, forget_secrets
from servicesync.plugins import load_plugins
from servicesync.store import Store
from servicesync.store.testing import every_row
from servicesync_bitrix24.fake import FakePortal
from servicesync_jira.fake import JiraFake
from servicesync_sdk.fakes import serve_in_thread
from typer.testing import CliRunner


def secret(kind: str) -> str:
    """Return a fresh secret that no other text in a run can contain."""
    return f"{kind}{secrets.token_hex(12)}"


@dataclass
class Secrets:
    """The secrets of one run, named by the path they were given through."""

    webhook_code: str = field(default_factory=lambda: secret("hook"))
    application_token: str = field(default_factory=lambda: secret("apptok"))
    client_secret: str = field(default_factory=lambda: secret("client"))
    vault_value: str = field(default_factory=lambda: secret("vault"))
    jira_token: str = field(default_factory=lambda: secret("jira"))
    wrong_jira_token: str = field(default_factory=lambda: secret("jirabad"))
    unknown_code: str = field(default_factory=lambda: secret("gone"))
    unreachable_code: str = field(default_factory=lambda: secret("down"))
    issued: list[str] = field(default_factory=list)

    def all(self) -> list[str]:
        """Every secret, those the fakes issued during the run included."""
        fixed = [v for k, v in vars(self).items() if k != "issued"]
        return fixed + self.issued


CONFIG = """
[connections.crm]
plugin = "bitrix24"
[connections.crm.settings]
portal_url = "{portal}"
webhook_url = "{portal}/rest/1/{s.webhook_code}/"
application_token = "{s.application_token}"
[connections.crm.mapping.values.stage]
NEW = "acquaintance"
EXECUTING = "contract_signed"

[connections.crm_app]
plugin = "bitrix24"
[connections.crm_app.settings]
portal_url = "{portal}"
client_id = "app.1"
client_secret = "${{B24_CLIENT_SECRET}}"
refresh_token = "${{B24_REFRESH_TOKEN}}"
oauth_server_url = "https://oauth.example/oauth/token/"

[connections.crm_gone]
plugin = "bitrix24"
[connections.crm_gone.settings]
portal_url = "{portal}"
webhook_url = "{portal}/rest/1/{s.unknown_code}/"

[connections.crm_down]
plugin = "bitrix24"
[connections.crm_down.settings]
portal_url = "https://down.example"
webhook_url = "https://down.example/rest/1/{s.unreachable_code}/"

[connections.delivery]
plugin = "jira"
[connections.delivery.settings]
site_url = "{jira}"
email = "bot@example.com"
api_token = "${{JIRA_API_TOKEN}}"

[connections.delivery_bad]
plugin = "jira"
[connections.delivery_bad.settings]
site_url = "{jira}"
email = "bot@example.com"
api_token = "{s.wrong_jira_token}"
"""


def unreachable(request: httpx.Request) -> httpx.Response:
    """A network that cannot reach the host; httpx names the URL in its error."""
    raise httpx.ConnectError(f"Cannot connect to {request.url}", request=request)


@dataclass
class Run:
    """What one run of the scenario left to look at."""

    secrets: Secrets
    config: Config
    errors: list[BaseException]
    json_lines: str = ""


def _delivery(portal: FakePortal, token: str, deal: int) -> WebhookRequest:
    url = f"https://sync.example/hooks/{len(portal.events.bindings)}"
    portal.events.add_outgoing_webhook("ONCRMDEALUPDATE", url, token)
    portal.data.update_deal(deal, {"TITLE": "Renamed"})
    subscription, _, payload = portal.webhooks.pending[-1]
    body = subscription.scheme.prepare(payload, url, portal.clock.now()).body
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return WebhookRequest("POST", url, headers, body)


def _keep_issued_tokens(portal: FakePortal, s: Secrets) -> None:
    """Add every OAuth token the portal issues to the run's secrets.

    The portal forgets a refresh token once it is used, so its own list
    would miss the ones servicesync has already sent.
    """
    issue = portal.oauth.issue

    def keep(client_id: str) -> dict[str, Any]:
        pair = issue(client_id)
        s.issued += [pair["access_token"], pair["refresh_token"]]
        return pair

    portal.oauth.issue = keep  # type: ignore[method-assign]


async def _scenario(store: Store, s: Secrets) -> tuple[Config, list[BaseException]]:
    portal = FakePortal(clock=store.clock, seed=5)
    portal.add_webhook(code=s.webhook_code)
    portal.oauth.add_app("app.1", s.client_secret)
    _keep_issued_tokens(portal, s)
    first = portal.oauth.issue("app.1")
    jira = JiraFake(clock=store.clock, seed=5, base_url="https://acme.atlassian.net")
    jira.add_api_user("bot@example.com", "Bot", token=s.jira_token)
    env = {
        "B24_CLIENT_SECRET": s.client_secret,
        "B24_REFRESH_TOKEN": first["refresh_token"],
        "JIRA_API_TOKEN": s.jira_token,
    }
    config = parse_config(
        CONFIG.format(portal=portal.base_url, jira=jira.base_url, s=s), env=env
    )
    transports = {
        "crm": portal.transport(),
        "crm_app": portal.transport(),
        "crm_gone": portal.transport(),
        "crm_down": httpx.MockTransport(unreachable),
        "delivery": jira.transport(),
        "delivery_bad": jira.transport(),
    }
    plugins = load_plugins(
        modules=[
            ("bitrix24", servicesync_bitrix24.plugin),
            ("jira", servicesync_jira.plugin),
        ]
    )
    engine = Engine(config, store, plugins, transports=transports)
    store.vault("crm").put("spare_token", s.vault_value)
    deal = portal.data.add_deal({"TITLE": "Secretive deal", "OPPORTUNITY": "10"})
    errors: list[BaseException] = []
    try:
        for name in ("crm", "crm_app", "delivery"):
            await engine.sync(name)
        store.clock.advance(4000)  # past the access token's hour: refresh again
        await engine.sync("crm_app")
        for request in (
            _delivery(portal, s.application_token, deal),
            _delivery(portal, secret("forged"), deal),
        ):
            try:
                await engine.handle_webhook("crm", request)
            except ServiceSyncError as exc:
                errors.append(exc)
        for name in ("crm_gone", "crm_down", "delivery_bad"):
            try:
                await engine.sync(name)
            except ServiceSyncError as exc:
                errors.append(exc)
    finally:
        await engine.aclose()
    s.issued += portal.secrets()
    assert portal.oauth.refreshes >= 2
    assert len(errors) == 4
    return config, errors


@pytest.fixture
def json_logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """The JSON log lines the command line would write to standard error."""
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    root = logging.getLogger()
    level = root.level
    configure_logging(verbose=2, json_lines=True)
    yield stream
    for handler in [h for h in root.handlers if getattr(h, "_servicesync", False)]:
        root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
async def run(store: Store, caplog: pytest.LogCaptureFixture) -> AsyncIterator[Run]:
    """The scenario, run with no log set-up but pytest's: records stay raw."""
    caplog.set_level(logging.DEBUG)
    s = Secrets()
    config, errors = await _scenario(store, s)
    yield Run(s, config, errors)
    forget_secrets()


@pytest.fixture
async def logged_run(store: Store, json_logs: io.StringIO) -> AsyncIterator[Run]:
    """The scenario, logged as ``servicesync --json-logs -vv`` would log it."""
    s = Secrets()
    config, errors = await _scenario(store, s)
    yield Run(s, config, errors, json_logs.getvalue())
    forget_secrets()


def leaked(text: str, values: list[str]) -> list[str]:
    """Return the secrets found in ``text``."""
    return [v for v in values if v in text]


def error_chain(exc: BaseException) -> Iterator[BaseException]:
    """Yield an error and the causes a traceback would print with it."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        if current.__cause__ is not None:
            current = current.__cause__
        elif not current.__suppress_context__:
            current = current.__context__
        else:
            current = None


def test_secrets_absent_from_every_table(run: Run, store: Store) -> None:
    rows = every_row(store.engine)

    text = "\n".join(
        f"{name}: {row!r}" for name, table in rows.items() for row in table
    )
    assert rows["credentials"], "the vault holds nothing: the scenario did not run"
    assert leaked(text, run.secrets.all()) == []


def test_secrets_absent_from_log_records(
    run: Run, caplog: pytest.LogCaptureFixture
) -> None:
    # The scenario ran while the ``run`` fixture was set up.
    records = caplog.get_records("setup")
    text = "\n".join(
        f"{record.name} {record.getMessage()} {record.exc_text or ''}"
        for record in records
    )

    assert len(records) > 10
    assert leaked(text, run.secrets.all()) == []


def test_secrets_absent_from_json_log_lines(logged_run: Run) -> None:
    lines = logged_run.json_lines.splitlines()

    assert len(lines) > 10
    assert leaked(logged_run.json_lines, logged_run.secrets.all()) == []


def test_secrets_absent_from_errors(run: Run) -> None:
    texts = [f"{error!s} {error!r}" for exc in run.errors for error in error_chain(exc)]

    assert len(texts) >= len(run.errors)
    assert leaked("\n".join(texts), run.secrets.all()) == []


def test_secrets_absent_from_config_repr(run: Run) -> None:
    shown = f"{run.config!r} {run.config!s}"

    assert leaked(shown, run.secrets.all()) == []


# -- the command line -------------------------------------------------------


@pytest.fixture
def cli() -> CliRunner:
    build_app()
    return CliRunner()


def _store_url(store: Store) -> str:
    """A URL that opens the same database (and schema) as ``store``."""
    url = store.engine.url
    if url.get_backend_name() != "postgresql":
        return url.render_as_string(hide_password=False)
    with store.engine.connect() as connection:
        schema = connection.execute(sa.text("select current_schema()")).scalar_one()
    return url.update_query_dict(
        {"options": f"-csearch_path={schema}"}
    ).render_as_string(hide_password=False)


def _write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "servicesync.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_config_check_output_hides_secrets(
    cli: CliRunner, tmp_path: Path, as_json: bool
) -> None:
    s = Secrets()
    text = CONFIG.format(portal="https://b24.example", jira="https://j.example", s=s)
    path = _write_config(tmp_path, text)
    env = {
        "B24_CLIENT_SECRET": s.client_secret,
        "B24_REFRESH_TOKEN": s.vault_value,
        "JIRA_API_TOKEN": s.jira_token,
    }
    args = ["--config", str(path), "-v", "config", "check"]

    result = cli.invoke(app, [*args, "--json"] if as_json else args, env=env)

    assert result.exit_code == 0, result.output
    assert leaked(result.output, s.all()) == []


def test_sync_auth_error_output_hides_secrets(
    cli: CliRunner, tmp_path: Path, store: Store
) -> None:
    s = Secrets()
    portal = FakePortal(seed=9)
    portal.add_webhook(code=s.webhook_code)
    with serve_in_thread(portal) as base_url:
        text = (
            f'[store]\nurl = "{_store_url(store)}"\n\n'
            f'[connections.crm]\nplugin = "bitrix24"\n'
            f"[connections.crm.settings]\n"
            f'portal_url = "{base_url}"\n'
            f'webhook_url = "${{B24_WEBHOOK_URL}}"\n'
        )
        path = _write_config(tmp_path, text)
        env = {"B24_WEBHOOK_URL": f"{base_url}/rest/1/{s.unknown_code}/"}

        result = cli.invoke(app, ["--config", str(path), "-vv", "sync", "crm"], env=env)

    assert result.exit_code == 1, result.output
    assert "refused" in result.output
    assert leaked(result.output, s.all()) == [], result.output
    table = "\n".join(
        repr(r) for rows in every_row(store.engine).values() for r in rows
    )
    assert leaked(table, s.all()) == []
