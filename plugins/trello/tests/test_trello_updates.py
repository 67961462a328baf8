"""Changing a board after it was made, and reading it back as delivery items."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from servicesync.contract import StreamState
from servicesync.engine import perform, project_view
from servicesync.errors import ConnectorError, RecordError, RetryableError
from servicesync.store import Store
from servicesync_trello import (
    CreateMilestoneParams,
    CreateProjectParams,
    CreateTasksParams,
    TaskSpec,
    TrelloConnector,
    UpdateMilestoneParams,
    UpdateProjectParams,
)
from servicesync_trello.fake import TrelloFake

BOARD_ROUTE = "/1/boards/{id}"
CARD_ROUTE = "/1/cards/{id}"
#: The due dates of the cards of the list ``Build``, by task ref.
BUILD_DUES = {"a": date(2026, 3, 2), "b": date(2026, 3, 5), "c": date(2026, 3, 10)}


async def laid_out(connector: TrelloConnector, deal: str = "1") -> dict[str, str]:
    """Make a board with a dated list ``Build`` and an undated ``Later``.

    Returns the board's id (``board``) and each list's id, by name.
    """
    actions = connector.actions()
    board = await actions["create_project"].execute(
        f"deal:{deal}:project",
        CreateProjectParams(name="Acme portal", client="Acme", description="Portal"),
    )
    made = {"board": board.external_id}
    for name in ("Build", "Later"):
        result = await actions["create_milestone"].execute(
            f"deal:{deal}:milestone:{name}",
            CreateMilestoneParams(project_key=board.external_id, name=name),
        )
        made[name] = result.external_id
    specs = [
        TaskSpec(ref=ref, summary=f"Card {ref}", milestone="Build", due=due)
        for ref, due in BUILD_DUES.items()
    ]
    specs.append(TaskSpec(ref="d", summary="Card d", milestone="Later"))
    await actions["create_tasks"].execute(
        f"deal:{deal}:tasks",
        CreateTasksParams(project_key=board.external_id, tasks=specs),
    )
    return made


def dues(fake: TrelloFake, list_id: str) -> dict[str, str | None]:
    """Return the ``due`` of each card of the list in the fake, by name."""
    return {
        card["name"]: card["due"]
        for card in fake.state.cards.values()
        if card["idList"] == list_id
    }


def move(made: dict[str, str], due: date, name: str = "Build") -> UpdateMilestoneParams:
    return UpdateMilestoneParams(
        project_key=made["board"], milestone_id=made[name], due=due
    )


async def test_update_project_sets_the_budget_line_and_keeps_the_rest(
    fake: TrelloFake, connector: TrelloConnector
) -> None:
    made = await laid_out(connector)
    params = UpdateProjectParams(
        project_key=made["board"],
        title="Acme web portal",
        amount=Decimal("1200.5"),
        scope=40,
    )

    result = await connector.actions()["update_project"].execute("deal:1:u1", params)

    board = fake.state.boards[made["board"]]
    assert board["name"] == "Acme web portal"
    lines = board["desc"].splitlines()
    assert lines[0] == "Portal"
    assert lines[-1] == "[servicesync budget] amount: 1200.50; scope: 40.00"
    assert "[servicesync:" in board["desc"]
    assert result.external_id == made["board"]
    assert result.url == board["shortUrl"]


async def test_update_project_again_with_the_same_values_writes_nothing(
    fake: TrelloFake, connector: TrelloConnector
) -> None:
    made = await laid_out(connector)
    action = connector.actions()["update_project"]
    params = UpdateProjectParams(
        project_key=made["board"], amount=Decimal(900), currency="EUR"
    )
    await action.execute("deal:1:u2", params)
    puts = fake.log.count(method="PUT", route=BOARD_ROUTE)

    found = await action.find("deal:1:u2", params)
    again = await action.execute("deal:1:u3", params)

    assert puts == 1
    assert found is not None and again.external_id == made["board"]
    assert fake.log.count(method="PUT", route=BOARD_ROUTE) == puts


async def test_update_project_after_a_lost_answer_writes_nothing_more(
    fake: TrelloFake, connector: TrelloConnector
) -> None:
    made = await laid_out(connector)
    action = connector.actions()["update_project"]
    params = UpdateProjectParams(project_key=made["board"], title="Acme portal v2")
    fake.faults.answer_lost(method="PUT", path=f"/1/boards/{made['board']}")
    await action.execute("deal:1:u4", params)  # the client sends the PUT again
    puts = fake.log.count(method="PUT", route=BOARD_ROUTE)

    found = await action.find("deal:1:u4", params)
    again = await action.execute("deal:1:u4", params)

    assert found is not None and again.external_id == made["board"]
    assert fake.log.count(method="PUT", route=BOARD_ROUTE) == puts
    assert fake.state.boards[made["board"]]["name"] == "Acme portal v2"


async def test_update_project_of_an_unknown_board_says_so(
    connector: TrelloConnector,
) -> None:
    params = UpdateProjectParams(project_key="f" * 24, amount=Decimal(1))

    with pytest.raises(RecordError, match="404"):
        await connector.actions()["update_project"].execute("deal:1:u5", params)


async def test_update_milestone_moves_every_dated_card_of_the_list(
    fake: TrelloFake, connector: TrelloConnector
) -> None:
    made = await laid_out(connector)
    late = next(c for c in fake.state.cards.values() if c["name"] == "Card c")
    late["due"] = "2026-03-10T17:30:00.000Z"  # a time of day, set in Trello

    result = await connector.actions()["update_milestone"].execute(
        "deal:1:m1", move(made, date(2026, 3, 17))
    )

    assert dues(fake, made["Build"]) == {
        "Card a": "2026-03-09T00:00:00.000Z",
        "Card b": "2026-03-12T00:00:00.000Z",
        "Card c": "2026-03-17T17:30:00.000Z",
    }
    assert dues(fake, made["Later"]) == {"Card d": None}
    assert result.external_id == made["Build"]
    assert result.data == {"kind": "list", "name": "Build", "due": "2026-03-17"}


async def test_update_milestone_again_with_the_same_date_writes_nothing(
    fake: TrelloFake, connector: TrelloConnector
) -> None:
    made = await laid_out(connector)
    action = connector.actions()["update_milestone"]
    await action.execute("deal:1:m2", move(made, date(2026, 3, 17)))
    puts = fake.log.count(method="PUT", route=CARD_ROUTE)

    found = await action.find("deal:1:m2", move(made, date(2026, 3, 17)))
    again = await action.execute("deal:1:m3", move(made, date(2026, 3, 17)))

    assert puts == 3
    assert found is not None and found.data["due"] == "2026-03-17"
    assert again.data["due"] == "2026-03-17"
    assert fake.log.count(method="PUT", route=CARD_ROUTE) == puts


async def test_update_milestone_half_done_is_finished_not_moved_twice(
    fake: TrelloFake, connector: TrelloConnector
) -> None:
    made = await laid_out(connector)
    action = connector.actions()["update_milestone"]
    second = next(c for c in fake.state.cards.values() if c["name"] == "Card b")
    refusal = fake.faults.add(
        "error", method="PUT", path=f"/1/cards/{second['id']}", status=503, times=20
    )

    with pytest.raises(RetryableError):
        await action.execute("deal:1:m4", move(made, date(2026, 3, 17)))
    half = dues(fake, made["Build"])
    fake.faults.rules.remove(refusal)
    missed = await action.find("deal:1:m4", move(made, date(2026, 3, 17)))
    await action.execute("deal:1:m4", move(made, date(2026, 3, 17)))

    assert half == {
        "Card a": "2026-03-09T00:00:00.000Z",
        "Card b": "2026-03-05T00:00:00.000Z",
        "Card c": "2026-03-10T00:00:00.000Z",
    }
    assert missed is None
    assert dues(fake, made["Build"]) == {
        "Card a": "2026-03-09T00:00:00.000Z",
        "Card b": "2026-03-12T00:00:00.000Z",
        "Card c": "2026-03-17T00:00:00.000Z",
    }


def card_id(fake: TrelloFake, name: str) -> str:
    return next(c["id"] for c in fake.state.cards.values() if c["name"] == name)


def moves_made(fake: TrelloFake) -> Counter[str]:
    """Count the card moves Trello applied, by card path."""
    return Counter(
        entry.path
        for entry in fake.log.filter(method="PUT", route=CARD_ROUTE, status=200)
    )


async def test_update_milestone_partly_refused_stays_pending_then_moves_each_once(
    fake: TrelloFake, connector: TrelloConnector, store: Store
) -> None:
    made = await laid_out(connector)
    action = connector.actions()["update_milestone"]
    first = card_id(fake, "Card a")
    fake.faults.add(
        "error", method="PUT", path=f"/1/cards/{first}", status=400, times=1
    )
    params = move(made, date(2026, 3, 17))

    with pytest.raises(ConnectorError, match="1 items failed") as refused:
        await perform(store, "trello", action, "deal:1:m8", params)
    entry = store.journal_find("deal:1:m8")
    half = dues(fake, made["Build"])
    await perform(store, "trello", action, "deal:1:m8", params)

    assert first in str(refused.value)
    assert entry is not None and entry.status == "pending"
    # Card b moved despite the refusal; card c, which ends the list, waited.
    assert half == {
        "Card a": "2026-03-02T00:00:00.000Z",
        "Card b": "2026-03-12T00:00:00.000Z",
        "Card c": "2026-03-10T00:00:00.000Z",
    }
    assert dues(fake, made["Build"]) == {
        "Card a": "2026-03-09T00:00:00.000Z",
        "Card b": "2026-03-12T00:00:00.000Z",
        "Card c": "2026-03-17T00:00:00.000Z",
    }
    done = store.journal_find("deal:1:m8")
    assert done is not None and done.status == "confirmed"
    assert sorted(moves_made(fake).values()) == [1, 1, 1]
    assert fake.log.count(method="PUT", route=CARD_ROUTE, status=400) == 1


async def test_update_milestone_refused_at_the_end_is_finished_next_time(
    fake: TrelloFake, connector: TrelloConnector, store: Store
) -> None:
    made = await laid_out(connector)
    action = connector.actions()["update_milestone"]
    last = card_id(fake, "Card c")
    fake.faults.add("error", method="PUT", path=f"/1/cards/{last}", status=409, times=1)
    params = move(made, date(2026, 3, 17))

    with pytest.raises(ConnectorError, match="1 items failed"):
        await perform(store, "trello", action, "deal:1:m9", params)
    found = await action.find("deal:1:m9", params)
    result = await perform(store, "trello", action, "deal:1:m9", params)

    assert found is None
    assert result.data["due"] == "2026-03-17" and result.failed == {}
    assert sorted(moves_made(fake).values()) == [1, 1, 1]


async def test_update_milestone_renames_the_list(
    fake: TrelloFake, connector: TrelloConnector
) -> None:
    made = await laid_out(connector)
    action = connector.actions()["update_milestone"]
    params = UpdateMilestoneParams(
        project_key=made["board"], milestone_id=made["Build"], name="Build and test"
    )

    await action.execute("deal:1:m5", params)
    again = await action.find("deal:1:m5", params)

    assert fake.state.lists[made["Build"]]["name"] == "Build and test"
    assert connector.lists.known(made["board"]) == {
        "Build and test": made["Build"],
        "Later": made["Later"],
    }
    assert again is not None and again.data["name"] == "Build and test"
    assert fake.log.count(method="PUT", route="/1/lists/{id}") == 1


async def test_update_milestone_of_a_list_elsewhere_says_so(
    connector: TrelloConnector,
) -> None:
    made = await laid_out(connector)
    other = await laid_out(connector, deal="2")
    params = UpdateMilestoneParams(
        project_key=made["board"], milestone_id=other["Build"], due=date(2026, 4, 1)
    )

    with pytest.raises(RecordError, match="has no open list"):
        await connector.actions()["update_milestone"].execute("deal:1:m6", params)


async def test_update_milestone_without_dated_cards_says_there_is_no_date(
    fake: TrelloFake, connector: TrelloConnector
) -> None:
    made = await laid_out(connector)

    with pytest.raises(RecordError, match="no card with a due date"):
        await connector.actions()["update_milestone"].execute(
            "deal:1:m7", move(made, date(2026, 4, 1), name="Later")
        )
    assert dues(fake, made["Later"]) == {"Card d": None}


async def test_fake_board_update_refuses_an_empty_name(
    fake: TrelloFake, connector: TrelloConnector
) -> None:
    made = await laid_out(connector)

    response = await connector.client.put(
        f"/boards/{made['board']}", params={"name": ""}
    )

    assert response.status_code == 400, response.text
    assert response.text == "invalid value for name"
    assert fake.state.boards[made["board"]]["name"] == "Acme portal"


async def test_delivery_items_read_title_budget_and_list_due(
    connector: TrelloConnector,
) -> None:
    made = await laid_out(connector)
    update = UpdateProjectParams(
        project_key=made["board"], amount=Decimal(10), currency="EUR"
    )
    await connector.actions()["update_project"].execute("deal:1:u6", update)
    payloads: list[tuple[str, Any]] = []
    for stream in connector.streams():
        async for page in stream.read(StreamState()):
            payloads += [(stream.name, r.payload) for r in page.records]

    items = [connector.delivery_item(name, payload) for name, payload in payloads]
    view = project_view(made["board"], [i for i in items if i is not None])

    assert view is not None
    assert view.values == {"amount": "10.00", "currency": "EUR", "title": "Acme portal"}
    due = {m.name: m.due for m in view.milestones}
    assert due == {"Build": max(BUILD_DUES.values()), "Later": None}
    assert view.delivery_date == max(BUILD_DUES.values())
