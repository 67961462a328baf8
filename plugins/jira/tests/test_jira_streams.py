"""Issues are read incrementally by ``updated`` through ``/search/jql``."""

from __future__ import annotations

from servicesync import VirtualClock
from servicesync.contract import Record, StreamState
from servicesync_jira import (
    IssuesStream,
    JiraConnector,
    ProjectsStream,
    milestone_progress,
)
from servicesync_jira.fake import JiraFake


def seed_issues(fake: JiraFake, count: int) -> list[str]:
    lead = next(iter(fake.site.users))
    if "STR" not in fake.site.projects:
        fake.site.create_project(
            {"key": "STR", "name": "Streams", "leadAccountId": lead}
        )
    return [
        fake.issues.create(
            {
                "fields": {
                    "project": {"key": "STR"},
                    "issuetype": {"name": "Task"},
                    "summary": f"Issue {n}",
                }
            }
        )["key"]
        for n in range(count)
    ]


async def read_all(
    stream: IssuesStream, state: StreamState
) -> tuple[list[Record], StreamState]:
    records: list[Record] = []
    async for page in stream.read(state):
        records.extend(page.records)
        state = page.checkpoint
    return records, state


async def test_issues_stream_reads_every_page_with_tokens(
    fake: JiraFake, connector: JiraConnector, clock: VirtualClock
) -> None:
    seed_issues(fake, 250)
    clock.advance(120)

    records, state = await read_all(IssuesStream(connector), StreamState())

    assert len({r.external_id for r in records}) == 250
    assert fake.log.count(route="/rest/api/3/search/jql") == 3
    assert state.cursor is not None and not state.in_window


async def test_issues_stream_second_run_reads_only_changed_issues(
    fake: JiraFake, connector: JiraConnector, clock: VirtualClock
) -> None:
    keys = seed_issues(fake, 30)
    clock.advance(120)
    _, state = await read_all(IssuesStream(connector), StreamState())
    clock.advance(60)
    fake.transition(keys[3], "Done")
    clock.advance(120)

    records, _ = await read_all(IssuesStream(connector), state)

    assert [r.payload["key"] for r in records] == [keys[3]]


async def test_issues_stream_leaves_unsettled_changes_to_the_next_window(
    fake: JiraFake, connector: JiraConnector, clock: VirtualClock
) -> None:
    seed_issues(fake, 3)

    records, _ = await read_all(IssuesStream(connector), StreamState())

    assert records == []


async def test_projects_stream_pages_by_start_at(
    fake: JiraFake, connector: JiraConnector
) -> None:
    lead = next(iter(fake.site.users))
    for n in range(120):
        fake.site.create_project(
            {"key": f"P{n:03d}", "name": f"P {n}", "leadAccountId": lead}
        )

    records = [
        r
        async for page in ProjectsStream(connector).read(StreamState())
        for r in page.records
    ]

    assert len(records) == 120
    assert fake.log.count(route="/rest/api/3/project/search") == 3


def test_milestone_progress_counts_done_by_status_category(fake: JiraFake) -> None:
    keys = seed_issues(fake, 4)
    for key in keys[:3]:
        fake.issues.get(key)["fields"]["parent"] = {"id": "1", "key": "STR-E"}
    fake.issues.transition(keys[0], "Done")
    issues = [fake.issues.render(fake.issues.get(k), ["*all"]) for k in keys]

    progress = milestone_progress(issues)

    assert (progress["STR-E"].done, progress["STR-E"].total) == (1, 3)
