"""What every endpoint of the fake shares: the prefix, bodies, answers, lists."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from servicesync_asana.fake._errors import FakeAsanaError
from servicesync_asana.fake._fields import opt_fields, select

if TYPE_CHECKING:
    from servicesync_asana.fake._service import AsanaFake

__all__ = ["API", "Handler", "answer", "data_of", "listing", "shaped", "user_of"]

#: Where the API lives under the fake's base URL.
API = "/api/1.0"

Handler = Callable[[Request], Awaitable[Any]]
T = TypeVar("T", bound="HasGid")


class HasGid(Protocol):
    """Any object of the fake: it has a gid."""

    gid: str


def answer(
    status: int = 200,
) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """Answer a handler's value as JSON; a :class:`FakeAsanaError` as its body."""

    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                result = await handler(request)
            except FakeAsanaError as exc:
                return JSONResponse(exc.body, status_code=exc.status)
            if isinstance(result, Response):
                return result
            return JSONResponse(result, status_code=status)

        return endpoint

    return wrap


async def data_of(request: Request) -> dict[str, Any]:
    """Return the ``data`` object of a JSON body."""
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        raise FakeAsanaError(400, "The request body is not valid JSON.") from None
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise FakeAsanaError(400, "data: Missing input; wrap the fields in data.")
    return data


def user_of(request: Request) -> str | None:
    """The gid of the user the request's token belongs to."""
    return getattr(request.state, "user", None)


def shaped(request: Request, full: dict[str, Any]) -> dict[str, Any]:
    """Return one resource trimmed to the request's ``opt_fields``, if any."""
    names = opt_fields(request.query_params.get("opt_fields"))
    return select(full, names) if names else full


def listing(
    fake: AsanaFake,
    request: Request,
    rows: Sequence[T],
    render: Callable[[T], dict[str, Any]],
    compact: Callable[[dict[str, Any]], dict[str, Any]],
    list_key: str,
) -> dict[str, Any]:
    """Answer a list: compact rows (or ``opt_fields``), paged when asked.

    ``rows`` are the fake's own objects in gid order; only the page asked
    for is rendered.
    """
    names = opt_fields(request.query_params.get("opt_fields"))
    query = {
        k: v for k, v in request.query_params.items() if k not in ("limit", "offset")
    }
    chunk, next_page = fake.pager.page(
        rows,
        lambda row: row.gid,
        limit=request.query_params.get("limit"),
        offset=request.query_params.get("offset"),
        list_key=list_key,
        now=fake.clock.now().timestamp(),
        path=request.url.path.removeprefix(API),
        base_url=fake.base_url + API,
        query=query,
    )
    full = [render(row) for row in chunk]
    data = [select(r, names) if names else compact(r) for r in full]
    answer: dict[str, Any] = {"data": data}
    if request.query_params.get("limit") is not None:
        answer["next_page"] = next_page
    return answer
