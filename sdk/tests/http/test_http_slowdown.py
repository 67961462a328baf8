"""Retry-After handling and per-service slow-down answers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from servicesync import VirtualClock
from servicesync.errors import RateLimited
from servicesync_sdk.http import (
    RetryPolicy,
    ServiceClient,
    SlowDown,
    bitrix24_slow_down,
    jira_slow_down,
    parse_retry_after,
    trello_slow_down,
)

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("12", 12.0, id="seconds"),
        pytest.param(
            format_datetime(NOW + timedelta(seconds=90), usegmt=True), 90.0, id="date"
        ),
        pytest.param("0", None, id="zero"),
        pytest.param(
            format_datetime(NOW - timedelta(seconds=5), usegmt=True), None, id="past"
        ),
        pytest.param("soon", None, id="garbage"),
        pytest.param(None, None, id="absent"),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


class Arrivals:
    """A service answering each path from its own list, noting arrival times."""

    def __init__(
        self,
        clock: VirtualClock,
        replies: list[httpx.Response],
        **by_path: list[httpx.Response],
    ) -> None:
        self.clock = clock
        self.replies = {path: iter(answers) for path, answers in by_path.items()}
        self.default = iter(replies)
        self.times: list[float] = []
        self.log: list[tuple[str, float]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        now = self.clock.monotonic()
        path = request.url.path.strip("/")
        self.times.append(now)
        self.log.append((path, now))
        return next(self.replies.get(path, self.default))

    def arrivals(self, path: str) -> list[float]:
        return [t for p, t in self.log if p == path]


async def slowed_down(client: ServiceClient, endpoint: str) -> None:
    """Let other tasks run until ``endpoint`` has had a slow-down answer."""
    stats = client.stats.snapshot
    # Polling is right here: the client offers no event to wait on, and
    # sleep(0) lets the other task run without moving the virtual clock.
    while endpoint not in stats() or stats()[endpoint].slow_downs == 0:  # noqa: ASYNC110
        await asyncio.sleep(0)


def client_for(
    clock: VirtualClock, handler: Arrivals, **kwargs: object
) -> ServiceClient:
    return ServiceClient(
        "https://svc.test",
        clock=clock,
        transport=httpx.MockTransport(handler),
        **kwargs,  # type: ignore[arg-type]
    )


async def test_client_waits_retry_after_seconds(clock: VirtualClock) -> None:
    service = Arrivals(
        clock, [httpx.Response(429, headers={"Retry-After": "30"}), httpx.Response(200)]
    )

    await client_for(clock, service).get("/items")

    assert service.times[1] - service.times[0] >= 30


async def test_client_waits_retry_after_date(clock: VirtualClock) -> None:
    when = format_datetime(clock.now() + timedelta(seconds=45), usegmt=True)
    service = Arrivals(
        clock, [httpx.Response(429, headers={"Retry-After": when}), httpx.Response(200)]
    )

    await client_for(clock, service).get("/items")

    assert service.times[1] - service.times[0] >= 45


async def test_client_backs_off_on_retry_after_zero(clock: VirtualClock) -> None:
    service = Arrivals(
        clock,
        [httpx.Response(429, headers={"Retry-After": "0"})] * 3 + [httpx.Response(200)],
    )
    policy = RetryPolicy(backoff=1.0)

    await client_for(clock, service, retry=policy).get("/items")

    gaps = [b - a for a, b in zip(service.times, service.times[1:], strict=False)]
    assert min(gaps) >= 1.0


async def test_client_stops_at_once_when_retry_after_exceeds_budget(
    clock: VirtualClock,
) -> None:
    service = Arrivals(
        clock,
        [httpx.Response(429, headers={"Retry-After": "3600"}), httpx.Response(200)],
    )
    client = client_for(clock, service, retry=RetryPolicy(max_elapsed=120))

    with pytest.raises(RateLimited) as caught:
        await client.get("/items")

    assert caught.value.retry_after == 3600
    assert len(service.times) == 1


async def test_client_connection_slow_down_delays_every_endpoint(
    clock: VirtualClock,
) -> None:
    service = Arrivals(
        clock,
        [],
        a=[httpx.Response(429, headers={"Retry-After": "20"}), httpx.Response(200)],
        b=[httpx.Response(200)],
    )
    client = client_for(clock, service)

    first = asyncio.create_task(client.get("/a"))
    await slowed_down(client, "GET /a")
    await client.get("/b")
    await first

    assert service.arrivals("b")[0] >= 20


async def test_client_endpoint_slow_down_delays_only_that_endpoint(
    clock: VirtualClock,
) -> None:
    reset = (clock.now() + timedelta(seconds=60)).timestamp()
    blocked = bitrix_answer(
        429, "OPERATION_TIME_LIMIT", time={"operating_reset_at": reset}
    )
    ok = httpx.Response(200, json={"result": []})
    service = Arrivals(
        clock, [], **{"crm.deal.list": [blocked, ok, ok], "crm.contact.list": [ok] * 3}
    )
    client = client_for(clock, service, slow_down=bitrix24_slow_down)
    deals = {"idempotent": True, "endpoint": "crm.deal.list"}

    first = asyncio.create_task(client.post("/crm.deal.list", **deals))  # type: ignore[arg-type]
    await slowed_down(client, "crm.deal.list")
    for _ in range(3):
        await client.post(
            "/crm.contact.list", idempotent=True, endpoint="crm.contact.list"
        )
    await client.post("/crm.deal.list", **deals)  # type: ignore[arg-type]
    await first

    assert max(service.arrivals("crm.contact.list")) < 60
    assert min(service.arrivals("crm.deal.list")[1:]) >= 60


def bitrix_answer(status: int, error: str, **extra: object) -> httpx.Response:
    return httpx.Response(status, json={"error": error, **extra})


def test_bitrix24_query_limit_slows_the_whole_connection() -> None:
    answer = bitrix_answer(503, "QUERY_LIMIT_EXCEEDED")

    assert bitrix24_slow_down(answer, "crm.deal.list", NOW) == SlowDown(
        None, None, "QUERY_LIMIT_EXCEEDED"
    )


def test_bitrix24_operation_time_limit_slows_one_endpoint() -> None:
    reset = (NOW + timedelta(seconds=75)).timestamp()
    answer = bitrix_answer(
        429, "OPERATION_TIME_LIMIT", time={"operating_reset_at": reset}
    )

    slow = bitrix24_slow_down(answer, "crm.deal.list", NOW)

    assert slow == SlowDown(75.0, "crm.deal.list", "OPERATION_TIME_LIMIT")


def test_bitrix24_other_503_is_not_a_slow_down() -> None:
    assert bitrix24_slow_down(bitrix_answer(503, "OVERLOAD_LIMIT"), "x", NOW) is None


def test_jira_503_with_retry_after_is_a_slow_down() -> None:
    answer = httpx.Response(
        503, headers={"Retry-After": "5", "RateLimit-Reason": "jira-burst-based"}
    )

    assert jira_slow_down(answer, "GET /search/jql", NOW) == SlowDown(
        5.0, None, "jira-burst-based"
    )


def test_jira_503_without_retry_after_is_not_a_slow_down() -> None:
    assert jira_slow_down(httpx.Response(503), "GET /search/jql", NOW) is None


def test_trello_429_names_the_exhausted_limit() -> None:
    answer = httpx.Response(
        429,
        json={"error": "API_TOKEN_LIMIT_EXCEEDED", "message": "Rate limit exceeded"},
    )

    slow = trello_slow_down(answer, "GET /1/boards", NOW)

    assert slow is not None
    assert slow.reason == "API_TOKEN_LIMIT_EXCEEDED"


async def test_client_retries_post_after_bitrix24_query_limit(
    clock: VirtualClock,
) -> None:
    service = Arrivals(
        clock,
        [
            bitrix_answer(503, "QUERY_LIMIT_EXCEEDED"),
            httpx.Response(200, json={"result": 7}),
        ],
    )
    client = client_for(clock, service, slow_down=bitrix24_slow_down)

    response = await client.post("/rest/crm.deal.add", json={}, endpoint="crm.deal.add")

    assert response.status_code == 200
    assert len(service.times) == 2
