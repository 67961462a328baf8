"""Lost answers and repeats never make a board, list, card or member twice."""

from __future__ import annotations

import pytest
from servicesync.dedup import dedup_token, marker
from servicesync.errors import ServiceUnavailable
from servicesync_trello import (
    AddTeamParams,
    CreateMilestoneParams,
    CreateProjectParams,
    CreateTasksParams,
    TaskSpec,
    TrelloConnector,
)
from servicesync_trello.fake import TrelloFake
from trello_helpers import ConnectorFactory, bot_id

PROJECT = CreateProjectParams(name="Acme portal", client="Acme", description="Portal")
BOARDS = "/1/boards/"


def org_boards(fake: TrelloFake) -> str:
    return f"/1/organizations/{fake.connection_settings()['organization']}/boards"


async def new_board(connector: TrelloConnector) -> str:
    made = await connector.actions()["create_project"].execute(
        "deal:1:project", PROJECT
    )
    return made.external_id


def tasks(board: str, count: int, milestone: str | None = None) -> CreateTasksParams:
    specs = [
        TaskSpec(ref=f"t{n}", summary=f"Task {n}", milestone=milestone)
        for n in range(count)
    ]
    return CreateTasksParams(project_key=board, tasks=specs)


async def test_create_project_makes_board_without_default_lists(
    fake: TrelloFake, connector: TrelloConnector
) -> None:
    board = await new_board(connector)

    made = fake.state.boards[board]
    assert fake.state.lists_of(board, "all") == []
    assert made["idOrganization"] == fake.connection_settings()["organization"]
    assert made["desc"].endswith(marker(dedup_token("deal:1:project")))


async def test_create_project_lost_answer_found_in_the_same_attempt(
    fake: TrelloFake, connector: TrelloConnector
) -> None:
    fake.faults.answer_lost(method="POST", path=BOARDS)

    made = await connector.actions()["create_project"].execute(
        "deal:1:project", PROJECT
    )

    assert list(fake.state.boards) == [made.external_id]
    assert fake.log.count(method="GET", route="/1/organizations/{id}/boards") == 1
    assert fake.log.count(route="/1/members/{id}") == 0


async def test_create_project_lost_answer_found_by_a_later_attempt(
    fake: TrelloFake, connector: TrelloConnector, make: ConnectorFactory
) -> None:
    fake.faults.answer_lost(method="POST", path=BOARDS)
    fake.faults.add("drop", method="GET", path=org_boards(fake), times=6)
    with pytest.raises(ServiceUnavailable):
        await connector.actions()["create_project"].execute("deal:1:project", PROJECT)

    found = await make().actions()["create_project"].find("deal:1:project", PROJECT)

    assert found is not None
    assert list(fake.state.boards) == [found.external_id]
    assert found.url == fake.state.boards[found.external_id]["shortUrl"]


async def test_create_project_copies_the_template_board(
    fake: TrelloFake, make: ConnectorFactory
) -> None:
    template = fake.state.create_board(
        bot_id(fake), {"name": "Template", "defaultLists": "false"}
    )
    for name in ("Discovery", "Build"):
        fake.state.create_list(bot_id(fake), {"name": name, "idBoard": template["id"]})
    connector = make(template_board_id=template["id"])

    board = await new_board(connector)
    milestone = await connector.actions()["create_milestone"].execute(
        "deal:1:milestone:Build",
        CreateMilestoneParams(project_key=board, name="Build"),
    )

    names = [x["name"] for x in fake.state.lists_of(board, "open")]
    assert names == ["Discovery", "Build"]
    assert fake.state.lists[milestone.external_id]["name"] == "Build"
    assert fake.log.count(method="POST", route="/1/lists") == 0


async def test_create_milestone_lost_answer_finds_the_list(
    fake: TrelloFake, connector: TrelloConnector, make: ConnectorFactory
) -> None:
    board = await new_board(connector)
    params = CreateMilestoneParams(project_key=board, name="Build")
    fake.faults.answer_lost(method="POST", path="/1/lists")

    made = await connector.actions()["create_milestone"].execute("m:1", params)
    again = await make().actions()["create_milestone"].find("m:1", params)

    assert len(fake.state.lists_of(board, "all")) == 1
    assert again is not None and again.external_id == made.external_id


async def test_create_tasks_lost_card_answer_found_without_duplicate(
    fake: TrelloFake, connector: TrelloConnector
) -> None:
    board = await new_board(connector)
    await connector.actions()["create_milestone"].execute(
        "m:1", CreateMilestoneParams(project_key=board, name="Build")
    )
    fake.faults.answer_lost(method="POST", path="/1/cards", times=2)

    result = await connector.actions()["create_tasks"].execute(
        "deal:1:tasks", tasks(board, 10, "Build")
    )

    assert len(result.data["created"]) == 10
    assert result.failed == {}
    assert len(fake.state.cards) == 10
    assert fake.log.count(method="GET", route="/1/boards/{id}/cards/{filter}") == 1


async def test_create_tasks_repeat_on_new_connection_sends_only_the_rest(
    fake: TrelloFake, connector: TrelloConnector, make: ConnectorFactory
) -> None:
    board = await new_board(connector)
    params = tasks(board, 6)
    fake.faults.add("drop", method="POST", path="/1/cards", times=3)
    fake.faults.add("drop", method="GET", path="/1/boards/*/cards/all", times=6)
    with pytest.raises(ServiceUnavailable):
        await connector.actions()["create_tasks"].execute("deal:1:tasks", params)
    fresh = make()

    found = await fresh.actions()["create_tasks"].find("deal:1:tasks", params)
    result = found or await fresh.actions()["create_tasks"].execute(
        "deal:1:tasks", params
    )

    assert len(result.data["created"]) == 6
    assert sorted(c["name"] for c in fake.state.cards.values()) == sorted(
        f"Task {n}" for n in range(6)
    )


async def test_add_team_by_email_and_username_reports_unknown_people(
    fake: TrelloFake, connector: TrelloConnector
) -> None:
    board = await new_board(connector)
    ana = fake.add_member("ana", "Ana", "ana@acme.test")
    ben = fake.add_member("ben", "Ben", "ben@acme.test")
    params = AddTeamParams(
        project_key=board, emails=["ana@acme.test"], usernames=["ben", "ghost"]
    )

    result = await connector.actions()["add_team"].execute("deal:1:team", params)

    on_board = {m["idMember"] for m in fake.state.boards[board]["memberships"]}
    assert {ana, ben} <= on_board
    assert result.data["members"] == {"ana@acme.test": ana, "ben": ben}
    assert result.data["unresolved"] == ["ghost"]


async def test_add_team_found_after_members_were_added_by_the_cards(
    fake: TrelloFake, connector: TrelloConnector
) -> None:
    board = await new_board(connector)
    fake.add_member("ana", "Ana", "ana@acme.test")
    spec = TaskSpec(ref="t", summary="Review", assignee_email="ana@acme.test")
    await connector.actions()["create_tasks"].execute(
        "deal:1:tasks", CreateTasksParams(project_key=board, tasks=[spec])
    )
    params = AddTeamParams(project_key=board, emails=["ana@acme.test"])
    puts = fake.log.count(method="PUT")

    found = await connector.actions()["add_team"].find("deal:1:team", params)
    made = await connector.actions()["add_team"].execute("deal:1:team", params)

    assert found is not None and found.data == made.data
    assert fake.log.count(method="PUT") == puts


async def test_add_team_invites_an_unknown_email_as_unconfirmed_member(
    fake: TrelloFake, connector: TrelloConnector
) -> None:
    board = await new_board(connector)

    result = await connector.actions()["add_team"].execute(
        "deal:1:team", AddTeamParams(project_key=board, emails=["new@acme.test"])
    )

    member = result.data["members"]["new@acme.test"]
    assert fake.state.members[member]["confirmed"] is False
