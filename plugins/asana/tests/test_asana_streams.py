"""Reading tasks by events between full reads, and progress per section."""

from __future__ import annotations

from collections.abc import Sequence

from asana_helpers import TEAM, ConnectorFactory
from servicesync import VirtualClock
from servicesync.contract import Record, Stream, StreamState
from servicesync_asana import AsanaConnector, section_progress
from servicesync_asana.fake import AsanaFake, FakeProject


def stream(connector: AsanaConnector, name: str) -> Stream:
    return next(s for s in connector.streams() if s.name == name)


async def read(
    connector: AsanaConnector, name: str, state: StreamState | None = None
) -> tuple[list[Record], StreamState]:
    """Read a stream to its end; return the records and the last checkpoint."""
    records: list[Record] = []
    current = state or StreamState()
    async for page in stream(connector, name).read(current):
        records.extend(page.records)
        current = page.checkpoint
    return records, current


def project_with_tasks(fake: AsanaFake, count: int) -> FakeProject:
    space = fake.space
    project = space.create_project({"name": "Delivery", "team": space.team}, None)
    design = space.create_section(project.gid, "Design", None)
    build = space.create_section(project.gid, "Build", None)
    for n in range(count):
        section = design if n % 2 == 0 else build
        space.create_task(
            {
                "name": f"Task {n}",
                "memberships": [{"project": project.gid, "section": section.gid}],
                "assignee": TEAM[n % 4],
                "due_on": f"2026-05-{n + 1:02d}",
            },
            None,
        )
    return project


def ids(records: Sequence[Record]) -> list[str]:
    return [r.external_id for r in records]


async def test_tasks_first_read_is_full_then_events_name_only_changes(
    fake: AsanaFake, connector: AsanaConnector, clock: VirtualClock
) -> None:
    project = project_with_tasks(fake, 12)
    clock.advance(1)
    first, state = await read(connector, "tasks")
    changed = project.tasks[3]
    fake.space.update_task(changed, {"completed": True}, None)
    clock.advance(1)
    fake.log.clear()

    second, _ = await read(connector, "tasks", state)

    assert sorted(ids(first)) == sorted(project.tasks)
    assert ids(second) == [changed]
    assert second[0].payload["completed"] is True
    assert fake.log.count(route="/api/1.0/tasks") == 0, "no listing, only events"
    assert fake.log.count(route="/api/1.0/events", status=200) == 1


async def test_tasks_stale_sync_token_falls_back_to_reading_changes(
    fake: AsanaFake, connector: AsanaConnector, clock: VirtualClock
) -> None:
    project = project_with_tasks(fake, 6)
    clock.advance(120)  # beyond the overlap a full read reaches back over
    _, state = await read(connector, "tasks")
    clock.advance(3600)
    fake.space.update_task(project.tasks[0], {"name": "Renamed"}, None)
    fake.events.expire()
    clock.advance(1)
    fake.log.clear()

    records, after = await read(connector, "tasks", state)

    assert ids(records) == [project.tasks[0]]
    assert fake.log.count(route="/api/1.0/events", status=412) == 1
    assert after.tokens != state.tokens
    assert after.cursor is not None and state.cursor is not None
    assert after.cursor > state.cursor


async def test_tasks_full_read_again_after_reconcile_hours(
    fake: AsanaFake, make: ConnectorFactory, clock: VirtualClock
) -> None:
    project_with_tasks(fake, 4)
    connector = make(reconcile_hours=1)
    clock.advance(1)
    _, state = await read(connector, "tasks")
    clock.advance(2 * 3600)
    fake.log.clear()

    await read(connector, "tasks", state)

    assert fake.log.count(route="/api/1.0/tasks") == 1
    assert fake.log.count(route="/api/1.0/events", status=200) == 0


async def test_tasks_deleted_task_read_as_deleted(
    fake: AsanaFake, connector: AsanaConnector, clock: VirtualClock
) -> None:
    project = project_with_tasks(fake, 3)
    clock.advance(1)
    _, state = await read(connector, "tasks")
    gone = project.tasks[1]
    fake.space.delete_task(gone, None)
    clock.advance(1)

    records, _ = await read(connector, "tasks", state)

    assert [(r.external_id, r.deleted) for r in records] == [(gone, True)]


async def test_tasks_expired_page_token_restarts_the_project(
    fake: AsanaFake, make: ConnectorFactory, clock: VirtualClock
) -> None:
    project = project_with_tasks(fake, 9)
    connector = make(page_size=4)
    clock.advance(1)
    pages = stream(connector, "tasks").read(StreamState())
    first = await anext(pages)
    await pages.aclose()
    clock.advance(2 * 3600)

    rest, _ = await read(connector, "tasks", first.checkpoint)

    assert first.checkpoint.in_window
    assert set(ids(first.records)) | set(ids(rest)) == set(project.tasks)
    assert fake.log.count(route="/api/1.0/tasks", status=400) == 1


async def test_tasks_read_records_again_by_id(
    fake: AsanaFake, connector: AsanaConnector
) -> None:
    project = project_with_tasks(fake, 3)
    wanted = [project.tasks[0], project.tasks[2], "1"]

    found = await stream(connector, "tasks").read_records(wanted)  # type: ignore[attr-defined]

    assert ids(found) == project.tasks[0:3:2]


async def test_progress_counts_done_and_total_per_section(
    fake: AsanaFake, connector: AsanaConnector
) -> None:
    project = project_with_tasks(fake, 6)
    fake.space.update_task(project.tasks[0], {"completed": True}, None)
    fake.space.update_task(project.tasks[1], {"completed": True}, None)

    records, _ = await read(connector, "progress")

    by_name = {r.payload["section"]["name"]: r.payload for r in records}
    assert {n: (p["done"], p["total"]) for n, p in by_name.items()} == {
        "Design": (1, 3),
        "Build": (1, 3),
    }
    assert by_name["Design"]["due_on"] == "2026-05-05"
    assert by_name["Design"]["next_due_on"] == "2026-05-03"
    assert len(by_name["Build"]["assignees"]) == 2


async def test_progress_read_records_reads_the_named_tasks_projects_again(
    fake: AsanaFake, connector: AsanaConnector
) -> None:
    changed = project_with_tasks(fake, 6)
    project_with_tasks(fake, 3)  # another project, which nothing names
    fake.space.update_task(changed.tasks[0], {"completed": True}, None)

    found = await stream(connector, "progress").read_records(  # type: ignore[attr-defined]
        [changed.tasks[0], "1"]
    )

    assert {r.payload["project"]["gid"] for r in found} == {changed.gid}
    assert sorted((r.payload["done"], r.payload["total"]) for r in found) == [
        (0, 3),
        (1, 3),
    ]
    # One batch call for the named tasks, one page of their project's tasks.
    assert fake.log.count(route="/api/1.0/batch") == 1
    assert fake.log.count(route="/api/1.0/projects/{project_gid}/tasks") == 1


async def test_projects_stream_lists_every_project(
    fake: AsanaFake, make: ConnectorFactory
) -> None:
    for n in range(5):
        fake.space.create_project({"name": f"P{n}", "team": fake.space.team}, None)

    records, _ = await read(make(page_size=2), "projects")

    assert sorted(ids(records)) == sorted(fake.space.projects)


def test_section_progress_puts_tasks_without_section_under_the_project() -> None:
    tasks = [
        {"gid": "1", "completed": False, "memberships": [{"project": {"gid": "9"}}]},
        {"gid": "2", "completed": True, "memberships": []},
    ]

    rollups = section_progress("9", tasks)

    assert [(r["gid"], r["done"], r["total"]) for r in rollups] == [("9/none", 1, 2)]
