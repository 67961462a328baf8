"""Every exchange the connector and the fake have is what the description allows."""

from __future__ import annotations

from datetime import date

import pytest
from jira_spec import Recorder, check, load_spec
from servicesync import VirtualClock
from servicesync.contract import StreamState
from servicesync_jira import (
    DeliveryPlan,
    IssuesStream,
    JiraConnector,
    MilestoneSpec,
    ProjectsStream,
    TaskSpec,
    provision,
)
from servicesync_jira.fake import JiraFake

pytestmark = pytest.mark.shared


@pytest.fixture
def recorder(connector: JiraConnector) -> Recorder:
    spied = Recorder(connector.client.http._transport)
    connector.client.http._transport = spied
    return spied


async def exercise(
    fake: JiraFake, connector: JiraConnector, clock: VirtualClock
) -> None:
    for n in range(3):
        fake.add_user(f"dev{n}@acme.test", f"Dev {n}", email_visible=n > 0)
    plan = DeliveryPlan(
        deal_id="D-7",
        client="Globex",
        name="Globex app",
        team=[f"dev{n}@acme.test" for n in range(3)],
        milestones=[MilestoneSpec(ref="m1", name="Beta", due=date(2026, 3, 1))],
        tasks=[
            TaskSpec(ref=f"t{n}", summary=f"Task {n}", milestone="m1")
            for n in range(60)
        ],
    )
    fake.fail_next_bulk([1, 2])
    fake.refuse_next(429, retry_after=0, path="/rest/api/3/version")
    result = await provision(connector, plan)
    fake.faults.answer_lost(method="POST", path="/rest/api/3/project")
    await connector.actions()["create_project"].find("deal:D-7:project", _params())
    await connector.actions()["create_milestone"].execute(
        "other", _milestone(result.project.external_id)
    )
    clock.advance(300)
    async for _ in IssuesStream(connector).read(StreamState()):
        pass
    async for _ in ProjectsStream(connector).read(StreamState()):
        pass
    await connector.check()


def _params() -> object:
    from servicesync_jira import CreateProjectParams

    return CreateProjectParams(name="Globex app", client="Globex")


def _milestone(key: str) -> object:
    from servicesync_jira import CreateMilestoneParams

    return CreateMilestoneParams(project_key=key, name="Beta")


async def test_spec_connector_exchanges_match_the_description(
    fake: JiraFake, connector: JiraConnector, clock: VirtualClock, recorder: Recorder
) -> None:
    spec = load_spec()

    await exercise(fake, connector, clock)

    problems = [p for e in recorder.exchanges for p in check(spec, e)]
    assert problems == []
    statuses = {(e.method, e.status) for e in recorder.exchanges}
    assert {("POST", 201), ("GET", 200), ("POST", 429), ("POST", 400)} <= statuses
