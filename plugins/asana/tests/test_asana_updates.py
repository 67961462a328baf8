"""Changing a project after it was made, and reading it back as delivery items."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal

import pytest
from asana_helpers import ConnectorFactory
from servicesync.contract import StreamState
from servicesync.engine import perform
from servicesync.errors import ConnectorError, RecordError, RetryableError
from servicesync.store import Store
from servicesync.store.testing import (
    _postgres_engine,
    _sqlite_engine,
    store,
    store_backend,
)
from servicesync_asana import (
    AsanaConnector,
    CreateProjectParams,
    DeliveryPlan,
    MilestoneSpec,
    ProgressStream,
    ProjectsStream,
    TaskSpec,
    UpdateMilestoneParams,
    UpdateProjectParams,
    provision,
)
from servicesync_asana.fake import AsanaFake

# The store's fixtures, for the tests that go through the action journal.
__all__ = ["_postgres_engine", "_sqlite_engine", "store", "store_backend"]

PROJECT_ROUTE = "/api/1.0/projects/{project_gid}"
BATCH = "/api/1.0/batch"
#: The due dates of the tasks of the section ``Build``, by task ref.
BUILD_DUES = {"a": date(2026, 3, 2), "b": date(2026, 3, 5), "c": date(2026, 3, 10)}


def plan() -> DeliveryPlan:
    """A project with a dated section ``Build`` and an undated ``Later``."""
    tasks = [
        TaskSpec(ref=ref, summary=f"Task {ref}", milestone="build", due=due)
        for ref, due in BUILD_DUES.items()
    ]
    tasks.append(TaskSpec(ref="d", summary="Task d", milestone="later"))
    return DeliveryPlan(
        deal_id="D-1",
        client="Acme Ltd",
        name="Acme portal",
        description="The customer portal.",
        milestones=[
            MilestoneSpec(ref="build", name="Build"),
            MilestoneSpec(ref="later", name="Later"),
        ],
        tasks=tasks,
    )


async def laid_out(connector: AsanaConnector) -> tuple[str, dict[str, str]]:
    """Lay out :func:`plan`; return the project's gid and its sections by ref."""
    made = await provision(connector, plan())
    return made.project.external_id, made.sections


def dues(fake: AsanaFake, section: str) -> dict[str, str | None]:
    """Return the ``due_on`` of each task of ``section`` in the fake, by name."""
    return {
        task.name: task.due_on
        for task in fake.space.tasks.values()
        if any(s == section for _, s in task.memberships)
    }


async def test_update_project_sets_the_budget_line_and_keeps_the_rest(
    fake: AsanaFake, connector: AsanaConnector
) -> None:
    gid, _ = await laid_out(connector)
    params = UpdateProjectParams(
        project_key=gid, title="Acme web portal", amount=Decimal("1200.5"), scope=40
    )

    result = await connector.actions()["update_project"].execute("deal:1:u1", params)

    project = fake.space.projects[gid]
    assert project.name == "Acme web portal"
    lines = project.notes.splitlines()
    assert lines[0] == "The customer portal."
    assert lines[-1] == "[servicesync budget] amount: 1200.50; scope: 40.00"
    assert "[servicesync:" in project.notes
    assert result.external_id == gid
    assert result.data["name"] == "Acme web portal"


async def test_update_project_again_with_the_same_values_writes_nothing(
    fake: AsanaFake, connector: AsanaConnector
) -> None:
    gid, _ = await laid_out(connector)
    action = connector.actions()["update_project"]
    params = UpdateProjectParams(project_key=gid, amount=Decimal(900), currency="EUR")
    await action.execute("deal:1:u2", params)
    puts = fake.log.count(method="PUT", route=PROJECT_ROUTE)

    found = await action.find("deal:1:u2", params)
    again = await action.execute("deal:1:u3", params)

    assert puts == 1
    assert found is not None and again.external_id == gid
    assert fake.log.count(method="PUT", route=PROJECT_ROUTE) == puts


async def test_update_project_after_a_lost_answer_writes_nothing_more(
    fake: AsanaFake, connector: AsanaConnector
) -> None:
    gid, _ = await laid_out(connector)
    action = connector.actions()["update_project"]
    params = UpdateProjectParams(project_key=gid, title="Acme portal v2")
    fake.faults.answer_lost(method="PUT", path=f"/api/1.0/projects/{gid}")
    await action.execute("deal:1:u4", params)  # the client sends the PUT again
    puts = fake.log.count(method="PUT", route=PROJECT_ROUTE)

    found = await action.find("deal:1:u4", params)
    again = await action.execute("deal:1:u4", params)

    assert found is not None and again.external_id == gid
    assert fake.log.count(method="PUT", route=PROJECT_ROUTE) == puts
    assert fake.space.projects[gid].name == "Acme portal v2"


async def test_update_project_from_a_template_keeps_its_marker(
    fake: AsanaFake, make: ConnectorFactory
) -> None:
    template = fake.space.add_template("Delivery", ["Build"], [("Kick-off", "Build")])
    connector = make(project_template=template.gid, job_poll_seconds=5)
    made = await connector.actions()["create_project"].execute(
        "deal:2:project", CreateProjectParams(name="Globex app")
    )
    marked = fake.space.projects[made.external_id].name
    params = UpdateProjectParams(project_key=made.external_id, title="Globex mobile")

    await connector.actions()["update_project"].execute("deal:2:u1", params)

    name = fake.space.projects[made.external_id].name
    assert marked.startswith("Globex app [ss-")
    assert name == "Globex mobile" + marked.removeprefix("Globex app")
    assert await connector.actions()["create_project"].find(
        "deal:2:project", CreateProjectParams(name="Globex app")
    )


async def test_update_project_of_an_unknown_project_says_so(
    connector: AsanaConnector,
) -> None:
    params = UpdateProjectParams(project_key="1209999999999999", amount=Decimal(1))

    with pytest.raises(RecordError, match="project: Unknown object"):
        await connector.actions()["update_project"].execute("deal:1:u5", params)


async def test_update_milestone_moves_every_dated_task_of_the_section(
    fake: AsanaFake, connector: AsanaConnector
) -> None:
    gid, sections = await laid_out(connector)
    action = connector.actions()["update_milestone"]
    params = UpdateMilestoneParams(
        project_key=gid, milestone_id=sections["build"], due=date(2026, 3, 17)
    )

    result = await action.execute("deal:1:m1", params)

    assert dues(fake, sections["build"]) == {
        "Task a": "2026-03-09",
        "Task b": "2026-03-12",
        "Task c": "2026-03-17",
    }
    assert dues(fake, sections["later"]) == {"Task d": None}
    assert result.external_id == sections["build"]
    assert result.data == {"kind": "section", "due": "2026-03-17"}


async def test_update_milestone_again_with_the_same_date_writes_nothing(
    fake: AsanaFake, connector: AsanaConnector
) -> None:
    gid, sections = await laid_out(connector)
    action = connector.actions()["update_milestone"]
    params = UpdateMilestoneParams(
        project_key=gid, milestone_id=sections["build"], due=date(2026, 3, 17)
    )
    await action.execute("deal:1:m2", params)
    batches = fake.log.count(method="POST", route=BATCH)

    found = await action.find("deal:1:m2", params)
    again = await action.execute("deal:1:m3", params)

    assert found is not None and found.data["due"] == "2026-03-17"
    assert again.data["due"] == "2026-03-17"
    assert fake.log.count(method="POST", route=BATCH) == batches


async def test_update_milestone_half_done_is_finished_not_moved_twice(
    fake: AsanaFake, connector: AsanaConnector
) -> None:
    gid, sections = await laid_out(connector)
    action = connector.actions()["update_milestone"]
    params = UpdateMilestoneParams(
        project_key=gid, milestone_id=sections["build"], due=date(2026, 3, 17)
    )
    fake.fail_next_actions([1], status=503)  # the second move fails, unapplied

    with pytest.raises(RetryableError):
        await action.execute("deal:1:m4", params)
    half = dues(fake, sections["build"])
    missed = await action.find("deal:1:m4", params)
    await action.execute("deal:1:m4", params)

    assert half == {
        "Task a": "2026-03-09",
        "Task b": "2026-03-05",
        "Task c": "2026-03-10",
    }
    assert missed is None
    assert dues(fake, sections["build"]) == {
        "Task a": "2026-03-09",
        "Task b": "2026-03-12",
        "Task c": "2026-03-17",
    }


def due_changes(fake: AsanaFake) -> Counter[str]:
    """Count the due date changes Asana applied, by task name."""
    return Counter(
        entry.event["resource"]["name"]
        for entry in fake.events.entries
        if entry.event.get("change", {}).get("field") == "due_on"
    )


async def test_update_milestone_partly_refused_stays_pending_then_moves_each_once(
    fake: AsanaFake, connector: AsanaConnector, store: Store
) -> None:
    gid, sections = await laid_out(connector)
    action = connector.actions()["update_milestone"]
    params = UpdateMilestoneParams(
        project_key=gid, milestone_id=sections["build"], due=date(2026, 3, 17)
    )
    batches = fake.log.count(method="POST", route=BATCH)
    fake.fail_next_actions([0], status=400)  # the first move is refused

    with pytest.raises(ConnectorError, match="1 items failed"):
        await perform(store, "asana", action, "deal:1:m8", params)
    entry = store.journal_find("deal:1:m8")
    half = dues(fake, sections["build"])
    await perform(store, "asana", action, "deal:1:m8", params)

    assert entry is not None and entry.status == "pending"
    # Task b moved despite the refusal; task c, which ends the section, waited.
    assert half == {
        "Task a": "2026-03-02",
        "Task b": "2026-03-12",
        "Task c": "2026-03-10",
    }
    assert dues(fake, sections["build"]) == {
        "Task a": "2026-03-09",
        "Task b": "2026-03-12",
        "Task c": "2026-03-17",
    }
    done = store.journal_find("deal:1:m8")
    assert done is not None and done.status == "confirmed"
    assert due_changes(fake) == {"Task a": 1, "Task b": 1, "Task c": 1}
    # [a, b] first; then [a] and, once it took, [c] on its own.
    assert fake.log.count(method="POST", route=BATCH) == batches + 3


async def test_update_milestone_refused_at_the_end_is_finished_next_time(
    fake: AsanaFake, connector: AsanaConnector, store: Store
) -> None:
    gid, sections = await laid_out(connector)
    action = connector.actions()["update_milestone"]
    [last] = [t for t in fake.space.tasks.values() if t.name == "Task d"]
    last.due_on = "2026-04-01"  # the only dated task of the section
    params = UpdateMilestoneParams(
        project_key=gid, milestone_id=sections["later"], due=date(2026, 4, 8)
    )
    fake.fail_next_actions([0], status=404)

    with pytest.raises(ConnectorError, match="1 items failed"):
        await perform(store, "asana", action, "deal:1:m9", params)
    found = await action.find("deal:1:m9", params)
    result = await perform(store, "asana", action, "deal:1:m9", params)

    assert found is None
    assert result.data["due"] == "2026-04-08" and result.failed == {}
    assert due_changes(fake) == {"Task d": 1}


async def test_update_milestone_renames_the_section(
    fake: AsanaFake, connector: AsanaConnector
) -> None:
    gid, sections = await laid_out(connector)
    action = connector.actions()["update_milestone"]
    params = UpdateMilestoneParams(
        project_key=gid, milestone_id=sections["build"], name="Build and test"
    )

    await action.execute("deal:1:m5", params)
    again = await action.find("deal:1:m5", params)

    assert fake.space.sections[sections["build"]].name == "Build and test"
    assert connector.sections.known(gid)["Build and test"] == sections["build"]
    assert "Build" not in connector.sections.known(gid)
    assert again is not None
    assert fake.log.count(method="PUT", route="/api/1.0/sections/{section_gid}") == 1


async def test_update_milestone_of_a_section_elsewhere_says_so(
    connector: AsanaConnector,
) -> None:
    gid, _ = await laid_out(connector)
    other = await provision(connector, plan().model_copy(update={"deal_id": "D-2"}))
    params = UpdateMilestoneParams(
        project_key=gid, milestone_id=other.sections["build"], due=date(2026, 4, 1)
    )

    with pytest.raises(RecordError, match="has no section"):
        await connector.actions()["update_milestone"].execute("deal:1:m6", params)


async def test_update_milestone_without_dated_tasks_says_there_is_no_date(
    fake: AsanaFake, connector: AsanaConnector
) -> None:
    gid, sections = await laid_out(connector)
    params = UpdateMilestoneParams(
        project_key=gid, milestone_id=sections["later"], due=date(2026, 4, 1)
    )

    with pytest.raises(RecordError, match="no task with a due date"):
        await connector.actions()["update_milestone"].execute("deal:1:m7", params)
    assert dues(fake, sections["later"]) == {"Task d": None}


async def test_fake_section_update_refuses_an_empty_name(
    fake: AsanaFake, connector: AsanaConnector
) -> None:
    _, sections = await laid_out(connector)

    response = await connector.api.http.put(
        f"/sections/{sections['build']}", json={"data": {"name": ""}}
    )

    assert response.status_code == 400, response.text
    assert "name" in response.json()["errors"][0]["message"]
    assert fake.space.sections[sections["build"]].name == "Build"


async def test_delivery_items_read_title_budget_and_section_due(
    connector: AsanaConnector,
) -> None:
    gid, sections = await laid_out(connector)
    update = UpdateProjectParams(project_key=gid, amount=Decimal(10), currency="EUR")
    await connector.actions()["update_project"].execute("deal:1:u6", update)

    [projects] = [p async for p in ProjectsStream(connector).read(StreamState())]
    [rollups] = [p async for p in ProgressStream(connector).read(StreamState())]
    whole = connector.delivery_item("projects", projects.records[0].payload)
    milestones = [
        connector.delivery_item("progress", r.payload) for r in rollups.records
    ]

    assert whole is not None and whole.values == {
        "amount": "10.00",
        "currency": "EUR",
        "title": "Acme portal",
    }
    build = next(m for m in milestones if m and m.external_id == sections["build"])
    assert build.due == max(BUILD_DUES.values())
