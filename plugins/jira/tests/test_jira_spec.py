"""Every exchange the connector and the fake have is what the description allows.

One recorded session drives the connector through every operation it calls
(a static scan of its source lists them, so a new call cannot go unchecked)
and makes the fake answer with every status it can give (a scan of the
fake's source lists those). Each exchange is then validated against the
vendor's OpenAPI description.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import servicesync_jira
import servicesync_jira.fake
from jira_spec import Exchange, Recorder, check, load_spec, operation
from servicesync import VirtualClock
from servicesync.contract import ConnectorContext, StreamState
from servicesync.errors import AuthenticationError
from servicesync_jira import (
    AddTeamParams,
    CreateMilestoneParams,
    CreateProjectParams,
    CreateTasksParams,
    DeliveryPlan,
    IssuesStream,
    JiraConfig,
    JiraConnector,
    MilestoneSpec,
    ProjectsStream,
    TaskSpec,
    VersionsStream,
    provision,
)
from servicesync_jira._registrar import JiraWebhookRegistrar
from servicesync_jira.fake import JiraFake

pytestmark = pytest.mark.shared

API = "/rest/api/3"

#: Every status the fake answers with: its routes' success codes, its errors,
#: its authentication refusal, its refusal of callers that are not apps (403),
#: its rate limit (429) and its faults (503).
FAKE_STATUSES = {200, 201, 202, 204, 400, 401, 403, 404, 410, 413, 429, 503}

_CALL = re.compile(r"\.(get|post|put|patch|delete)\(\s*f\"\{API\}([^\"]*)\"")
_STATUS_LITERAL = re.compile(
    r"(?:FakeJiraError\(\s*|_json\(|status_code=|error_response\(\s*)(\d{3})"
)


def _sources(package: Any) -> list[Path]:
    folder = Path(package.__file__).parent
    return sorted(p for p in folder.glob("*.py"))


def connector_operations() -> set[tuple[str, str]]:
    """``(method, path)`` of every API call in the connector's source."""
    found = set()
    for path in _sources(servicesync_jira):
        for method, rest in _CALL.findall(path.read_text()):
            found.add((method.upper(), _placeholders(API + rest)))
    return found


def fake_status_literals() -> set[int]:
    """The statuses the fake's source answers with by name."""
    text = "".join(p.read_text() for p in _sources(servicesync_jira.fake))
    return {int(code) for code in _STATUS_LITERAL.findall(text)}


def _placeholders(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


@pytest.fixture
def exchanges() -> list[Exchange]:
    return []


@pytest.fixture
def spy(exchanges: list[Exchange]) -> Callable[[JiraConnector], JiraConnector]:
    """Record every exchange of a connector into the shared list."""

    def wrap(connector: JiraConnector) -> JiraConnector:
        inner = connector.client.http._transport
        connector.client.http._transport = Recorder(inner, exchanges)
        return connector

    return wrap


async def exercise(
    fake: JiraFake, connector: JiraConnector, clock: VirtualClock
) -> None:
    """Call every operation the connector has, meeting faults on the way."""
    for n in range(3):
        fake.add_user(f"dev{n}@acme.test", f"Dev {n}", email_visible=n > 0)
    team = [f"dev{n}@acme.test" for n in range(3)]
    plan = DeliveryPlan(
        deal_id="D-7",
        client="Globex",
        name="Globex app",
        team=team,
        milestones=[MilestoneSpec(ref="m1", name="Beta", due=date(2026, 3, 1))],
        tasks=[
            TaskSpec(ref=f"t{n}", summary=f"Task {n}", milestone="m1")
            for n in range(60)
        ],
    )
    fake.fail_next_bulk([1, 2])
    fake.refuse_next(429, retry_after=0, path=f"{API}/version")
    result = await provision(connector, plan)
    key = result.project.external_id
    actions = connector.actions()

    fake.faults.answer_lost(method="POST", path=f"{API}/project")
    project = CreateProjectParams(name="Globex app", client="Globex")
    await actions["create_project"].find("deal:D-7:project", project)
    nobody = CreateProjectParams(name="Nobody", client="Nobody Ltd")
    assert await actions["create_project"].find("deal:none:project", nobody) is None
    milestone = CreateMilestoneParams(project_key=key, name="Beta")
    await actions["create_milestone"].execute("other", milestone)
    await actions["add_team"].find(
        "deal:D-7:team", AddTeamParams(project_key=key, emails=team)
    )
    fake.faults.answer_lost(method="POST", path=f"{API}/issue/bulk")
    more = CreateTasksParams(project_key=key, tasks=[TaskSpec(ref="x", summary="X")])
    await actions["create_tasks"].execute("deal:D-7:more", more)

    clock.advance(300)
    async for _ in IssuesStream(connector).read(StreamState()):
        pass
    async for _ in ProjectsStream(connector).read(StreamState()):
        pass
    fake.refuse_next(503, retry_after=0, path=f"{API}/myself")
    await connector.check()
    await _updates(connector, key)
    await _epic_updates(fake, connector)
    await _lifecycle(connector, key)
    await _dynamic_webhooks(fake, connector, clock)


async def _updates(connector: JiraConnector, key: str) -> None:
    """Change the project's budget and a milestone's date; read versions and issues."""
    actions = connector.actions()
    budget = actions["update_project"].params_model.model_validate(
        {"project_key": key, "title": "Globex app 2", "amount": "1200.5"}
    )
    await actions["update_project"].execute("deal:D-7:budget", budget)
    assert await actions["update_project"].find("deal:D-7:budget", budget)
    versions = [
        r
        async for page in VersionsStream(connector).read(StreamState())
        for r in page.records
    ]
    moved = actions["update_milestone"].params_model.model_validate(
        {
            "project_key": key,
            "milestone_id": versions[0].external_id,
            "due": "2026-04-01",
        }
    )
    await actions["update_milestone"].execute("deal:D-7:moved", moved)
    assert await actions["update_milestone"].find("deal:D-7:moved", moved)
    issues = [
        r
        async for page in IssuesStream(connector).read(StreamState())
        for r in page.records
    ]
    assert await IssuesStream(connector).read_records([i.external_id for i in issues])


async def _epic_updates(fake: JiraFake, connector: JiraConnector) -> None:
    """Change a deal's epic and a milestone's epic, as epic mode does.

    The epic-mode connector sends through the same recorder as ``connector``.
    """
    lead = next(iter(fake.site.users))
    fake.site.create_project({"key": "DEL", "name": "Delivery", "leadAccountId": lead})
    settings = {
        **connector.config.model_dump(),
        "mode": "epic",
        "shared_project_key": "DEL",
        "milestones_as": "epics",
    }
    context = ConnectorContext(
        connection="jira-epics",
        clock=connector.context.clock,
        credentials=connector.context.credentials,
        state=connector.context.state,
        transport=connector.client.http._transport,  # type: ignore[arg-type]
    )
    epic_mode = JiraConnector(JiraConfig.model_validate(settings), context)
    try:
        actions = epic_mode.actions()
        deal = await actions["create_project"].execute(
            "deal:D-8:project", CreateProjectParams(name="Initech", client="Initech")
        )
        budget = actions["update_project"].params_model.model_validate(
            {"project_key": deal.external_id, "title": "Initech 2", "amount": "10"}
        )
        await actions["update_project"].execute("deal:D-8:budget", budget)
        milestone = CreateMilestoneParams(project_key=deal.external_id, name="Beta")
        epic = await actions["create_milestone"].execute("deal:D-8:beta", milestone)
        moved = actions["update_milestone"].params_model.model_validate(
            {
                "project_key": deal.external_id,
                "milestone_id": epic.external_id,
                "due": "2026-04-01",
            }
        )
        await actions["update_milestone"].execute("deal:D-8:moved", moved)
        assert await actions["update_milestone"].find("deal:D-8:moved", moved)
    finally:
        await epic_mode.aclose()


async def _lifecycle(connector: JiraConnector, key: str) -> None:
    """Mark, unmark and archive the project, for the actions that exist."""
    actions = connector.actions()
    steps = [
        ("mark_project", {"project_key": key, "note": "The deal was lost."}),
        ("unmark_project", {"project_key": key}),
        ("archive_project", {"project_key": key}),
    ]
    for name, values in steps:
        if name in actions:
            params = actions[name].params_model.model_validate(values)
            await actions[name].execute(f"deal:D-7:{name}", params)


async def _dynamic_webhooks(
    fake: JiraFake, connector: JiraConnector, clock: VirtualClock
) -> None:
    """Register, list, renew and remove webhooks as an app; be refused without one.

    The app's connector sends through the same recorder as ``connector``.
    """
    with pytest.raises(AuthenticationError):
        await JiraWebhookRegistrar(connector).webhooks()
    bot = next(iter(fake.site.users))
    settings = {
        "access_token": fake.add_oauth_token(bot, client_secret="app-secret"),
        "cloud_id": fake.cloud_id,
        "client_secret": "app-secret",
        "webhook_jql": "project = WRK",
    }
    context = ConnectorContext(
        connection="jira-app",
        clock=clock,
        credentials=connector.context.credentials,
        state=connector.context.state,
        transport=connector.client.http._transport,  # type: ignore[arg-type]
    )
    app = JiraConnector(JiraConfig.model_validate(settings), context)
    registrar = JiraWebhookRegistrar(app)
    try:
        made = await registrar.register("https://sync.example.test/hooks", None)
        await registrar.refresh(made)
        await registrar.remove(made[0])
    finally:
        await app.aclose()


async def answers_beyond_the_connector(
    fake: JiraFake, exchanges: list[Exchange]
) -> None:
    """Make the fake give the answers the connector never provokes."""
    lead = next(iter(fake.site.users))
    fake.site.create_project({"key": "WRK", "name": "Work", "leadAccountId": lead})
    issue = fake.issues.create(
        {
            "fields": {
                "project": {"key": "WRK"},
                "issuetype": {"name": "Task"},
                "summary": "w",
            }
        }
    )
    fake.worklogs.per_issue_cap = 0
    auth = httpx.BasicAuth("bot@acme.test", "bot-token-123456")
    recorder = Recorder(fake.transport(), exchanges)
    async with httpx.AsyncClient(
        transport=recorder, base_url=fake.base_url, auth=auth
    ) as client:
        await client.post(f"{API}/search", json={"jql": "project = WRK"})
        await client.post(
            f"{API}/issue/{issue['key']}/worklog", json={"timeSpentSeconds": 60}
        )


async def test_spec_connector_exchanges_match_the_description(
    fake: JiraFake,
    connector: JiraConnector,
    clock: VirtualClock,
    spy: Callable[[JiraConnector], JiraConnector],
    exchanges: list[Exchange],
) -> None:
    spec = load_spec()

    await exercise(fake, spy(connector), clock)

    assert [p for e in exchanges for p in check(spec, e)] == []


async def test_spec_checks_every_operation_the_connector_calls(
    fake: JiraFake,
    connector: JiraConnector,
    clock: VirtualClock,
    spy: Callable[[JiraConnector], JiraConnector],
    exchanges: list[Exchange],
) -> None:
    spec = load_spec()

    await exercise(fake, spy(connector), clock)

    exercised = {
        (e.method, _placeholders(operation(spec, e.method, e.path)[0]))
        for e in exchanges
    }
    assert connector_operations() - exercised == set()
    assert len(connector_operations()) >= 14


async def test_spec_checks_every_status_the_fake_answers(
    fake: JiraFake,
    connector: JiraConnector,
    clock: VirtualClock,
    make: Callable[..., JiraConnector],
    spy: Callable[[JiraConnector], JiraConnector],
    exchanges: list[Exchange],
) -> None:
    spec = load_spec()
    stranger = spy(make(api_token="not-a-token-of-this-site"))

    await exercise(fake, spy(connector), clock)
    with pytest.raises(AuthenticationError):
        await stranger.check()
    await answers_beyond_the_connector(fake, exchanges)

    assert fake_status_literals() <= FAKE_STATUSES
    assert FAKE_STATUSES - {e.status for e in exchanges} == set()
    assert [p for e in exchanges for p in check(spec, e)] == []
