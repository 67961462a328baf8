"""Actions make each object once, in few requests, whatever answers are lost."""

from __future__ import annotations

import math
from datetime import date

import pytest
from asana_helpers import TEAM, ConnectorFactory
from servicesync import VirtualClock
from servicesync.dedup import dedup_token
from servicesync.errors import ServiceUnavailable
from servicesync_asana import (
    MARK_PREFIX,
    AddTeamParams,
    AsanaConnector,
    CreateMilestoneParams,
    CreateProjectParams,
    CreateTasksParams,
    DeliveryPlan,
    MarkProjectParams,
    MilestoneSpec,
    ProjectParams,
    TaskSpec,
    provision,
)
from servicesync_asana.fake import AsanaFake

PROJECT = CreateProjectParams(name="Acme portal", client="Acme Ltd")


def deal_plan(milestones: int = 3, tasks: int = 40) -> DeliveryPlan:
    return DeliveryPlan(
        deal_id="D-1",
        client="Acme Ltd",
        name="Acme portal",
        team=TEAM,
        milestones=[
            MilestoneSpec(ref=f"m{i}", name=f"Phase {i}", due=date(2026, 4, i + 1))
            for i in range(milestones)
        ],
        tasks=[
            TaskSpec(
                ref=f"t{i}",
                summary=f"Task {i}",
                milestone=f"m{i % milestones}",
                assignee_email=TEAM[i % len(TEAM)],
                due=date(2026, 4, 20),
            )
            for i in range(tasks)
        ],
    )


def task_params(project: str, count: int) -> CreateTasksParams:
    return CreateTasksParams(
        project_key=project,
        tasks=[TaskSpec(ref=f"t{i}", summary=f"Task {i}") for i in range(count)],
    )


async def make_project(connector: AsanaConnector) -> str:
    made = await connector.actions()["create_project"].execute(
        "deal:1:project", PROJECT
    )
    return made.external_id


async def test_provision_costs_one_request_per_ten_writes(
    fake: AsanaFake, connector: AsanaConnector
) -> None:
    result = await provision(connector, deal_plan())

    budget = 1 + math.ceil(3 / 10) + math.ceil(40 / 10) + 1
    assert len(fake.log) <= budget
    assert len(fake.log) == 7
    project = fake.space.projects[result.project.external_id]
    assert len(project.tasks) == 40
    assert {fake.space.users[m].email for m in project.members} >= set(TEAM)
    named = {fake.space.sections[s].name for s in project.sections}
    assert {"Phase 0", "Phase 1", "Phase 2"} <= named


async def test_provision_puts_tasks_in_sections_with_assignees_and_dates(
    fake: AsanaFake, connector: AsanaConnector
) -> None:
    result = await provision(connector, deal_plan(milestones=2, tasks=4))

    sections = result.sections
    for ref, gid in result.tasks.data["created"].items():
        task = fake.space.tasks[gid]
        number = int(ref[1:])
        assert task.memberships[0][1] == sections[f"m{number % 2}"]
        assert fake.space.users[str(task.assignee)].email == TEAM[number % 4]
        assert task.due_on == "2026-04-20"


async def test_provision_from_template_follows_the_job_to_the_end(
    fake: AsanaFake, make: ConnectorFactory, clock: VirtualClock
) -> None:
    template = fake.space.add_template(
        "Delivery", ["Phase 0"], [("Kick-off", "Phase 0")]
    )
    connector = make(project_template=template.gid)

    result = await provision(connector, deal_plan(milestones=3, tasks=10))

    project = fake.space.projects[result.project.external_id]
    assert clock.monotonic() >= fake.space.job_seconds, "the job was waited for"
    assert fake.log.count(method="POST", route="/api/1.0/projects") == 0
    assert dedup_token("deal:D-1:project") in project.name
    names = [fake.space.sections[s].name for s in project.sections]
    assert names.count("Phase 0") == 1, "the template's section is reused"
    assert len(project.tasks) == 1 + 10
    # The job and two polls (each also reading the sections), one batch of
    # sections, one of tasks, and the members.
    assert len(fake.log) == 1 + 2 + 1 + 1 + 1
    assert fake.log.count(route="/api/1.0/projects/{project_gid}/sections") == 0


async def test_create_project_lost_answer_recovered_by_listing(
    fake: AsanaFake, connector: AsanaConnector
) -> None:
    fake.faults.answer_lost(method="POST", path="/api/1.0/projects")

    made = await connector.actions()["create_project"].execute(
        "deal:1:project", PROJECT
    )

    assert list(fake.space.projects) == [made.external_id]
    assert fake.log.count(method="POST", route="/api/1.0/projects") == 1
    assert fake.log.count(method="GET", route="/api/1.0/teams/{team_gid}/projects") == 1


async def test_create_project_found_on_a_new_connection_after_a_failed_attempt(
    fake: AsanaFake, connector: AsanaConnector, make: ConnectorFactory
) -> None:
    fake.faults.answer_lost(method="POST", path="/api/1.0/projects")
    fake.faults.add("error", method="GET", status=503, times=6)
    with pytest.raises(ServiceUnavailable):
        await connector.actions()["create_project"].execute("deal:1:project", PROJECT)

    found = await make().actions()["create_project"].find("deal:1:project", PROJECT)

    assert found is not None
    assert list(fake.space.projects) == [found.external_id]


async def test_create_project_never_adopts_an_unmarked_namesake(
    fake: AsanaFake, connector: AsanaConnector
) -> None:
    fake.space.create_project({"name": PROJECT.name, "team": fake.space.team}, None)

    found = await connector.actions()["create_project"].find("deal:1:project", PROJECT)

    assert found is None


async def test_create_project_template_job_lost_answer_found_by_name(
    fake: AsanaFake, make: ConnectorFactory
) -> None:
    template = fake.space.add_template("Delivery", [], [])
    connector = make(project_template=template.gid)
    fake.faults.answer_lost(
        method="POST",
        path="/api/1.0/project_templates/{project_template_gid}/instantiateProject",
    )

    made = await connector.actions()["create_project"].execute(
        "deal:1:project", PROJECT
    )

    assert list(fake.space.projects) == [made.external_id]


async def test_create_tasks_lost_batch_answer_settled_without_duplicates(
    fake: AsanaFake, connector: AsanaConnector
) -> None:
    project = await make_project(connector)
    fake.faults.answer_lost(method="POST", path="/api/1.0/batch")

    result = await connector.actions()["create_tasks"].execute(
        "deal:1:tasks", task_params(project, 25)
    )

    assert len(result.data["created"]) == 25
    assert len(fake.space.projects[project].tasks) == 25
    assert fake.log.count(method="POST", route="/api/1.0/batch") == 3
    assert (
        fake.log.count(method="GET", route="/api/1.0/projects/{project_gid}/tasks") == 1
    )


async def test_create_tasks_failed_actions_settled_and_sent_again(
    fake: AsanaFake, connector: AsanaConnector
) -> None:
    project = await make_project(connector)
    fake.fail_next_actions([1, 4], status=500)

    result = await connector.actions()["create_tasks"].execute(
        "deal:1:tasks", task_params(project, 10)
    )

    assert len(result.data["created"]) == 10
    assert len(fake.space.projects[project].tasks) == 10
    assert fake.log.count(method="POST", route="/api/1.0/batch") == 2


async def test_create_tasks_repeat_sends_only_what_is_missing(
    fake: AsanaFake, connector: AsanaConnector, make: ConnectorFactory
) -> None:
    project = await make_project(connector)
    await connector.actions()["create_tasks"].execute(
        "deal:1:tasks", task_params(project, 5)
    )
    fake.log.clear()

    fresh = make()
    found = await fresh.actions()["create_tasks"].find(
        "deal:1:tasks", task_params(project, 12)
    )
    again = await fresh.actions()["create_tasks"].execute(
        "deal:1:tasks", task_params(project, 12)
    )

    assert found is None
    assert len(again.data["created"]) == 12
    assert len(fake.space.projects[project].tasks) == 12


async def test_create_tasks_unknown_assignee_left_unassigned_and_reported(
    fake: AsanaFake, connector: AsanaConnector
) -> None:
    project = await make_project(connector)
    params = CreateTasksParams(
        project_key=project,
        tasks=[
            TaskSpec(ref="a", summary="A", assignee_email="ghost@nowhere.test"),
            TaskSpec(ref="b", summary="B", assignee_email=TEAM[0]),
        ],
    )

    result = await connector.actions()["create_tasks"].execute("deal:1:tasks", params)

    assert result.data["unassigned"] == {"a": "ghost@nowhere.test"}
    task = fake.space.tasks[result.data["created"]["a"]]
    assert task.assignee is None
    assert len(fake.space.projects[project].tasks) == 2


async def test_milestones_one_by_one_then_tasks_find_their_sections_without_a_lookup(
    fake: AsanaFake, connector: AsanaConnector
) -> None:
    project = await make_project(connector)
    for name in ("Design", "Build"):
        await connector.actions()["create_milestone"].execute(
            f"deal:1:milestone:{name}",
            CreateMilestoneParams(project_key=project, name=name),
        )
    params = CreateTasksParams(
        project_key=project,
        tasks=[TaskSpec(ref="t", summary="T", milestone="Build")],
    )

    result = await connector.actions()["create_tasks"].execute("deal:1:tasks", params)

    task = fake.space.tasks[result.data["created"]["t"]]
    assert fake.space.sections[str(task.memberships[0][1])].name == "Build"
    assert fake.log.count(route="/api/1.0/projects/{project_gid}/sections") == 0


async def test_create_milestone_found_again_by_name(
    fake: AsanaFake, connector: AsanaConnector, make: ConnectorFactory
) -> None:
    project = await make_project(connector)
    params = CreateMilestoneParams(project_key=project, name="Design")
    made = await connector.actions()["create_milestone"].execute("k", params)

    found = await make(page_size=1).actions()["create_milestone"].find("k", params)

    assert found is not None and found.external_id == made.external_id


async def test_add_team_with_a_stranger_adds_the_others_and_reports_them(
    fake: AsanaFake, connector: AsanaConnector
) -> None:
    project = await make_project(connector)
    params = AddTeamParams(project_key=project, emails=[*TEAM, "stranger@else.test"])

    result = await connector.actions()["add_team"].execute("deal:1:team", params)
    found = await connector.actions()["add_team"].find("deal:1:team", params)

    members = {fake.space.users[m].email for m in fake.space.projects[project].members}
    assert set(TEAM) <= members
    assert result.data["unresolved"] == ["stranger@else.test"]
    assert found is not None


async def test_rate_limit_429_waited_out_and_nothing_made_twice(
    fake: AsanaFake, connector: AsanaConnector, clock: VirtualClock
) -> None:
    project = await make_project(connector)
    fake.set_budget(15)
    started = clock.monotonic()

    result = await connector.actions()["create_tasks"].execute(
        "deal:1:tasks", task_params(project, 40)
    )

    assert len(result.data["created"]) == 40
    assert len(fake.space.projects[project].tasks) == 40
    assert fake.log.count(status=429) >= 1
    assert clock.monotonic() - started >= 120, "three minutes of budget were needed"


async def test_mark_then_unmark_leaves_the_notes_as_they_were(
    fake: AsanaFake, connector: AsanaConnector
) -> None:
    project = await make_project(connector)
    before = fake.space.projects[project].notes
    actions = connector.actions()
    mark = MarkProjectParams(project_key=project, note="Deal lost on 2026-02-01.")

    await actions["mark_project"].execute("lost:1", mark)
    await actions["mark_project"].execute("lost:1", mark)
    marked = fake.space.projects[project].notes
    found = await actions["mark_project"].find("lost:1", mark)
    await actions["unmark_project"].execute(
        "reopened:1", ProjectParams(project_key=project)
    )

    assert marked.splitlines()[0] == f"{MARK_PREFIX} Deal lost on 2026-02-01."
    assert marked.count(MARK_PREFIX) == 1
    assert found is not None
    assert fake.space.projects[project].notes == before
    assert fake.log.count(method="PUT", route="/api/1.0/projects/{project_gid}") == 2


async def test_archive_project_archives_once(
    fake: AsanaFake, connector: AsanaConnector
) -> None:
    project = await make_project(connector)
    params = ProjectParams(project_key=project)

    await connector.actions()["archive_project"].execute("lost:1", params)
    again = await connector.actions()["archive_project"].execute("lost:1", params)

    assert fake.space.projects[project].archived
    assert again.data["archived"] is True
    assert fake.log.count(method="PUT", route="/api/1.0/projects/{project_gid}") == 1
