"""Which failures the client retries, and within which bounds."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from servicesync import VirtualClock
from servicesync.errors import (
    AuthenticationError,
    MalformedResponse,
    ServiceUnavailable,
)
from servicesync_sdk.http import RetryPolicy, ServiceClient

Outcome = httpx.Response | type[httpx.TransportError]


def scripted(
    outcomes: list[Outcome],
) -> tuple[Callable[..., httpx.Response], list[int]]:
    """Return a handler answering with ``outcomes`` in turn, and its call log."""
    calls: list[int] = []
    replies: Iterator[Outcome] = iter(outcomes)

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        reply = next(replies)
        if isinstance(reply, httpx.Response):
            return reply
        raise reply("the line went quiet", request=request)

    return handler, calls


def make_client(
    clock: VirtualClock, handler: Callable[..., httpx.Response], **kwargs: object
) -> ServiceClient:
    return ServiceClient(
        "https://svc.test",
        clock=clock,
        transport=httpx.MockTransport(handler),
        **kwargs,  # type: ignore[arg-type]
    )


async def test_client_retries_5xx_until_success(clock: VirtualClock) -> None:
    handler, calls = scripted(
        [httpx.Response(502), httpx.Response(503), httpx.Response(200)]
    )
    client = make_client(clock, handler)

    response = await client.get("/items")

    assert response.status_code == 200
    assert len(calls) == 3


async def test_client_retries_at_most_max_attempts(clock: VirtualClock) -> None:
    handler, calls = scripted([httpx.Response(500)] * 10)
    client = make_client(clock, handler, retry=RetryPolicy(max_attempts=4))

    with pytest.raises(ServiceUnavailable):
        await client.get("/items")

    assert len(calls) == 4


async def test_client_retry_time_is_bounded_on_the_clock(clock: VirtualClock) -> None:
    handler, calls = scripted([httpx.Response(500)] * 50)
    policy = RetryPolicy(max_attempts=50, max_elapsed=20.0, backoff=2.0)
    client = make_client(clock, handler, retry=policy)

    with pytest.raises(ServiceUnavailable):
        await client.get("/items")

    assert clock.monotonic() <= 20.0
    assert 1 < len(calls) < 50


async def test_client_post_is_not_retried_after_timeout(clock: VirtualClock) -> None:
    handler, calls = scripted([httpx.ReadTimeout, httpx.Response(201)])
    client = make_client(clock, handler)

    with pytest.raises(ServiceUnavailable):
        await client.post("/items", json={"name": "x"})

    assert len(calls) == 1


async def test_client_post_is_not_retried_after_5xx(clock: VirtualClock) -> None:
    handler, calls = scripted([httpx.Response(500), httpx.Response(201)])
    client = make_client(clock, handler)

    with pytest.raises(ServiceUnavailable):
        await client.post("/items", json={"name": "x"})

    assert len(calls) == 1


async def test_client_post_is_retried_after_connect_error(clock: VirtualClock) -> None:
    handler, calls = scripted([httpx.ConnectError, httpx.Response(201)])
    client = make_client(clock, handler)

    response = await client.post("/items", json={"name": "x"})

    assert response.status_code == 201
    assert len(calls) == 2


async def test_client_post_is_retried_after_429(clock: VirtualClock) -> None:
    handler, calls = scripted([httpx.Response(429), httpx.Response(201)])
    client = make_client(clock, handler)

    response = await client.post("/items", json={"name": "x"})

    assert response.status_code == 201
    assert len(calls) == 2


async def test_client_idempotent_post_is_retried_after_timeout(
    clock: VirtualClock,
) -> None:
    handler, calls = scripted([httpx.ReadTimeout, httpx.Response(200)])
    client = make_client(clock, handler)

    response = await client.post("/search", json={}, idempotent=True)

    assert response.status_code == 200
    assert len(calls) == 2


async def test_client_get_is_retried_after_timeout(clock: VirtualClock) -> None:
    handler, calls = scripted([httpx.ReadTimeout, httpx.Response(200)])
    client = make_client(clock, handler)

    response = await client.get("/items")

    assert response.status_code == 200
    assert len(calls) == 2


@pytest.mark.parametrize("status", [401, 403], ids=["unauthorized", "forbidden"])
async def test_client_refused_credentials_raise_without_retry(
    clock: VirtualClock, status: int
) -> None:
    handler, calls = scripted([httpx.Response(status), httpx.Response(200)])
    client = make_client(clock, handler)

    with pytest.raises(AuthenticationError):
        await client.get("/items")

    assert len(calls) == 1


async def test_client_returns_other_4xx(clock: VirtualClock) -> None:
    handler, calls = scripted([httpx.Response(404, json={"error": "not found"})])
    client = make_client(clock, handler)

    response = await client.get("/items/9")

    assert response.status_code == 404, response.text
    assert len(calls) == 1


async def test_client_json_raises_malformed_response(clock: VirtualClock) -> None:
    handler, _ = scripted([httpx.Response(200, text="<html>down</html>")])
    client = make_client(clock, handler)
    response = await client.get("/items")

    with pytest.raises(MalformedResponse, match="not JSON"):
        client.json(response)


async def test_client_sends_through_the_injected_transport(clock: VirtualClock) -> None:
    handler, _ = scripted([httpx.Response(200, json={"ok": True})])

    async with make_client(clock, handler, headers={"x-app": "servicesync"}) as client:
        response = await client.get("/items", params={"page": 2})

    assert client.json(response) == {"ok": True}
    assert response.request.url == "https://svc.test/items?page=2"
    assert response.request.headers["x-app"] == "servicesync"
