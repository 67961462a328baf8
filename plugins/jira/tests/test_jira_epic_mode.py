"""Milestones as epics keep the guarantees of milestones as versions.

With ``milestones_as = "epics"`` each milestone is an epic issue and each
task is a child of its milestone's epic. Laying out a deal must cost the
same small number of requests, and lost or partial answers must never make
a milestone or a task twice.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from servicesync.errors import ServiceUnavailable
from servicesync_jira import (
    CreateMilestoneParams,
    CreateProjectParams,
    CreateTasksParams,
    JiraConnector,
    TaskSpec,
    provision,
)
from servicesync_jira.fake import JiraFake
from test_jira_provision import add_team, make_plan

ISSUE = "/rest/api/3/issue"


@pytest.fixture
def epics(make: Callable[..., JiraConnector]) -> JiraConnector:
    return make(milestones_as="epics")


def epics_in(fake: JiraFake) -> list[dict]:
    return [
        i
        for i in fake.issues.issues.values()
        if i["fields"]["issuetype"]["name"] == "Epic"
    ]


def tasks_in(fake: JiraFake) -> list[dict]:
    return [
        i
        for i in fake.issues.issues.values()
        if i["fields"]["issuetype"]["name"] == "Task"
    ]


async def new_project(fake: JiraFake, connector: JiraConnector) -> str:
    lead = next(iter(fake.site.users))
    params = CreateProjectParams(
        name="Acme portal", client="Acme", lead_account_id=lead
    )
    made = await connector.actions()["create_project"].execute("deal:9:project", params)
    return made.external_id


async def test_epic_mode_provision_costs_at_most_eleven_requests(
    fake: JiraFake, epics: JiraConnector
) -> None:
    plan = make_plan(add_team(fake))

    await provision(epics, plan)

    routes = fake.log.by_route()
    assert len(fake.log) <= 11, routes
    assert routes[("POST", ISSUE)] == 3
    assert routes[("POST", f"{ISSUE}/bulk")] == 1
    assert fake.log.count(status=429) == 0


async def test_epic_mode_puts_every_task_under_its_milestone_epic(
    fake: JiraFake, epics: JiraConnector
) -> None:
    plan = make_plan(add_team(fake))

    result = await provision(epics, plan)

    assert len(epics_in(fake)) == 3
    assert len(tasks_in(fake)) == 40
    wanted = {t.ref: result.milestones[t.milestone or ""] for t in plan.tasks}
    made = result.tasks.data["created"]
    parents = {i["key"]: i["fields"]["parent"]["key"] for i in tasks_in(fake)}
    assert {ref: parents[key] for ref, key in made.items()} == wanted


async def test_epic_mode_lost_milestone_answer_found_and_made_once(
    fake: JiraFake, epics: JiraConnector
) -> None:
    key = await new_project(fake, epics)
    action = epics.actions()["create_milestone"]
    params = CreateMilestoneParams(project_key=key, name="Phase 1")
    fake.faults.answer_lost(method="POST", path=ISSUE)

    with pytest.raises(ServiceUnavailable):
        await action.execute("deal:9:milestone:m1", params)
    found = await action.find("deal:9:milestone:m1", params)

    assert found is not None
    assert [e["key"] for e in epics_in(fake)] == [found.external_id]


async def test_epic_mode_half_failed_bulk_with_lost_answer_makes_each_task_once(
    fake: JiraFake, epics: JiraConnector
) -> None:
    key = await new_project(fake, epics)
    milestone = CreateMilestoneParams(project_key=key, name="Phase 1")
    epic = await epics.actions()["create_milestone"].execute("deal:9:m1", milestone)
    specs = [
        TaskSpec(ref=f"t{i}", summary=f"Task {i}", milestone=epic.external_id)
        for i in range(40)
    ]
    fake.fail_next_bulk(range(0, 40, 2))
    fake.faults.answer_lost(method="POST", path=f"{ISSUE}/bulk")

    result = await epics.actions()["create_tasks"].execute(
        "deal:9:tasks", CreateTasksParams(project_key=key, tasks=specs)
    )

    labels = [t["fields"]["labels"][0] for t in tasks_in(fake)]
    assert len(result.data["created"]) == len(labels) == len(set(labels)) == 40
    assert {t["fields"]["parent"]["key"] for t in tasks_in(fake)} == {epic.external_id}


# -- a deal as an epic in one shared project (mode = "epic") ------------------

SHARED = "DEL"


@pytest.fixture
def shared(fake: JiraFake, make: Callable[..., JiraConnector]) -> JiraConnector:
    lead = next(iter(fake.site.users))
    fake.site.create_project({"key": SHARED, "name": "Delivery", "leadAccountId": lead})
    return make(mode="epic", shared_project_key=SHARED)


async def test_shared_epic_mode_provision_costs_at_most_eleven_requests(
    fake: JiraFake, shared: JiraConnector
) -> None:
    plan = make_plan(add_team(fake))

    result = await provision(shared, plan)

    routes = fake.log.by_route()
    assert len(fake.log) <= 11, routes
    assert ("POST", "/rest/api/3/project") not in routes
    assert routes[("POST", ISSUE)] == 1
    assert routes[("POST", "/rest/api/3/version")] == 3
    assert fake.log.count(status=429) == 0
    assert list(fake.site.projects) == [SHARED]
    assert result.project.external_id.startswith(f"{SHARED}-")


async def test_shared_epic_mode_puts_every_task_under_the_deal_epic(
    fake: JiraFake, shared: JiraConnector
) -> None:
    plan = make_plan(add_team(fake))

    result = await provision(shared, plan)

    deal_epic = result.project.external_id
    assert [e["key"] for e in epics_in(fake)] == [deal_epic]
    assert len(tasks_in(fake)) == 40
    assert {t["fields"]["parent"]["key"] for t in tasks_in(fake)} == {deal_epic}
    assert all(len(t["fields"]["fixVersions"]) == 1 for t in tasks_in(fake))
    assert len(fake.site.role_actors[(fake.site.project(SHARED)["id"], "10100")]) == 4


async def test_shared_epic_mode_lost_answer_found_and_made_once(
    fake: JiraFake, shared: JiraConnector
) -> None:
    action = shared.actions()["create_project"]
    params = CreateProjectParams(name="Acme portal", client="Acme")
    fake.faults.answer_lost(method="POST", path=ISSUE)

    with pytest.raises(ServiceUnavailable):
        await action.execute("deal:5:project", params)
    found = await action.find("deal:5:project", params)

    assert found is not None
    assert [e["key"] for e in epics_in(fake)] == [found.external_id]
    assert await action.find("deal:6:project", params) is None


async def test_shared_epic_mode_half_failed_bulk_with_lost_answer_makes_each_once(
    fake: JiraFake, shared: JiraConnector
) -> None:
    project = CreateProjectParams(name="Acme portal", client="Acme")
    other = CreateProjectParams(name="Other deal", client="Other")
    epic = await shared.actions()["create_project"].execute("deal:5:project", project)
    await shared.actions()["create_project"].execute("deal:6:project", other)
    specs = [TaskSpec(ref=f"t{i}", summary=f"Task {i}") for i in range(40)]
    fake.fail_next_bulk(range(0, 40, 2))
    fake.faults.answer_lost(method="POST", path=f"{ISSUE}/bulk")

    result = await shared.actions()["create_tasks"].execute(
        "deal:5:tasks",
        CreateTasksParams(project_key=epic.external_id, tasks=specs),
    )

    labels = [t["fields"]["labels"][0] for t in tasks_in(fake)]
    assert len(result.data["created"]) == len(labels) == len(set(labels)) == 40
    assert {t["fields"]["parent"]["key"] for t in tasks_in(fake)} == {epic.external_id}
