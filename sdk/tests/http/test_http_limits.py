"""Limiters keep a well-behaved client under the service's documented limits."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from servicesync import VirtualClock
from servicesync.errors import RateLimited
from servicesync_sdk.http import (
    HourlyQuota,
    LeakyBucket,
    LocalBudgets,
    ServiceClient,
    Throttle,
    WindowLimiter,
    bitrix24_slow_down,
    fingerprint,
    toggl_slow_down,
    trello_slow_down,
)


def client(
    clock: VirtualClock,
    handler: Callable[[httpx.Request], httpx.Response],
    **kwargs: Any,
) -> ServiceClient:
    return ServiceClient(
        "https://svc.test",
        clock=clock,
        transport=httpx.MockTransport(handler),
        **kwargs,
    )


async def drive(target: ServiceClient, calls: int, path: str = "/items") -> None:
    await asyncio.gather(*(target.get(path) for _ in range(calls)))


def test_local_budgets_allow_the_burst_then_ask_to_wait() -> None:
    budgets = LocalBudgets()

    waits = [budgets.take("k", 1, rate=2, burst=3, now=0.0) for _ in range(4)]

    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] == pytest.approx(0.5, abs=1e-3)


@pytest.mark.parametrize(
    ("rate", "burst"),
    [pytest.param(2.0, 50.0, id="bitrix24"), pytest.param(5.0, 250.0, id="enterprise")],
)
async def test_leaky_bucket_keeps_bitrix24_free_of_refusals(
    clock: VirtualClock, bucket_service: Any, rate: float, burst: float
) -> None:
    service = bucket_service(rate, burst)
    bucket = LeakyBucket("bitrix24:portal.test:10.0.0.1", rate, burst)
    target = client(
        clock,
        service,
        limiters=[bucket],
        max_concurrency=8,
        slow_down=bitrix24_slow_down,
    )
    calls = int(burst * 6)

    await drive(target, calls)

    assert service.refused == 0
    assert service.served == calls
    assert calls >= 0.9 * service.allowed(clock.monotonic())


async def test_shared_budget_store_paces_two_clients_as_one(
    clock: VirtualClock, bucket_service: Any, memory_budgets: Any
) -> None:
    service = bucket_service(2.0, 50.0)
    key = "bitrix24:portal.test:10.0.0.1"
    clients = [
        client(
            clock, service, limiters=[LeakyBucket(key, 2, 50, budgets=memory_budgets)]
        )
        for _ in range(2)
    ]

    await asyncio.gather(*(drive(c, 100) for c in clients))

    assert service.refused == 0
    assert memory_budgets.takes[key] == 200


async def test_batch_counts_once_for_a_request_bucket(clock: VirtualClock) -> None:
    throttle = Throttle([LeakyBucket("bitrix24:p:ip", 2, 50)])

    for _ in range(50):
        await throttle.acquire("batch", 50, clock)

    assert clock.monotonic() == 0


async def test_batch_counts_each_action_for_a_cost_limit(clock: VirtualClock) -> None:
    throttle = Throttle([WindowLimiter("asana:token", 150, 60, counts="cost")])

    waits = [await throttle.acquire("/batch", 10, clock) for _ in range(16)]

    assert max(waits[:15]) == 0
    assert waits[15] >= 60


async def test_limiter_applies_only_to_its_endpoints(clock: VirtualClock) -> None:
    members = WindowLimiter("members:key", 1, 900, applies_to=lambda e: "/members" in e)
    throttle = Throttle([members])

    for _ in range(3):
        await throttle.acquire("GET /1/boards/x", 1, clock)
    before_members = clock.monotonic()
    for _ in range(2):
        await throttle.acquire("GET /1/members/me", 1, clock)

    assert before_members == 0
    assert clock.monotonic() >= 900


async def test_throttle_refuses_a_wait_longer_than_allowed(clock: VirtualClock) -> None:
    throttle = Throttle([HourlyQuota("toggl:org:user", 1)])
    await throttle.acquire("GET /me", 1, clock)

    with pytest.raises(RateLimited):
        await throttle.acquire("GET /me", 1, clock, max_wait=60)

    assert clock.monotonic() == 0


def trello_keys(request: httpx.Request) -> list[str]:
    return [f"token:{request.url.params['token']}", f"key:{request.url.params['key']}"]


@pytest.mark.parametrize(
    ("tokens", "calls"),
    [pytest.param(6, 100, id="key-bound"), pytest.param(2, 200, id="token-bound")],
)
async def test_trello_token_and_key_windows_are_both_kept(
    clock: VirtualClock, window_service: Any, tokens: int, calls: int
) -> None:
    service = window_service({"token": (100, 10.0), "key": (300, 10.0)}, trello_keys)
    app_key = WindowLimiter("trello:key:app", 300, 10)
    secrets = [f"tok{n}-secret" for n in range(tokens)]
    clients = [
        client(
            clock,
            service,
            limiters=[
                WindowLimiter(f"trello:token:{fingerprint(t)}", 100, 10),
                app_key,
            ],
            slow_down=trello_slow_down,
            max_concurrency=10,
        )
        for t in secrets
    ]
    paths = [f"/1/boards?key=app&token={t}" for t in secrets]

    await asyncio.gather(
        *(drive(c, calls, p) for c, p in zip(clients, paths, strict=True))
    )

    windows = math.floor(clock.monotonic() / 10) + 1
    per_window = min(300, 100 * tokens)
    assert service.refused == 0
    assert service.served >= 0.9 * per_window * windows


async def test_hourly_quota_stops_the_run_when_spent(
    clock: VirtualClock, window_service: Any
) -> None:
    service = window_service({"user": (30, 3600.0)}, lambda r: ["user:me"], refusal=402)
    quota = HourlyQuota("toggl:org:user", 30)
    target = client(
        clock, service, limiters=[quota], slow_down=toggl_slow_down, max_wait=60
    )

    for _ in range(30):
        await target.get("/me")
    with pytest.raises(RateLimited) as caught:
        await target.get("/me")

    assert service.served == 30
    assert service.refused == 0
    assert caught.value.retry_after == pytest.approx(3600, abs=1)


async def test_hourly_quota_waits_for_the_next_hour(
    clock: VirtualClock, window_service: Any
) -> None:
    service = window_service({"user": (30, 3600.0)}, lambda r: ["user:me"], refusal=402)
    target = client(
        clock, service, limiters=[HourlyQuota("toggl:org:user", 30)], max_concurrency=5
    )

    await drive(target, 45)

    assert service.refused == 0
    assert service.served == 45


def test_shared_window_limiter_never_breaks_the_window(clock: VirtualClock) -> None:
    limiter = WindowLimiter("trello:token:x", 100, 10, budgets=LocalBudgets())

    starts = [limiter.reserve(1, clock) for _ in range(300)]

    assert all(sum(1 for s in starts if t - 10 < s <= t) <= 100 for t in starts)
