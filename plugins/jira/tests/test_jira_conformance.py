"""The Jira connector passes the SDK's conformance suite against its fake.

What the suite needs to know of Jira beyond the defaults:

* the ``issues`` stream reads with ``POST /search/jql``, 100 issues a page;
* its windows end ``search_settle_seconds`` (a minute) before now, because
  Jira's search index shows writes late, so the suite waits that long
  before it expects a change to be read;
* Jira documents no number for its burst limits (it answers 429 with
  ``Retry-After`` when one is hit), so the connector has no limiter to pace
  by one and the ``rate_limit`` part has nothing to check.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx
from pydantic import BaseModel
from servicesync import Clock
from servicesync.contract import Connector, ConnectorContext, WebhookRequest
from servicesync_jira import CreateProjectParams, JiraConfig, JiraConnector
from servicesync_jira._streams import ISSUE_FIELDS
from servicesync_jira.fake import JiraFake
from servicesync_sdk.fakes import FakeService, FaultRule
from servicesync_sdk.testing import ConformanceHarness, ConnectorConformance

EMAIL = "delivery-bot@acme.test"
API_TOKEN = "conformance-api-token-7d2e41"
HOOK_SECRET = "conformance-hook-secret-93ab05"
HOOK_URL = "https://sync.example/hooks/jira"
PROJECT = "CONF"
SETTLE_SECONDS = 60.0
STATUSES = ("In Progress", "Done")


def site_of(fake: FakeService) -> JiraFake:
    """Narrow the suite's fake to the site this harness built."""
    assert isinstance(fake, JiraFake)
    return fake


def accept(request: httpx.Request) -> httpx.Response:
    """Stand in for servicesync's webhook endpoint: take every delivery."""
    return httpx.Response(200)


def lead_of(site: JiraFake) -> str:
    """Return the account id of the connection's own user."""
    return next(u.account_id for u in site.site.users.values() if u.email == EMAIL)


class JiraHarness(ConformanceHarness):
    """How the suite drives the Jira connector and its fake site."""

    stream = "issues"
    page_size = 100
    action = "create_project"
    settle = SETTLE_SECONDS
    read_method = "POST"
    read_path = "/rest/api/3/search/jql"

    def make_fake(self, clock: Clock, seed: int) -> JiraFake:
        site = JiraFake(clock=clock, seed=seed, base_url="https://acme.atlassian.net")
        site.add_api_user(EMAIL, "Delivery Bot", token=API_TOKEN)
        site.site.create_project(
            {"key": PROJECT, "name": "Conformance", "leadAccountId": lead_of(site)}
        )
        site.subscribe_admin_webhook(HOOK_URL, HOOK_SECRET, handler=accept)
        return site

    def make_connector(
        self, fake: FakeService, context: ConnectorContext
    ) -> Connector[Any]:
        config = JiraConfig(
            site_url=fake.base_url,
            email=EMAIL,
            api_token=API_TOKEN,
            webhook_secret=HOOK_SECRET,
            search_settle_seconds=SETTLE_SECONDS,
        )
        return JiraConnector(config, context)

    async def insert(self, fake: FakeService, count: int) -> list[str]:
        issues = site_of(fake).issues
        return [
            issues.create(
                {
                    "fields": {
                        "project": {"key": PROJECT},
                        "issuetype": {"name": "Task"},
                        "summary": f"Task {n}",
                    }
                }
            )["id"]
            for n in range(count)
        ]

    async def update(self, fake: FakeService, external_id: str) -> None:
        site = site_of(fake)
        status = site.issues.issues[external_id]["fields"]["status"]["name"]
        site.transition(external_id, STATUSES[status == STATUSES[0]])

    def snapshot(self, fake: FakeService) -> Mapping[str, Mapping[str, Any]]:
        issues = site_of(fake).issues
        return {
            issue_id: issues.render(issue, ISSUE_FIELDS)
            for issue_id, issue in issues.issues.items()
        }

    def action_params(self, fake: FakeService) -> BaseModel:
        return CreateProjectParams(
            name="Acme portal",
            client="Acme Ltd",
            lead_account_id=lead_of(site_of(fake)),
        )

    def count_objects(self, fake: FakeService, params: BaseModel) -> int:
        assert isinstance(params, CreateProjectParams)
        projects = site_of(fake).site.projects.values()
        return sum(1 for p in projects if p["name"].startswith(f"{params.name} ("))

    def lose_create_answer(self, fake: FakeService) -> FaultRule:
        return fake.faults.answer_lost(method="POST", path="/rest/api/3/project")

    async def valid_webhook(
        self, fake: FakeService, connector: Connector[Any]
    ) -> WebhookRequest:
        site = site_of(fake)
        [issue_id] = await self.insert(site, 1)
        site.transition(issue_id, "Done")
        delivery = (await site.webhooks.flush())[-1]
        return WebhookRequest(
            "POST", delivery.subscription.url, dict(delivery.headers), delivery.body
        )

    def secrets(self, fake: FakeService) -> Sequence[str]:
        return [*fake.secrets(), HOOK_SECRET]


class TestJiraConformance(ConnectorConformance):
    harness = JiraHarness()
