"""A deal lost or reopened after its project exists follows the flow's on_lost policy.

Each test wins a deal in the Bitrix24 fake, so that the flow makes its Jira
project, then moves the deal on and syncs again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from servicesync.domain import Project, ProjectStatus
from servicesync.errors import ConfigError
from servicesync.store import OutboxEvent
from servicesync_jira import MARK_PREFIX
from sqlmodel import select
from won_deal_worlds import JiraWorld

PROJECT = "/rest/api/3/project/{key}"
ARCHIVE = "/rest/api/3/project/{key}/archive"

#: Requests sent with POST that only read.
READS = {
    "/rest/api/3/search/jql",
    "/rest/api/3/issue/bulkfetch",
    "/rest/api/3/worklog/list",
}

MakeWorld = Callable[..., JiraWorld]


async def move(world: JiraWorld, deal: str, stage: str) -> None:
    await world.call("crm.deal.update", {"id": deal, "fields": {"STAGE_ID": stage}})
    await world.engine.sync()


async def won_project(
    world: JiraWorld, title: str = "Northwind: data audit"
) -> tuple[str, str]:
    """Win a new deal; return its Bitrix24 id and its Jira project's key."""
    deal = await world.add_deal(title)
    await world.engine.sync()
    await move(world, deal, "EXECUTING")
    (key,) = world.jira.site.projects
    return deal, key


def comments(world: JiraWorld, deal: str) -> list[str]:
    return [
        c["COMMENT"]
        for c in world.crm.data.comments
        if c["ENTITY_TYPE"] == "deal" and c["ENTITY_ID"] == deal
    ]


def jira_writes(world: JiraWorld) -> int:
    """Count the requests that change something in Jira (searches only read)."""
    return len(
        [
            e
            for e in world.jira.log.filter()
            if e.method in ("POST", "PUT", "DELETE") and e.route not in READS
        ]
    )


def project_status(world: JiraWorld) -> ProjectStatus:
    with world.store.session() as session:
        return session.exec(select(Project)).one().status


def description(world: JiraWorld, key: str) -> str:
    return str(world.jira.site.projects[key]["description"])


def stage_event(world: JiraWorld, stage: str) -> tuple[str, dict[str, Any]]:
    """Return the id and payload of the one event of a move into ``stage``."""
    with world.store.session() as session:
        events = session.exec(select(OutboxEvent)).all()
    (event,) = [e for e in events if e.payload.get("stage") == stage]
    return event.id, dict(event.payload)


async def test_lost_deal_mark_puts_one_visible_mark_on_the_project(
    make_world: MakeWorld,
) -> None:
    world = make_world(on_lost="mark")
    deal, key = await won_project(world)

    await move(world, deal, "LOSE")

    first_line = description(world, key).splitlines()[0]
    assert first_line.startswith(MARK_PREFIX)
    assert "Northwind: data audit" in first_line
    assert world.jira.log.count(method="PUT", route=PROJECT) == 1
    assert world.jira.site.projects[key].get("archived") is None
    assert project_status(world) is ProjectStatus.ON_HOLD
    assert any("marked as lost" in c for c in comments(world, deal))


async def test_lost_deal_mark_happens_once_when_the_flow_runs_twice(
    make_world: MakeWorld,
) -> None:
    world = make_world(on_lost="mark")
    deal, _ = await won_project(world)
    await move(world, deal, "LOSE")
    event_id, payload = stage_event(world, "lost")
    requests_before = len(world.jira.log.filter())
    comments_before = comments(world, deal)

    fresh = world.new_engine()
    await fresh.flows()[0].handle("deal_stage_changed", event_id, payload)
    await fresh.aclose()
    requests_after_handling = len(world.jira.log.filter())
    report = await world.engine.sync()

    # The journal knew the event was handled: Jira was not even asked.
    assert requests_after_handling == requests_before
    assert report.delivered == 0
    assert world.jira.log.count(method="PUT", route=PROJECT) == 1
    assert comments(world, deal) == comments_before


async def test_lost_deal_archive_archives_the_project_once(
    make_world: MakeWorld,
) -> None:
    world = make_world(on_lost="archive")
    deal, key = await won_project(world)

    await move(world, deal, "LOSE")
    event_id, payload = stage_event(world, "lost")
    await world.engine.flows()[0].handle("deal_stage_changed", event_id, payload)
    await world.engine.sync()

    assert world.jira.site.projects[key]["archived"] is not None
    assert world.jira.log.count(method="POST", route=ARCHIVE) == 1
    assert world.jira.log.count(method="PUT", route=PROJECT) == 0
    assert project_status(world) is ProjectStatus.CANCELLED
    assert len([c for c in comments(world, deal) if "archived" in c]) == 1


async def test_lost_deal_archive_after_a_lost_answer_is_not_repeated(
    make_world: MakeWorld,
) -> None:
    world = make_world(on_lost="archive")
    deal, key = await won_project(world)
    world.jira.faults.answer_lost(
        method="POST", path=f"/rest/api/3/project/{key}/archive"
    )

    await move(world, deal, "LOSE")
    archived_unknowing = world.jira.site.projects[key]["archived"] is not None
    world.store.clock.advance(3600)  # past the delivery's retry delay
    delivered = await world.engine.dispatch()

    assert archived_unknowing
    assert delivered == 1
    assert world.jira.log.count(method="POST", route=ARCHIVE) == 1
    assert project_status(world) is ProjectStatus.CANCELLED


async def test_lost_deal_leave_changes_nothing_in_jira_and_says_so(
    make_world: MakeWorld,
) -> None:
    world = make_world(on_lost="leave")
    deal, key = await won_project(world)
    writes_before = jira_writes(world)
    description_before = description(world, key)

    await move(world, deal, "LOSE")

    assert jira_writes(world) == writes_before
    assert description(world, key) == description_before
    assert world.jira.site.projects[key].get("archived") is None
    assert project_status(world) is ProjectStatus.PLANNED
    assert any("left as it is" in c for c in comments(world, deal))


async def test_lost_deal_without_a_project_does_nothing(make_world: MakeWorld) -> None:
    world = make_world(on_lost="archive")
    deal = await world.add_deal("Contoso: data audit")
    await world.engine.sync()

    await move(world, deal, "LOSE")

    assert stage_event(world, "lost")[1]["previous_stage"] == "acquaintance"
    assert world.jira.site.projects == {}
    assert jira_writes(world) == 0
    assert comments(world, deal) == []


async def test_reopened_deal_after_a_mark_has_the_mark_removed(
    make_world: MakeWorld,
) -> None:
    world = make_world(on_lost="mark")
    deal, key = await won_project(world)
    original = description(world, key)
    await move(world, deal, "LOSE")

    await move(world, deal, "NEW")

    assert description(world, key) == original
    assert world.jira.log.count(method="PUT", route=PROJECT) == 2
    assert project_status(world) is ProjectStatus.PLANNED
    assert any("mark was removed" in c for c in comments(world, deal))


async def test_reopened_deal_after_an_archive_leaves_the_project_archived(
    make_world: MakeWorld,
) -> None:
    world = make_world(on_lost="archive")
    deal, key = await won_project(world)
    await move(world, deal, "LOSE")
    writes_after_loss = jira_writes(world)

    await move(world, deal, "NEW")

    assert world.jira.site.projects[key]["archived"] is not None
    assert jira_writes(world) == writes_after_loss
    assert project_status(world) is ProjectStatus.CANCELLED
    assert any("stays archived" in c for c in comments(world, deal))


async def test_reopened_deal_signed_again_makes_no_second_project(
    make_world: MakeWorld,
) -> None:
    world = make_world(on_lost="mark")
    deal, key = await won_project(world)
    await move(world, deal, "LOSE")

    await move(world, deal, "EXECUTING")

    assert list(world.jira.site.projects) == [key]
    assert world.projects_in_jira() == 1
    assert MARK_PREFIX not in description(world, key)


async def test_lost_event_delivered_after_the_deal_reopened_changes_nothing(
    make_world: MakeWorld,
) -> None:
    world = make_world(on_lost="archive")
    _, key = await won_project(world)
    _, payload = stage_event(world, "contract_signed")
    stale = {**payload, "previous_stage": "contract_signed", "stage": "lost"}

    await world.engine.flows()[0].handle("deal_stage_changed", "stale-event", stale)

    assert world.jira.site.projects[key].get("archived") is None
    assert world.jira.log.count(method="POST", route=ARCHIVE) == 0


@pytest.mark.parametrize(
    ("policy", "action"),
    [
        pytest.param("mark", "mark_project", id="mark"),
        pytest.param("archive", "archive_project", id="archive"),
    ],
)
async def test_lost_policy_names_the_action_the_delivery_connector_lacks(
    make_world: MakeWorld, policy: str, action: str
) -> None:
    world = make_world(on_lost=policy)
    deal, key = await won_project(world)
    await world.call("crm.deal.update", {"id": deal, "fields": {"STAGE_ID": "LOSE"}})
    flow = world.engine.flows()[0]
    offered = {k: v for k, v in flow.delivery.actions().items() if k != action}
    flow.delivery.actions = lambda: offered  # type: ignore[method-assign]
    await world.engine.sync()
    event_id, payload = stage_event(world, "lost")

    with pytest.raises(ConfigError, match=f"no action '{action}'"):
        await flow.handle("deal_stage_changed", event_id, payload)
    assert world.jira.site.projects[key].get("archived") is None
