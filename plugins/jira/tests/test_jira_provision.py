"""Laying out a deal costs a fixed, small number of requests."""

from __future__ import annotations

from datetime import date

from servicesync import VirtualClock
from servicesync_jira import (
    DeliveryPlan,
    JiraConnector,
    MilestoneSpec,
    TaskSpec,
    provision,
)
from servicesync_jira.fake import JiraFake


def make_plan(team: list[str]) -> DeliveryPlan:
    milestones = [
        MilestoneSpec(ref=f"m{i}", name=f"Phase {i}", due=date(2026, 2, i))
        for i in range(1, 4)
    ]
    tasks = [
        TaskSpec(
            ref=f"t{i}",
            summary=f"Task {i}",
            milestone=f"m{i % 3 + 1}",
            assignee_email=team[i % len(team)],
        )
        for i in range(40)
    ]
    return DeliveryPlan(
        deal_id="D-1001",
        client="Acme Ltd",
        name="Acme portal",
        team=team,
        milestones=milestones,
        tasks=tasks,
    )


def add_team(fake: JiraFake, hidden: int = 0) -> list[str]:
    emails = [f"dev{i}@acme.test" for i in range(4)]
    for index, email in enumerate(emails):
        fake.add_user(email, f"Dev {index}", email_visible=index >= hidden)
    return emails


async def test_provision_costs_at_most_eleven_requests(
    fake: JiraFake, connector: JiraConnector
) -> None:
    plan = make_plan(add_team(fake))

    await provision(connector, plan)

    routes = fake.log.by_route()
    assert len(fake.log) <= 11, routes
    assert routes[("GET", "/rest/api/3/user/search")] <= 4
    assert routes[("POST", "/rest/api/3/project")] == 1
    assert routes[("GET", "/rest/api/3/project/{key}/role")] == 1
    assert routes[("POST", "/rest/api/3/project/{key}/role/{role_id}")] == 1
    assert routes[("POST", "/rest/api/3/version")] == 3
    assert routes[("POST", "/rest/api/3/issue/bulk")] == 1
    assert fake.log.count(status=429) == 0


async def test_provision_creates_every_task_once_with_its_milestone(
    fake: JiraFake, connector: JiraConnector
) -> None:
    plan = make_plan(add_team(fake))

    result = await provision(connector, plan)

    issues = list(fake.issues.issues.values())
    assert len(issues) == 40
    assert len({i["fields"]["labels"][0] for i in issues}) == 40
    assert all(len(i["fields"]["fixVersions"]) == 1 for i in issues)
    assert all(i["fields"]["assignee"] for i in issues)
    assert result.tasks.failed == {}


async def test_provision_hidden_email_reported_unresolved(
    fake: JiraFake, connector: JiraConnector
) -> None:
    plan = make_plan(add_team(fake, hidden=1))

    result = await provision(connector, plan)

    assert result.team.data["unresolved"] == ["dev0@acme.test"]
    assert len(result.team.data["members"]) == 3
    assert result.project.external_id in fake.site.projects


async def test_provision_team_members_get_the_member_role(
    fake: JiraFake, connector: JiraConnector
) -> None:
    plan = make_plan(add_team(fake))

    result = await provision(connector, plan)

    project = fake.site.project(result.project.external_id)
    assert len(fake.site.role_actors[(project["id"], "10100")]) == 4


async def test_provision_waits_out_429_with_retry_after_zero(
    fake: JiraFake, connector: JiraConnector, clock: VirtualClock
) -> None:
    plan = make_plan(add_team(fake))
    fake.refuse_next(429, retry_after=0, path="/rest/api/3/issue/bulk", times=2)

    result = await provision(connector, plan)

    assert len(result.tasks.data["created"]) == 40
    assert (
        fake.log.count(method="POST", route="/rest/api/3/issue/bulk", status=429) == 2
    )
    assert (
        fake.log.count(method="POST", route="/rest/api/3/issue/bulk", status=201) == 1
    )


async def test_provision_honours_503_retry_after(
    fake: JiraFake, connector: JiraConnector, clock: VirtualClock
) -> None:
    plan = make_plan(add_team(fake))
    fake.refuse_next(503, retry_after=30, path="/rest/api/3/project")
    start = clock.monotonic()

    await provision(connector, plan)

    assert fake.log.count(method="POST", route="/rest/api/3/project") == 2
    assert clock.monotonic() - start >= 30
    assert len(fake.site.projects) == 1
