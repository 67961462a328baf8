"""A won deal in the Bitrix24 fake and its Jira project stay consistent both ways.

The worlds are the won-deal flow's (both fakes in process, on the store's
virtual clock), with ``two_way`` on and the deal fields that take the
project's state, progress, next milestone and delivery date. Jira's issue
search shows a change only a minute after it is made, so a test that goes
through the search lets that minute pass; a webhook's re-read does not wait.
What two-way consistency does alike in every delivery tool (the deal's
changes carried forward, echoes, conflicts, merges) is tested once per tool
in ``test_two_way_tools.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from servicesync.config import OwnershipConfig
from servicesync.contract import WebhookRequest
from servicesync.store import Store
from servicesync.store._bases import conflicts
from two_way_world import (
    DEAL_FIELDS,
    JIRA_READS,
    SEARCH_SETTLES,
    STATUS_WORDS,
    JiraEpicTwoWay,
    JiraTwoWay,
    crm_writes,
    with_two_way,
)
from won_deal_worlds import JiraEpicWorld, JiraWorld

WEBHOOK_SECRET = "two-way-hook-secret"

WorldFactory = Callable[..., JiraWorld]


def two_way_world(make_world: WorldFactory, **settings: Any) -> JiraWorld:
    return make_world(
        two_way=True,
        deal_fields=DEAL_FIELDS,
        deal_values={"status": STATUS_WORDS},
        **settings,
    )


async def won_and_settled(
    world: JiraWorld, title: str = "Northwind: data audit"
) -> str:
    """Win a deal, let its project be made and read back; return the deal's id."""
    return await JiraTwoWay(world).won_and_settled(title)


def project_key(world: JiraWorld) -> str:
    return JiraTwoWay(world).key()


async def deal_of(world: JiraWorld, deal: str) -> dict[str, Any]:
    found: dict[str, Any] = await world.call("crm.deal.get", {"id": deal})
    return found


def issues_of(world: JiraWorld, version_name: str) -> list[str]:
    return [
        issue["key"]
        for issue in world.jira.issues.issues.values()
        if any(v["name"] == version_name for v in issue["fields"]["fixVersions"])
    ]


async def jira_call(world: JiraWorld, method: str, path: str, body: Any) -> Any:
    return await JiraTwoWay(world).call_jira(method, path, body)


async def test_two_way_write_back_carries_the_project_to_the_deal(
    make_world: WorldFactory,
) -> None:
    world = two_way_world(make_world)

    deal = await won_and_settled(world)

    fields = await deal_of(world, deal)
    key = project_key(world)
    assert fields["UF_CRM_DELIVERY_STATUS"] == "Planned"
    assert fields["UF_CRM_DELIVERY_PROGRESS"] == "0/4"
    assert fields["UF_CRM_DELIVERY_PERCENT"] == "0"
    assert fields["UF_CRM_DELIVERY_MILESTONE"].startswith("Kick-off: 0/1 done")
    assert fields["UF_CRM_DELIVERY_DATE"] == max(
        v["releaseDate"] for v in world.jira.site.versions.values()
    )
    description = world.jira.site.projects[key]["description"]
    assert description.endswith("[servicesync budget] amount: 48000.00; currency: EUR")


async def test_two_way_progress_from_jira_shows_on_the_deal(
    make_world: WorldFactory,
) -> None:
    world = two_way_world(make_world)
    deal = await won_and_settled(world)
    [kick_off] = issues_of(world, "Kick-off")
    world.jira.transition(kick_off, "Done")
    world.jira.transition(issues_of(world, "Findings report")[0], "In Progress")
    world.store.clock.advance(SEARCH_SETTLES)  # type: ignore[attr-defined]

    await world.engine.sync()

    fields = await deal_of(world, deal)
    assert fields["UF_CRM_DELIVERY_PROGRESS"] == "1/4"
    assert fields["UF_CRM_DELIVERY_PERCENT"] == "25"
    assert fields["UF_CRM_DELIVERY_STATUS"] == "In progress"
    assert fields["UF_CRM_DELIVERY_MILESTONE"].startswith("Findings report: 0/3")
    comments = await world.call(
        "crm.timeline.comment.list",
        {"filter": {"ENTITY_ID": deal, "ENTITY_TYPE": "deal"}},
    )
    reached = [c for c in comments if "'Kick-off'" in c["COMMENT"]]
    assert len(reached) == 1
    assert "was reached: 1/1 tasks done" in reached[0]["COMMENT"]


async def test_two_way_milestone_comment_is_made_once(
    make_world: WorldFactory,
) -> None:
    world = two_way_world(make_world)
    deal = await won_and_settled(world)
    world.jira.transition(issues_of(world, "Kick-off")[0], "Done")
    world.store.clock.advance(SEARCH_SETTLES)  # type: ignore[attr-defined]
    await world.engine.sync()

    fresh = world.new_engine()
    await fresh.sync()
    await fresh.aclose()

    comments = await world.call(
        "crm.timeline.comment.list",
        {"filter": {"ENTITY_ID": deal, "ENTITY_TYPE": "deal"}},
    )
    assert sum("'Kick-off'" in c["COMMENT"] for c in comments) == 1


async def test_two_way_progress_through_a_signed_webhook_within_one_sync(
    make_world: WorldFactory,
) -> None:
    world = two_way_world(make_world)
    await with_webhook_secret(world)
    deal = await won_and_settled(world)
    delivery = await kick_off_done_delivery(world)

    answer = await world.engine.handle_webhook("delivery", delivery)
    await world.engine.sync()

    assert answer.status == 200
    fields = await deal_of(world, deal)
    assert fields["UF_CRM_DELIVERY_PROGRESS"] == "1/4"


async def test_two_way_progress_through_the_daemon_needs_no_search_settle(
    make_world: WorldFactory,
) -> None:
    world = two_way_world(make_world)
    await with_webhook_secret(world)
    deal = await won_and_settled(world)
    handler = world.engine.connector("delivery").webhook_handler()
    assert handler is not None
    answer = await handler.handle(await kick_off_done_delivery(world))

    # A sync of the whole connection reads issues through the search, which
    # does not show the change before it settles; the daemon's queued job
    # syncs the records the delivery names, which it reads by key at once.
    await world.engine.sync("delivery")
    before = (await deal_of(world, deal))["UF_CRM_DELIVERY_PROGRESS"]
    await world.engine.sync("delivery", records=answer.references)
    await world.engine.sync("crm")

    assert before == "0/4"
    assert (await deal_of(world, deal))["UF_CRM_DELIVERY_PROGRESS"] == "1/4"
    [latest] = world.store.recent_runs("delivery", limit=1)
    assert latest.stream == "issues"


async def kick_off_done_delivery(world: JiraWorld) -> WebhookRequest:
    """Finish the Kick-off task in Jira; return the signed delivery Jira posts."""
    sent: list[httpx.Request] = []
    world.jira.subscribe_admin_webhook(
        "https://sync.example.test/webhooks/delivery",
        WEBHOOK_SECRET,
        handler=lambda request: sent.append(request) or httpx.Response(200),
    )
    world.jira.transition(issues_of(world, "Kick-off")[0], "Done")
    await world.jira.webhooks.flush()
    [request] = sent
    return WebhookRequest(
        "POST", str(request.url), dict(request.headers), request.content
    )


async def with_webhook_secret(world: JiraWorld) -> None:
    """Give the Jira connection the secret its admin webhook signs with."""
    delivery = world.config.connections["delivery"]
    settings = {**delivery.settings, "webhook_secret": WEBHOOK_SECRET}
    connections = {
        **world.config.connections,
        "delivery": delivery.model_copy(update={"settings": settings}),
    }
    world.config = world.config.model_copy(update={"connections": connections})
    await world.engine.aclose()
    world.engine = world.new_engine()


async def test_two_way_conflict_on_a_delivery_field_keeps_jira_value(
    make_world: WorldFactory,
) -> None:
    world = two_way_world(make_world)
    deal = await won_and_settled(world)
    versions = sorted(world.jira.site.versions.values(), key=lambda v: v["releaseDate"])
    last = versions[-1]
    moved = date.fromisoformat(last["releaseDate"]) + timedelta(days=10)
    await world.call(
        "crm.deal.update",
        {"id": deal, "fields": {"UF_CRM_DELIVERY_DATE": "2030-01-01"}},
    )
    await jira_call(
        world, "PUT", f"/version/{last['id']}", {"releaseDate": moved.isoformat()}
    )

    await world.engine.sync()

    with world.store.transaction() as tx:
        [conflict] = conflicts(tx)
    assert (conflict.field, conflict.owner) == ("delivery_date", "delivery")
    assert (conflict.crm_value, conflict.delivery_value) == (
        "2030-01-01",
        moved.isoformat(),
    )
    assert (await deal_of(world, deal))["UF_CRM_DELIVERY_DATE"] == moved.isoformat()
    assert world.jira.site.versions[last["id"]]["releaseDate"] == moved.isoformat()


async def test_two_way_revert_sets_a_computed_field_back_with_a_comment(
    make_world: WorldFactory,
) -> None:
    world = two_way_world(make_world, ownership=OwnershipConfig(non_owner="revert"))
    deal = await won_and_settled(world)
    await world.call(
        "crm.deal.update",
        {"id": deal, "fields": {"UF_CRM_DELIVERY_PROGRESS": "4/4"}},
    )

    await world.engine.sync()

    assert (await deal_of(world, deal))["UF_CRM_DELIVERY_PROGRESS"] == "0/4"
    comments = await world.call(
        "crm.timeline.comment.list",
        {"filter": {"ENTITY_ID": deal, "ENTITY_TYPE": "deal"}},
    )
    assert any(
        "'4/4'" in c["COMMENT"] and "set back to '0/4'" in c["COMMENT"]
        for c in comments
    )


@pytest.mark.parametrize("read_only", ["crm", "delivery"])
async def test_two_way_waits_while_a_connection_is_read_only(
    make_world: WorldFactory, read_only: str
) -> None:
    world = two_way_world(make_world)
    deal = await won_and_settled(world)
    world.jira.transition(issues_of(world, "Kick-off")[0], "Done")
    world.store.clock.advance(SEARCH_SETTLES)  # type: ignore[attr-defined]
    world.store.set_control(read_only, read_only=True)
    crm_before = crm_writes(world)

    await world.engine.sync()
    held = (await deal_of(world, deal))["UF_CRM_DELIVERY_PROGRESS"]
    world.store.set_control(read_only, read_only=False)
    await world.engine.sync()

    assert held == "0/4"
    assert crm_writes(world) == crm_before + 2  # the fields, the comment
    assert (await deal_of(world, deal))["UF_CRM_DELIVERY_PROGRESS"] == "1/4"


class Yielding(httpx.AsyncBaseTransport):
    """A transport that lets other tasks run before each request, as a network does.

    ``turns`` is how many times it lets them run: a slow link takes more.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, turns: int = 1) -> None:
        self.inner = inner
        self.turns = turns

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        for _ in range(self.turns):
            await asyncio.sleep(0)
        return await self.inner.handle_async_request(request)


async def test_two_way_in_two_engines_at_once_writes_once(
    make_world: WorldFactory,
) -> None:
    world = two_way_world(make_world)
    deal = await won_and_settled(world)
    world.jira.transition(issues_of(world, "Kick-off")[0], "Done")
    world.store.clock.advance(SEARCH_SETTLES)  # type: ignore[attr-defined]
    world.store.set_control("crm", read_only=True)
    await world.engine.sync()  # reads the progress; the flow waits
    world.store.set_control("crm", read_only=False)
    crm_before, jira_before = crm_writes(world), jira_writes(world)
    # Two daemons on one store, each bringing the flow in line after a sync
    # of its own connection, their calls to the services interleaving.
    # The first one's link is slow: the second would look for its writes
    # before they land, and make them too.
    engines = [world.new_engine(), world.new_engine()]
    for engine, turns in zip(engines, (50, 1), strict=True):
        engine.transports.update(
            crm=Yielding(world.crm.transport(), turns),
            delivery=Yielding(world.jira.transport(), turns),
        )

    await asyncio.gather(
        engines[0].two_way.keep_consistent(["crm"]),
        engines[1].two_way.keep_consistent(["delivery"]),
    )
    for engine in engines:
        await engine.aclose()

    assert crm_writes(world) == crm_before + 2  # the fields, the comment: once
    assert jira_writes(world) == jira_before
    assert (await deal_of(world, deal))["UF_CRM_DELIVERY_PROGRESS"] == "1/4"


def jira_writes(world: JiraWorld) -> int:
    """Count the requests that changed data at the Jira site."""
    return sum(
        1
        for entry in world.jira.log
        if entry.method in ("POST", "PUT", "DELETE") and entry.route not in JIRA_READS
    )


# -- epic mode: a deal is an epic of one shared project ------------------------

SHARED = "DEL"


async def in_epic_mode(world: JiraWorld) -> JiraWorld:
    """Switch the world's Jira connection to epic mode in a shared project."""
    lead = next(iter(world.jira.site.users))
    world.jira.site.create_project(
        {"key": SHARED, "name": "Delivery", "leadAccountId": lead}
    )
    delivery = world.config.connections["delivery"]
    settings = {**delivery.settings, "mode": "epic", "shared_project_key": SHARED}
    connections = {
        **world.config.connections,
        "delivery": delivery.model_copy(update={"settings": settings}),
    }
    world.config = world.config.model_copy(update={"connections": connections})
    await world.engine.aclose()
    world.engine = world.new_engine()
    return world


async def test_two_way_epic_mode_writes_reach_the_deal_epic_once(
    make_world: WorldFactory,
) -> None:
    world = await in_epic_mode(two_way_world(make_world))
    await won_and_settled(world)
    issues = world.jira.issues.issues.values()
    [epic] = [i["key"] for i in issues if i["fields"]["issuetype"]["name"] == "Epic"]
    versions = world.jira.site.versions.values()
    last = max(versions, key=lambda v: v["releaseDate"])
    later = date.fromisoformat(last["releaseDate"]) + timedelta(days=14)
    [flow] = world.engine.flows()
    delivery = world.engine.connector("delivery")
    writes = [
        (
            "update_project",
            "epic:budget",
            {"project_key": epic, "title": "Northwind: audit v2", "amount": "52000"},
        ),
        (
            "update_milestone",
            "epic:date",
            {"project_key": epic, "milestone_id": last["id"], "due": later},
        ),
    ]

    log = world.jira.log
    # The settling syncs wrote the epic's first budget line; count from here.
    before = log.count(method="PUT", route="/rest/api/3/issue/{key}")

    for action, key, params in writes * 2:
        await flow.act(delivery, "delivery", action, key, params)

    fields = world.jira.issues.get(epic)["fields"]
    assert fields["summary"] == "Northwind: audit v2"
    assert "[servicesync budget] amount: 52000.00" in str(fields["description"])
    assert last["releaseDate"] == later.isoformat()
    assert log.count(method="PUT", route="/rest/api/3/issue/{key}") == before + 1
    assert log.count(method="PUT", route="/rest/api/3/version/{id}") == 1
    assert log.count(method="PUT", route="/rest/api/3/project/{key}") == 0


async def test_two_way_epic_mode_reads_milestone_epics_of_the_deal_epic(
    store: Store,
) -> None:
    world = JiraEpicWorld(store, milestones_as="epics")
    world.config = with_two_way(world.config)
    await world.engine.aclose()
    world.engine = world.new_engine()
    pair = JiraEpicTwoWay(world)
    deal = await pair.won_and_settled()
    milestones = [e for e in world.epics() if e["key"] != pair.key()]
    dues = {e["key"]: e["fields"]["duedate"] for e in milestones}
    # Every task hangs under one of the deal's milestone epics.
    parents = {t["fields"]["parent"]["key"] for t in pair.tasks()}

    fields = await deal_of(world, deal)
    assert parents == set(dues)
    assert fields["UF_CRM_DELIVERY_PROGRESS"] == f"0/{pair.task_count()}"
    assert fields["UF_CRM_DELIVERY_DATE"] == max(dues.values())
    assert pair.budget() == {"amount": "48000.00", "currency": "EUR"}

    first = min(dues, key=lambda key: (dues[key], key))
    for task in pair.tasks():
        if task["fields"]["parent"]["key"] == first:
            world.jira.transition(task["key"], "Done")
    later = date.fromisoformat(max(dues.values())) + timedelta(days=7)
    await pair.update_deal(deal, {"UF_CRM_DELIVERY_DATE": later.isoformat()})
    await pair.sync()

    fields = await deal_of(world, deal)
    second = sorted(dues, key=lambda key: (dues[key], key))[1]
    summary = world.jira.issues.get(second)["fields"]["summary"]
    assert fields["UF_CRM_DELIVERY_MILESTONE"].startswith(f"{summary}: 0/")
    assert fields["UF_CRM_DELIVERY_DATE"] == later.isoformat()
    moved = {
        e["key"]: e["fields"]["duedate"] for e in world.epics() if e["key"] in dues
    }
    assert max(moved.values()) == later.isoformat()
