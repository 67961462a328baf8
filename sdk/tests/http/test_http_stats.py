"""Per-endpoint counters of calls, retries, slow-downs and errors."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from servicesync import VirtualClock
from servicesync.errors import ServiceUnavailable
from servicesync_sdk.http import CallStats, ClientStats, RetryPolicy, ServiceClient


def replies(*answers: httpx.Response) -> httpx.MockTransport:
    queue: Iterator[httpx.Response] = iter(answers)
    return httpx.MockTransport(lambda request: next(queue))


async def test_client_counts_calls_retries_and_slow_downs(clock: VirtualClock) -> None:
    transport = replies(httpx.Response(429), httpx.Response(500), httpx.Response(200))
    client = ServiceClient("https://svc.test", clock=clock, transport=transport)

    await client.get("/deals", endpoint="crm.deal.list")

    stats = client.stats.snapshot()["crm.deal.list"]
    assert (stats.calls, stats.retries, stats.slow_downs, stats.errors) == (3, 2, 1, 0)


async def test_client_counts_a_final_failure_as_an_error(clock: VirtualClock) -> None:
    transport = replies(*[httpx.Response(502)] * 2)
    client = ServiceClient(
        "https://svc.test",
        clock=clock,
        transport=transport,
        retry=RetryPolicy(max_attempts=2),
    )

    with pytest.raises(ServiceUnavailable):
        await client.get("/deals", endpoint="crm.deal.list")

    assert client.stats.snapshot()["crm.deal.list"].errors == 1


async def test_client_names_an_unnamed_endpoint_by_method_and_path(
    clock: VirtualClock,
) -> None:
    client = ServiceClient(
        "https://svc.test", clock=clock, transport=replies(httpx.Response(200))
    )

    await client.get("/rest/api/3/myself?expand=groups")

    assert list(client.stats.snapshot()) == ["GET /rest/api/3/myself"]


def test_client_stats_total_adds_every_endpoint() -> None:
    stats = ClientStats()
    stats.count("a", calls=2, retries=1)
    stats.count("b", calls=3, errors=1)

    assert stats.total() == CallStats(calls=5, retries=1, errors=1)
