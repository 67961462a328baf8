"""Dynamic webhooks of an OAuth app, and the admin-webhook steps for an API token."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
import servicesync_jira.plugin
from jira_helpers import ConnectorFactory
from servicesync import VirtualClock
from servicesync.config import parse_config
from servicesync.contract import (
    Connector,
    RegisteredWebhook,
    WebhookRegistrar,
    WebhookRequest,
)
from servicesync.daemon import DaemonMetrics, LocalScheduler, SyncJobs
from servicesync.daemon._http import build_http_app
from servicesync.errors import AuthenticationError, ConfigError, RecordError
from servicesync.plugins import load_plugins
from servicesync.store import Store
from servicesync.store.testing import every_row
from servicesync_jira import JiraConnector
from servicesync_jira._registrar import EVENTS
from servicesync_jira.fake import JiraFake

HOOK_URL = "https://sync.example.test/webhooks/delivery"
APP_SECRET = "jira-app-client-secret-of-forty-bytes-xx"


def registrar_of(connector: Connector[Any]) -> WebhookRegistrar:
    registrar = connector.webhook_registrar()
    assert registrar is not None
    return registrar


def app_settings(fake: JiraFake, **extra: object) -> dict[str, object]:
    """Settings of a connection acting as an OAuth app on ``fake``."""
    bot = next(iter(fake.site.users))
    return {
        "access_token": fake.add_oauth_token(bot, client_secret=APP_SECRET),
        "cloud_id": fake.cloud_id,
        "client_secret": APP_SECRET,
        "webhook_secret": None,
        "webhook_jql": "project = WEB",
        **extra,
    }


@pytest.fixture
def app(fake: JiraFake, make: ConnectorFactory) -> JiraConnector:
    return make(**app_settings(fake))


def issue_in(fake: JiraFake, project: str) -> str:
    """Create an issue in ``project`` (made if missing) as the API would.

    Returns:
        The issue's key.
    """
    if project not in {p["key"] for p in fake.site.projects.values()}:
        lead = next(iter(fake.site.users))
        fake.site.create_project(
            {"key": project, "name": project, "leadAccountId": lead}
        )
    fields = {
        "project": {"key": project},
        "issuetype": {"name": "Task"},
        "summary": "x",
    }
    created = fake.issues.create({"fields": fields})
    fake.emit_issue("jira:issue_created", created["id"])
    return str(created["key"])


def calls(fake: JiraFake, method: str, path: str) -> int:
    return sum(1 for e in fake.log if e.method == method and e.path.endswith(path))


async def test_register_makes_one_webhook_for_the_issue_events(
    fake: JiraFake, app: JiraConnector, clock: VirtualClock
) -> None:
    made = await registrar_of(app).register(HOOK_URL, None)

    (hook,) = fake.dynamic.hooks.values()
    assert (hook.url, hook.events, hook.jql) == (
        HOOK_URL,
        list(EVENTS),
        "project = WEB",
    )
    assert made == [RegisteredWebhook(str(hook.id), HOOK_URL, hook.expires)]
    assert made[0].expires_at == clock.now() + timedelta(days=30)


async def test_register_again_at_the_same_url_makes_none(
    fake: JiraFake, app: JiraConnector
) -> None:
    registrar = registrar_of(app)
    first = await registrar.register(HOOK_URL, None)

    again = await registrar.register(HOOK_URL, None)

    assert again == first
    assert len(fake.dynamic.hooks) == 1
    assert calls(fake, "POST", "/rest/api/3/webhook") == 1


async def test_registered_webhook_sends_matching_issues_signed_for_the_app(
    fake: JiraFake, app: JiraConnector
) -> None:
    sent: list[httpx.Request] = []
    fake.dynamic.receive_in_process(
        HOOK_URL, handler=lambda r: sent.append(r) or httpx.Response(200)
    )
    await registrar_of(app).register(HOOK_URL, None)

    issue_in(fake, "OPS")
    key = issue_in(fake, "WEB")
    await fake.webhooks.flush()

    (request,) = sent
    handler = app.webhook_handler()
    assert handler is not None
    answer = await handler.handle(_incoming(request))
    assert answer.status == 200 and answer.references[0].stream == "issues"
    assert key in request.content.decode()


async def test_expired_webhook_is_not_sent_until_refreshed(
    fake: JiraFake, app: JiraConnector, clock: VirtualClock
) -> None:
    registrar = registrar_of(app)
    (hook,) = await registrar.register(HOOK_URL, None)
    clock.advance(timedelta(days=31).total_seconds())
    issue_in(fake, "WEB")
    queued_while_expired = len(fake.webhooks.pending)

    (renewed,) = await registrar.refresh([hook])
    issue_in(fake, "WEB")

    assert queued_while_expired == 0
    assert renewed.expires_at == clock.now() + timedelta(days=30)
    assert len(fake.webhooks.pending) == 1


async def test_refresh_leaves_out_webhooks_jira_no_longer_holds(
    fake: JiraFake, app: JiraConnector
) -> None:
    registrar = registrar_of(app)
    (hook,) = await registrar.register(HOOK_URL, None)
    gone = RegisteredWebhook("99999", HOOK_URL)

    renewed = await registrar.refresh([hook, gone])

    assert [h.external_id for h in renewed] == [hook.external_id]


async def test_remove_deletes_and_a_second_remove_is_no_error(
    fake: JiraFake, app: JiraConnector
) -> None:
    registrar = registrar_of(app)
    (hook,) = await registrar.register(HOOK_URL, None)

    await registrar.remove(hook)
    await registrar.remove(hook)

    assert fake.dynamic.hooks == {}
    assert await registrar.webhooks() == []


async def test_webhooks_reads_every_page(fake: JiraFake, app: JiraConnector) -> None:
    body = {
        "url": HOOK_URL,
        "webhooks": [{"events": ["jira:issue_created"], "jqlFilter": "project = WEB"}]
        * 150,
    }
    fake.dynamic.register(APP_SECRET, body)

    held = await registrar_of(app).webhooks()

    assert held is not None and len(held) == 150
    assert calls(fake, "GET", "/rest/api/3/webhook") == 2


async def test_epic_mode_filters_on_the_shared_project(
    fake: JiraFake, make: ConnectorFactory
) -> None:
    connector = make(
        **app_settings(fake, webhook_jql=None, mode="epic", shared_project_key="DEL")
    )

    await registrar_of(connector).register(HOOK_URL, None)

    assert [h.jql for h in fake.dynamic.hooks.values()] == ["project = DEL"]


async def test_project_mode_without_a_filter_says_what_to_set(
    fake: JiraFake, make: ConnectorFactory
) -> None:
    connector = make(**app_settings(fake, webhook_jql=None))

    with pytest.raises(ConfigError, match="webhook_jql"):
        await registrar_of(connector).register(HOOK_URL, None)

    assert calls(fake, "POST", "/rest/api/3/webhook") == 0


async def test_a_filter_jira_refuses_registers_nothing(
    fake: JiraFake, make: ConnectorFactory
) -> None:
    connector = make(**app_settings(fake, webhook_jql="updated > -1d"))

    with pytest.raises(ConfigError, match="refused the webhook"):
        await registrar_of(connector).register(HOOK_URL, None)

    assert fake.dynamic.hooks == {}


async def test_an_app_without_its_client_secret_registers_nothing(
    fake: JiraFake, make: ConnectorFactory
) -> None:
    connector = make(**app_settings(fake, client_secret=None))

    with pytest.raises(ConfigError, match="client_secret"):
        await registrar_of(connector).register(HOOK_URL, None)

    assert len(fake.log) == 0


async def test_a_second_url_for_the_app_is_refused(
    fake: JiraFake, app: JiraConnector
) -> None:
    await registrar_of(app).register(HOOK_URL, None)

    with pytest.raises(RecordError, match="single URL per app"):
        await registrar_of(app).register("https://elsewhere.test/hook", None)


async def test_api_token_gets_the_admin_webhook_steps(
    connector: JiraConnector,
) -> None:
    steps = registrar_of(connector).manual_steps(HOOK_URL)

    assert steps is not None
    assert HOOK_URL in steps and "WebHooks" in steps
    assert "[connections.jira-test.settings]" in steps and "webhook_secret" in steps


async def test_api_token_may_not_use_dynamic_webhooks(
    fake: JiraFake, connector: JiraConnector
) -> None:
    with pytest.raises(AuthenticationError, match="403"):
        await registrar_of(connector).webhooks()


async def test_app_needs_no_steps(app: JiraConnector) -> None:
    assert registrar_of(app).manual_steps(HOOK_URL) is None


CONFIG = """
[connections.delivery]
plugin = "jira"
[connections.delivery.settings]
access_token = "{access}"
cloud_id = "{cloud}"
client_secret = "{secret}"
webhook_jql = "project = WEB"
"""


async def test_delivery_is_checked_by_the_daemons_route(
    fake: JiraFake, store: Store
) -> None:
    settings = app_settings(fake)
    config = parse_config(
        CONFIG.format(
            access=settings["access_token"], cloud=fake.cloud_id, secret=APP_SECRET
        )
    )
    plugins = load_plugins(modules=[("jira", servicesync_jira.plugin)])
    jobs = SyncJobs(
        config, store, plugins, DaemonMetrics(store),
        transports={"delivery": fake.transport()},
    )  # fmt: skip
    http = build_http_app(jobs, LocalScheduler(jobs, store.clock, grace=30))
    fake.dynamic.receive_in_process(HOOK_URL, app=http)
    try:
        await registrar_of(jobs.engine.connector("delivery")).register(HOOK_URL, None)
        issue_in(fake, "WEB")
        delivered = await fake.webhooks.flush()
    finally:
        await jobs.aclose()

    assert [d.status for d in delivered] == [200]
    assert len(every_row(store.engine)["webhook_receipts"]) == 1


def _incoming(request: httpx.Request) -> WebhookRequest:
    return WebhookRequest(
        "POST", str(request.url), dict(request.headers), request.content
    )
