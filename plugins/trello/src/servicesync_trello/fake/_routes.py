"""The REST routes of the fake Trello, under ``/1`` as the real API is."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Message

from servicesync_trello.fake._errors import FakeTrelloError, text_error

if TYPE_CHECKING:
    from servicesync_trello.fake._service import TrelloFake

__all__ = ["BATCH_LIMIT", "build_routes", "params_of"]

#: Routes one ``/batch`` call may carry.
BATCH_LIMIT = 10

Handler = Callable[[Request], Awaitable[Response]]


async def params_of(request: Request) -> dict[str, Any]:
    """Return the query parameters, overlaid by a JSON or form body.

    Trello takes the same fields in the query or in the body.
    """
    params: dict[str, Any] = dict(request.query_params)
    body = await request.body()
    if not body:
        return params
    kind = request.headers.get("content-type", "")
    if "json" in kind:
        try:
            data = json.loads(body)
        except ValueError:
            raise FakeTrelloError(400, "invalid json") from None
        if isinstance(data, dict):
            params.update({k: v for k, v in data.items() if v is not None})
    elif "form" in kind:
        params.update(dict(parse_qsl(body.decode(), keep_blank_values=True)))
    return params


def _guarded(handler: Handler) -> Handler:
    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except FakeTrelloError as exc:
            return text_error(exc.status, exc.message)

    return run


def _pick(item: dict[str, Any], fields: str | None) -> dict[str, Any]:
    if not fields or fields == "all":
        return item
    wanted = {"id", *fields.split(",")}
    return {k: v for k, v in item.items() if k in wanted}


def build_routes(fake: TrelloFake) -> list[BaseRoute]:
    """Return the fake's routes, each bound to ``fake``."""
    state = fake.state

    def me(request: Request) -> str:
        return str(request.state.member_id)

    async def get_member(request: Request) -> Response:
        wanted = request.path_params["id"]
        member = state.members[me(request)] if wanted == "me" else state.member(wanted)
        view = state.member_view(member, own=member["id"] == me(request))
        return JSONResponse(_pick(view, request.query_params.get("fields")))

    async def search_members(request: Request) -> Response:
        query = request.query_params.get("query", "").strip().lower()
        if not query:
            raise FakeTrelloError(400, "invalid value for query")
        limit = min(int(request.query_params.get("limit", "8")), 20)
        found = []
        for email, member_id in state.emails.items():
            member = state.members[member_id]
            if query == email or query in member["username"].lower():
                found.append(state.member_view(member, own=False))
        return JSONResponse(found[:limit])

    async def org_boards(request: Request) -> Response:
        org = request.path_params["id"]
        if org not in state.organizations:
            raise FakeTrelloError(404, "The requested resource was not found.")
        view = request.query_params.get("filter", "all")
        boards = [b for b in state.boards.values() if b["idOrganization"] == org]
        if view == "open":
            boards = [b for b in boards if not b["closed"]]
        elif view == "closed":
            boards = [b for b in boards if b["closed"]]
        fields = request.query_params.get("fields")
        return JSONResponse([_pick(state.board_view(b), fields) for b in boards])

    async def create_board(request: Request) -> Response:
        board = state.create_board(me(request), await params_of(request))
        return JSONResponse(state.board_view(board))

    async def get_board(request: Request) -> Response:
        board = state.board(request.path_params["id"])
        fields = request.query_params.get("fields")
        return JSONResponse(_pick(state.board_view(board), fields))

    async def update_board(request: Request) -> Response:
        params = await params_of(request)
        board = state.update_board(me(request), request.path_params["id"], params)
        return JSONResponse(state.board_view(board))

    async def board_lists(request: Request) -> Response:
        board = state.board(request.path_params["id"])
        view = request.path_params.get("filter") or request.query_params.get(
            "filter", "open"
        )
        return JSONResponse(state.lists_of(board["id"], view))

    async def board_cards(request: Request) -> Response:
        board = state.board(request.path_params["id"])
        view = request.path_params.get("filter", "open")
        cards = state.cards_of(board["id"], view)
        fields = request.query_params.get("fields")
        return JSONResponse([_pick(c, fields) for c in cards])

    async def board_actions(request: Request) -> Response:
        query = request.query_params
        limit = int(float(query.get("limit", "50")))
        if not 0 <= limit <= 1000:
            raise FakeTrelloError(400, "invalid value for limit")
        kinds = [k for k in query.get("filter", "").split(",") if k and k != "all"]
        found = state.board_actions(
            request.path_params["boardId"],
            since=query.get("since"),
            before=query.get("before"),
            limit=limit,
            page=int(float(query.get("page", "0"))),
            kinds=kinds,
        )
        return JSONResponse(found)

    async def board_members(request: Request) -> Response:
        return JSONResponse(state.board_members(request.path_params["id"]))

    async def invite_member(request: Request) -> Response:
        params = await params_of(request)
        answer = state.invite_by_email(
            me(request),
            request.path_params["id"],
            str(params.get("email") or ""),
            str(params.get("type") or "normal"),
            str(params.get("fullName") or ""),
        )
        return JSONResponse(answer)

    async def add_member(request: Request) -> Response:
        params = await params_of(request)
        member = state.member(request.path_params["idMember"])
        if "type" not in params:
            raise FakeTrelloError(400, "invalid value for type")
        answer = state.add_board_member(
            me(request), request.path_params["id"], member["id"], str(params["type"])
        )
        return JSONResponse(answer)

    async def create_list(request: Request) -> Response:
        return JSONResponse(state.create_list(me(request), await params_of(request)))

    async def update_list(request: Request) -> Response:
        params = await params_of(request)
        return JSONResponse(
            state.update_list(me(request), request.path_params["id"], params)
        )

    async def list_cards(request: Request) -> Response:
        lst = state._get(state.lists, request.path_params["id"])
        cards = [c for c in state.cards.values() if c["idList"] == lst["id"]]
        return JSONResponse([c for c in cards if not c["closed"]])

    async def create_card(request: Request) -> Response:
        return JSONResponse(state.create_card(me(request), await params_of(request)))

    async def get_card(request: Request) -> Response:
        card = state.card(request.path_params["id"])
        return JSONResponse(_pick(card, request.query_params.get("fields")))

    async def update_card(request: Request) -> Response:
        params = await params_of(request)
        return JSONResponse(
            state.update_card(me(request), request.path_params["id"], params)
        )

    async def update_card_field(request: Request) -> Response:
        params = await params_of(request)
        field = request.path_params["field"]
        changed = {field: params.get("value")}
        return JSONResponse(
            state.update_card(me(request), request.path_params["id"], changed)
        )

    async def delete_card(request: Request) -> Response:
        state.delete_card(me(request), request.path_params["id"])
        return JSONResponse({"limits": {}})

    async def batch(request: Request) -> Response:
        urls = [u for u in request.query_params.get("urls", "").split(",") if u]
        if not urls or len(urls) > BATCH_LIMIT:
            raise FakeTrelloError(400, "invalid value for urls")
        answers = [await _sub_request(fake, request, url) for url in urls]
        return JSONResponse(answers)

    async def create_webhook(request: Request) -> Response:
        params = await params_of(request)
        hook = await fake.register_webhook(
            str(request.state.token), params, str(request.state.key)
        )
        return JSONResponse(hook)

    async def get_webhook(request: Request) -> Response:
        return JSONResponse(fake.webhook(request.path_params["id"]))

    async def token_webhooks(request: Request) -> Response:
        # A token lists only its own webhooks, and only by itself.
        if request.path_params["token"] != request.state.token:
            raise FakeTrelloError(401, "invalid token")
        return JSONResponse(fake.webhooks_of(str(request.state.token)))

    async def delete_webhook(request: Request) -> Response:
        fake.remove_webhook(request.path_params["id"])
        return JSONResponse({"_value": None})

    table: list[tuple[str, Handler, str]] = [
        ("/1/members/{id}", get_member, "GET"),
        ("/1/search/members/", search_members, "GET"),
        ("/1/organizations/{id}/boards", org_boards, "GET"),
        ("/1/boards/", create_board, "POST"),
        ("/1/boards", create_board, "POST"),
        ("/1/boards/{id}", get_board, "GET"),
        ("/1/boards/{id}", update_board, "PUT"),
        ("/1/boards/{id}/lists", board_lists, "GET"),
        ("/1/boards/{id}/lists/{filter}", board_lists, "GET"),
        ("/1/boards/{id}/cards", board_cards, "GET"),
        ("/1/boards/{id}/cards/{filter}", board_cards, "GET"),
        ("/1/boards/{boardId}/actions", board_actions, "GET"),
        ("/1/boards/{id}/members", board_members, "GET"),
        ("/1/boards/{id}/members", invite_member, "PUT"),
        ("/1/boards/{id}/members/{idMember}", add_member, "PUT"),
        ("/1/lists", create_list, "POST"),
        ("/1/lists/{id}", update_list, "PUT"),
        ("/1/lists/{id}/cards", list_cards, "GET"),
        ("/1/cards", create_card, "POST"),
        ("/1/cards/{id}", get_card, "GET"),
        ("/1/cards/{id}", update_card, "PUT"),
        ("/1/cards/{id}", delete_card, "DELETE"),
        ("/1/cards/{id}/{field}", update_card_field, "PUT"),
        ("/1/batch", batch, "GET"),
        ("/1/webhooks/", create_webhook, "POST"),
        ("/1/webhooks/{id}", get_webhook, "GET"),
        ("/1/webhooks/{id}", delete_webhook, "DELETE"),
        ("/1/tokens/{token}/webhooks", token_webhooks, "GET"),
    ]
    return [Route(path, _guarded(h), methods=[m]) for path, h, m in table]


async def _sub_request(fake: TrelloFake, request: Request, url: str) -> Any:
    """Answer one route of a ``/batch`` call as ``{"200": body}`` or an error."""
    parts = urlsplit(url)
    if not parts.path.startswith("/") or parts.path.startswith("/batch"):
        return {"message": "invalid url", "statusCode": 400}
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/1" + parts.path,
        "raw_path": ("/1" + parts.path).encode(),
        "root_path": "",
        "query_string": parts.query.encode(),
        "headers": [],
        "state": {
            "member_id": request.state.member_id,
            "token": request.state.token,
            "key": request.state.key,
        },
    }
    status, body = await _run(fake, scope)
    if status == 200:
        return {"200": json.loads(body)}
    return {"message": body.decode(errors="replace"), "statusCode": status}


async def _run(fake: TrelloFake, scope: dict[str, Any]) -> tuple[int, bytes]:
    status, chunks = 500, []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await fake.app(scope, receive, send)
    return status, b"".join(chunks)
