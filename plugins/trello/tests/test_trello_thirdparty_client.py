"""The independent ``py-trello`` client works against the fake on loopback.

py-trello always calls ``https://api.trello.com/1``; a requests session
whose ``request`` rewrites that address sends it to the served fake.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from servicesync import SystemClock
from servicesync_sdk.fakes import serve_in_thread
from servicesync_trello.fake import TrelloFake
from trello import TrelloClient
from trello.member import Member
from trello_helpers import bot_id

TRELLO = "https://api.trello.com"


class LoopbackSession(requests.Session):
    """A session that sends requests for Trello to ``base`` instead."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> Any:  # type: ignore[override]
        target = str(url).replace(TRELLO, self.base, 1)
        return super().request(method, target, *args, **kwargs)


@pytest.fixture
def served() -> Iterator[tuple[TrelloFake, TrelloClient]]:
    fake = TrelloFake(clock=SystemClock(), seed=5)
    settings = fake.add_default_account()
    with serve_in_thread(fake) as url, LoopbackSession(url) as session:
        client = TrelloClient(
            api_key=settings["api_key"], token=settings["token"], http_service=session
        )
        yield fake, client


def test_py_trello_lays_out_a_board_with_cards_and_members(
    served: tuple[TrelloFake, TrelloClient],
) -> None:
    fake, client = served
    org = fake.connection_settings()["organization"]
    ana = fake.add_member("ana", "Ana", "ana@acme.test")

    board = client.add_board("Py board", organization_id=org, default_lists=False)
    fake.state.add_board_member(bot_id(fake), board.id, ana, "normal")
    phase = board.add_list("Phase 1")
    phase.add_card("Write spec", due="2026-03-01", assign=[Member(client, ana)])
    phase.add_card("Review spec")

    cards = board.get_cards(card_filter="all")
    assert sorted(c.name for c in cards) == ["Review spec", "Write spec"]
    written = next(c for c in cards if c.name == "Write spec")
    assert written.member_ids == [ana]
    assert written.due.startswith("2026-03-01")
    assert [x.name for x in board.all_lists()] == ["Phase 1"]
    assert fake.log.count(method="POST", route="/1/cards", status=200) == 2


def test_py_trello_reads_board_actions_and_sees_refusals(
    served: tuple[TrelloFake, TrelloClient],
) -> None:
    fake, client = served
    board = client.add_board("Py board", default_lists=True)

    actions = board.fetch_actions("createList", action_limit=10)
    bad = TrelloClient(
        api_key=fake.connection_settings()["api_key"],
        token="ATTA" + "0" * 64,
        http_service=client.http_service,
    )

    assert sorted(a["data"]["list"]["name"] for a in actions) == [
        "Doing",
        "Done",
        "To Do",
    ]
    with pytest.raises(Exception, match="invalid token"):
        bad.get_board(board.id)
