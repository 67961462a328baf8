"""Every operation the connector calls is what the description allows, for every
status the fake can answer it with."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import httpx
import pytest
from servicesync import VirtualClock
from servicesync.contract import StreamState
from servicesync_sdk.testing import Recorder as StreamRecorder
from servicesync_trello import (
    AddTeamParams,
    CardsStream,
    CreateMilestoneParams,
    CreateProjectParams,
    CreateTasksParams,
    TaskSpec,
    TrelloConnector,
    UpdateMilestoneParams,
    UpdateProjectParams,
)
from servicesync_trello._registrar import TrelloWebhookRegistrar
from servicesync_trello.fake import TrelloFake
from trello_helpers import CALLBACK, ConnectorFactory, bot_id
from trello_spec import Exchange, Recorder, check, exchanges_of, load_spec, operation

pytestmark = pytest.mark.shared

MISSING_ID = "f" * 24
ID = re.compile(r"(?<=/)[0-9a-f]{24}(?=/|$)")


async def exercise(
    fake: TrelloFake, clock: VirtualClock, make: ConnectorFactory, recorder: Recorder
) -> None:
    """Lay out a deal, lose answers, carry changes to the board, read
    everything back, register a webhook, list the token's webhooks and
    remove one."""
    template = fake.state.create_board(bot_id(fake), {"name": "Template"})
    plain = make(transport=recorder)
    copying = make(transport=recorder, template_board_id=template["id"])
    fake.add_member("ana", "Ana", "ana@acme.test")
    fake.add_member("ben", "Ben", "ben@acme.test")
    fake.add_receiver(CALLBACK, handler=lambda request: httpx.Response(200))
    for n, connector in enumerate((plain, copying)):
        await lay_out(fake, connector, f"deal:{n}")
    await plain.actions()["create_project"].find("deal:0:project", project())
    clock.advance(3600)
    stream = StreamRecorder()
    await stream.run(CardsStream(plain))
    card = next(iter(fake.state.cards))
    fake.state.update_card(bot_id(fake), card, {"dueComplete": True})
    clock.advance(1)
    await stream.run(CardsStream(plain))
    for item in plain.streams():
        async for _ in item.read(StreamState()):
            pass
    await plain.register_webhook(next(iter(fake.state.boards)))
    registrar = TrelloWebhookRegistrar(plain)
    await registrar.remove((await registrar.webhooks())[0])
    await plain.check()


def project() -> CreateProjectParams:
    return CreateProjectParams(name="Globex app", client="Globex", description="App")


async def lay_out(fake: TrelloFake, connector: TrelloConnector, key: str) -> None:
    actions = connector.actions()
    board = await actions["create_project"].execute(f"{key}:project", project())
    board_id = board.external_id
    await actions["create_milestone"].execute(
        f"{key}:m",
        CreateMilestoneParams(project_key=board_id, name="Beta", due=date(2026, 3, 1)),
    )
    fake.faults.answer_lost(method="POST", path="/1/cards")
    specs = [
        TaskSpec(
            ref=f"t{n}",
            summary=f"Task {n}",
            milestone="Beta",
            assignee_email="ana@acme.test",
            due=date(2026, 2, 1),
        )
        for n in range(3)
    ]
    await actions["create_tasks"].execute(
        f"{key}:tasks", CreateTasksParams(project_key=board_id, tasks=specs)
    )
    team = AddTeamParams(
        project_key=board_id, emails=["ana@acme.test"], usernames=["ben"]
    )
    await actions["add_team"].execute(f"{key}:team", team)
    await actions["add_team"].find(f"{key}:team", team)
    await actions["create_milestone"].find(
        f"{key}:m", CreateMilestoneParams(project_key=board_id, name="Beta")
    )
    await change(connector, key, board_id)


async def change(connector: TrelloConnector, key: str, board_id: str) -> None:
    """Carry a deal's changes to the board: its title, budget and dates."""
    actions = connector.actions()
    update = UpdateProjectParams(
        project_key=board_id, title="Globex app v2", amount=Decimal(9000)
    )
    await actions["update_project"].execute(f"{key}:update", update)
    await actions["update_project"].find(f"{key}:update", update)
    beta = connector.lists.known(board_id)["Beta"]
    moved = UpdateMilestoneParams(
        project_key=board_id, milestone_id=beta, due=date(2026, 2, 8), name="Beta 2"
    )
    await actions["update_milestone"].execute(f"{key}:move", moved)
    await actions["update_milestone"].find(f"{key}:move", moved)


async def replay(
    fake: TrelloFake, exchange: Exchange, *, path: str | None = None, **query: str
) -> list[Exchange]:
    """Send ``exchange`` again, changed, straight to the fake (no retries)."""
    settings = fake.connection_settings()
    params = {**exchange.query, "key": settings["api_key"], "token": settings["token"]}
    params.update(query)
    async with fake.client(base_url=settings["base_url"]) as client:
        request = client.build_request(
            exchange.method,
            path or exchange.path,
            params=params,
            json=exchange.request,
        )
        response = await client.send(request)
        body = await response.aread()
    found = exchanges_of(request, response.status_code, response, body)
    for item in found:
        item.ours = False
    return found


async def refusals(fake: TrelloFake, exchange: Exchange) -> list[Exchange]:
    """Every refusal the fake can give the exchange's operation."""
    found = await replay(fake, exchange, token="ATTA" + "0" * 64)
    found += await replay(fake, exchange, key="0" * 32)
    fake.spend_token_window(fake.connection_settings()["token"])
    found += await replay(fake, exchange)
    fake.clock.advance(10)  # type: ignore[attr-defined]
    if ID.search(exchange.path):
        found += await replay(fake, exchange, path=ID.sub(MISSING_ID, exchange.path, 1))
        found += await replay(fake, exchange, path=ID.sub("nope", exchange.path, 1))
    fake.faults.add("error", status=503, times=1)
    found += await replay(fake, exchange)
    return found


async def test_spec_every_operation_and_status_matches_the_description(
    fake: TrelloFake, clock: VirtualClock, make: ConnectorFactory
) -> None:
    spec = load_spec()
    recorder = Recorder(fake.transport())
    await exercise(fake, clock, make, recorder)
    called = {}
    for exchange in recorder.exchanges:
        template, _ = operation(spec, exchange.method, exchange.path)
        called.setdefault((exchange.method, template), exchange)
    fake.faults.clear()

    replies = [r for e in called.values() for r in await refusals(fake, e)]

    problems = [p for e in recorder.exchanges + replies for p in check(spec, e)]
    assert problems == [], "\n".join(problems)
    seen: dict[tuple[str, str], set[int]] = {}
    for e in recorder.exchanges + replies:
        seen.setdefault((e.method, operation(spec, e.method, e.path)[0]), set()).add(
            e.status
        )
    for op, statuses in seen.items():
        assert {200, 401, 429, 503} <= statuses, op
        if op in called and ID.search(called[op].path):
            # A Workspace is named by id or by name, so no id is malformed.
            malformed = set() if op[1].startswith("/organizations/") else {400}
            assert {404, *malformed} <= statuses, op
    assert len(called) >= 14, sorted(called)
    updates = {
        ("PUT", "/boards/{id}"),
        ("PUT", "/lists/{id}"),
        ("PUT", "/cards/{id}"),
        ("GET", "/lists/{id}/cards"),
    }
    assert updates <= set(called), sorted(called)
