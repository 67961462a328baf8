"""Laying out a deal costs one request per object made, paced under the limits."""

from __future__ import annotations

from datetime import date

from servicesync import VirtualClock
from servicesync.contract import ActionResult
from servicesync_sdk.testing import MemoryBudgets, MemoryPluginState
from servicesync_trello import (
    AddTeamParams,
    CreateMilestoneParams,
    CreateProjectParams,
    CreateTasksParams,
    TaskSpec,
    TrelloConnector,
)
from servicesync_trello.fake import TrelloFake
from trello_helpers import make_connector

PHASES = ["Discovery", "Build", "Handover"]


def team(fake: TrelloFake, size: int = 4) -> list[str]:
    emails = [f"dev{n}@acme.test" for n in range(size)]
    for n, email in enumerate(emails):
        fake.add_member(f"dev{n}", f"Dev {n}", email)
    return emails


async def lay_out(
    connector: TrelloConnector, emails: list[str], tasks: int
) -> ActionResult:
    """Run the four delivery actions as the won-deal flow does."""
    actions = connector.actions()
    board = await actions["create_project"].execute(
        "deal:7:project",
        CreateProjectParams(name="Acme portal", client="Acme", description="Portal"),
    )
    for n, phase in enumerate(PHASES, start=1):
        await actions["create_milestone"].execute(
            f"deal:7:milestone:{phase}",
            CreateMilestoneParams(
                project_key=board.external_id, name=phase, due=date(2026, 3, n)
            ),
        )
    specs = [
        TaskSpec(
            ref=f"t{n}",
            summary=f"Task {n}",
            milestone=PHASES[n % 3],
            assignee_email=emails[n % len(emails)],
            due=date(2026, 2, 1 + n % 28),
        )
        for n in range(tasks)
    ]
    await actions["create_tasks"].execute(
        "deal:7:tasks", CreateTasksParams(project_key=board.external_id, tasks=specs)
    )
    await actions["add_team"].execute(
        "deal:7:team", AddTeamParams(project_key=board.external_id, emails=emails)
    )
    return board


async def test_layout_costs_one_request_per_board_list_card_and_member(
    fake: TrelloFake, connector: TrelloConnector
) -> None:
    emails = team(fake)

    await lay_out(connector, emails, tasks=40)

    routes = fake.log.by_route()
    assert len(fake.log) <= 1 + 3 + 40 + 4, routes
    assert routes[("POST", "/1/boards/")] == 1
    assert routes[("POST", "/1/lists")] == 3
    assert routes[("POST", "/1/cards")] == 40
    assert routes[("PUT", "/1/boards/{id}/members")] == 4
    assert fake.log.count(status=429) == 0


async def test_layout_puts_every_card_in_its_list_with_due_date_and_member(
    fake: TrelloFake, connector: TrelloConnector
) -> None:
    emails = team(fake)

    board = await lay_out(connector, emails, tasks=40)

    lists = {x["id"]: x["name"] for x in fake.state.lists_of(board.external_id, "all")}
    cards = fake.state.cards_of(board.external_id, "all")
    assert sorted(lists.values()) == sorted(PHASES)
    assert len(cards) == 40
    for card in cards:
        number = int(card["name"].split()[-1])
        assert lists[card["idList"]] == PHASES[number % 3]
        assert card["due"].startswith(f"2026-02-{1 + number % 28:02d}")
        member = fake.state.emails[emails[number % 4]]
        assert card["idMembers"] == [member]


async def test_layout_of_many_cards_waits_for_the_window_instead_of_meeting_429(
    fake: TrelloFake, clock: VirtualClock, connector: TrelloConnector
) -> None:
    emails = team(fake)
    start = clock.monotonic()

    await lay_out(connector, emails, tasks=250)

    sent = len(fake.log)
    assert sent == 1 + 3 + 250 + 4
    assert fake.log.count(status=429) == 0
    # 258 requests at 100 per 10 seconds need two further windows.
    assert clock.monotonic() - start >= 20.0


async def test_tokens_of_one_key_share_its_budget_without_429(
    fake: TrelloFake, clock: VirtualClock
) -> None:
    budgets = MemoryBudgets()
    key = fake.connection_settings()["api_key"]
    tokens = [
        fake.issue_token(fake.add_member(f"bot{n}", f"Bot {n}", f"bot{n}@x.test"), key)
        for n in range(4)
    ]
    connectors = [
        make_connector(fake, clock, MemoryPluginState(), budgets=budgets, token=t)
        for t in tokens
    ]
    start = clock.monotonic()

    # 360 requests: under 100 per token, but over the key's 300 per window.
    for n in range(360):
        await connectors[n % 4].boards()
    for item in connectors:
        await item.aclose()

    assert len(fake.log) == 360
    assert fake.log.count(status=429) == 0
    assert clock.monotonic() - start >= 10.0
