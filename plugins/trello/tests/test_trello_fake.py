"""The fake answers as Trello does: auth refusals, rate limits, /batch, copies."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from servicesync_trello.fake import TrelloFake
from trello_helpers import bot_id


@pytest.fixture
async def api(fake: TrelloFake) -> Any:
    async with fake.client(base_url=fake.connection_settings()["base_url"]) as client:
        yield client


def auth(fake: TrelloFake, **override: str) -> dict[str, str]:
    settings = fake.connection_settings()
    return {"key": settings["api_key"], "token": settings["token"], **override}


@pytest.mark.parametrize(
    ("credentials", "text"),
    [
        pytest.param({"key": "0" * 32}, "invalid key", id="unknown-key"),
        pytest.param({"token": "ATTA" + "0" * 64}, "invalid token", id="bad-token"),
        pytest.param({"token": ""}, "invalid token", id="empty-token"),
    ],
)
async def test_fake_refuses_bad_credentials_with_trellos_text(
    fake: TrelloFake, api: httpx.AsyncClient, credentials: dict[str, str], text: str
) -> None:
    response = await api.get("/members/me", params=auth(fake, **credentials))

    assert response.status_code == 401, response.text
    assert response.text == text
    assert response.headers["content-type"].startswith("text/plain")


async def test_fake_without_token_asks_for_permission(
    fake: TrelloFake, api: httpx.AsyncClient
) -> None:
    response = await api.get(
        "/members/me", params={"key": fake.connection_settings()["api_key"]}
    )

    assert (response.status_code, response.text) == (
        401,
        "unauthorized permission requested",
    )


async def test_fake_takes_the_oauth_header_form(
    fake: TrelloFake, api: httpx.AsyncClient
) -> None:
    settings = fake.connection_settings()
    header = (
        f'OAuth oauth_consumer_key="{settings["api_key"]}", '
        f'oauth_token="{settings["token"]}"'
    )

    response = await api.get("/members/me", headers={"Authorization": header})

    assert response.status_code == 200, response.text
    assert response.json()["email"] == "bot@example.com"


async def test_fake_token_limit_answers_trellos_429(
    fake: TrelloFake, api: httpx.AsyncClient
) -> None:
    board = fake.state.create_board(bot_id(fake), {"name": "B"})
    path = f"/boards/{board['id']}"
    statuses = [
        (await api.get(path, params=auth(fake))).status_code for _ in range(100)
    ]
    refused = await api.get(path, params=auth(fake))
    fake.clock.advance(10)  # type: ignore[attr-defined]
    later = await api.get(path, params=auth(fake))

    assert statuses.count(200) == 100
    assert refused.status_code == 429
    assert refused.json() == {
        "error": "API_TOKEN_LIMIT_EXCEEDED",
        "message": "Rate limit exceeded",
    }
    assert later.status_code == 200


async def test_fake_members_routes_have_their_own_long_window(
    fake: TrelloFake, api: httpx.AsyncClient
) -> None:
    for _ in range(10):
        for _ in range(10):
            await api.get("/members/me", params=auth(fake))
        fake.clock.advance(10)  # type: ignore[attr-defined]

    refused = await api.get("/members/me", params=auth(fake))
    fake.clock.advance(900)  # type: ignore[attr-defined]
    later = await api.get("/members/me", params=auth(fake))

    assert fake.log.count(route="/1/members/{id}", status=200) == 100 + 1
    assert refused.status_code == 429
    assert later.status_code == 200


async def test_fake_key_limit_spans_tokens(
    fake: TrelloFake, api: httpx.AsyncClient
) -> None:
    key = fake.connection_settings()["api_key"]
    tokens = [
        fake.issue_token(fake.add_member(f"m{n}", f"M {n}", f"m{n}@x.test"), key)
        for n in range(4)
    ]
    answers = [
        await api.get("/members/me", params=auth(fake, token=tokens[n % 4]))
        for n in range(301)
    ]

    assert [a.status_code for a in answers].count(200) == 300
    assert answers[-1].json()["error"] == "API_KEY_LIMIT_EXCEEDED"


async def test_fake_batch_answers_each_route_in_order(
    fake: TrelloFake, api: httpx.AsyncClient
) -> None:
    board = fake.state.create_board(bot_id(fake), {"name": "B"})
    urls = [f"/boards/{board['id']}", "/cards/" + "f" * 24, "/cards/nope"]

    response = await api.get("/batch", params={**auth(fake), "urls": ",".join(urls)})

    first, missing, invalid = response.json()
    assert first["200"]["name"] == "B"
    assert missing == {
        "message": "The requested resource was not found.",
        "statusCode": 404,
    }
    assert invalid == {"message": "invalid id", "statusCode": 400}
    assert fake.log.count(route="/1/batch") == 1


async def test_fake_batch_refuses_more_than_ten_routes(
    fake: TrelloFake, api: httpx.AsyncClient
) -> None:
    urls = ",".join(["/members/me"] * 11)

    response = await api.get("/batch", params={**auth(fake), "urls": urls})

    assert response.status_code == 400


@pytest.mark.parametrize("keep", ["none", "cards"])
async def test_fake_copies_a_template_board(
    fake: TrelloFake, api: httpx.AsyncClient, keep: str
) -> None:
    template = fake.state.create_board(bot_id(fake), {"name": "Template"})
    todo = fake.state.lists_of(template["id"], "open")[0]
    fake.state.create_card(bot_id(fake), {"name": "Kick-off", "idList": todo["id"]})

    response = await api.post(
        "/boards/",
        params={
            **auth(fake),
            "name": "Copy",
            "idBoardSource": template["id"],
            "keepFromSource": keep,
        },
    )

    copy = response.json()["id"]
    names = [x["name"] for x in fake.state.lists_of(copy, "open")]
    assert names == ["To Do", "Doing", "Done"]
    cards = fake.state.cards_of(copy, "all")
    assert [c["name"] for c in cards] == (["Kick-off"] if keep == "cards" else [])
    actions = fake.state.board_actions(
        copy, since=None, before=None, limit=10, page=0, kinds=()
    )
    assert [a["type"] for a in actions] == ["copyBoard"]


async def test_fake_actions_filtered_by_since_and_before(
    fake: TrelloFake, api: httpx.AsyncClient
) -> None:
    board = fake.state.create_board(
        bot_id(fake), {"name": "B", "defaultLists": "false"}
    )
    fake.clock.advance(60)  # type: ignore[attr-defined]
    middle = fake.state.create_list(bot_id(fake), {"name": "L", "idBoard": board["id"]})
    fake.clock.advance(60)  # type: ignore[attr-defined]
    fake.state.create_list(bot_id(fake), {"name": "M", "idBoard": board["id"]})
    params = {
        **auth(fake),
        "since": "2026-01-05T09:00:30Z",
        "before": "2026-01-05T09:01:30Z",
    }

    response = await api.get(f"/boards/{board['id']}/actions", params=params)

    assert [a["data"]["list"]["id"] for a in response.json()] == [middle["id"]]
