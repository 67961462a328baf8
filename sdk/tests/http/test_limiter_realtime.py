"""In real time, over loopback, the limiter keeps a client under a fake's limit.

Every other limiter test runs on a virtual clock; this one serves a fake on
a loopback port and lets about a second of real time pass. It carries an
xdist group of its own, which ``make test`` (``--dist loadgroup``) hands to
one worker as a unit.

The half without a limiter must see refusals however slowly a loaded
machine sends. A burst sent a few requests at a time can take long enough
for the bucket to drain and let it all through, and after the first 429 the
client waits out its ``Retry-After`` before sending more. So all 100
requests are in flight before the first answer comes back: the bucket would
let them all through only if they took nine seconds to arrive, where a
machine at a load of five per core takes two or three.

Each client has its own token and the fake keeps one bucket per token, so
neither half leaves the other a bucket already filled or drained.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator, Sequence

import pytest
from servicesync import SystemClock
from servicesync_sdk.fakes import Decision, FakeService, serve_in_thread
from servicesync_sdk.fakes import LeakyBucket as FakeBucket
from servicesync_sdk.http import (
    LeakyBucket,
    Limiter,
    RetryPolicy,
    ServiceClient,
)
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

pytestmark = pytest.mark.xdist_group("realtime")

#: The fake's published limit: 10 requests a second, 10 at once, per token.
RATE, CAPACITY = 10.0, 10
#: The limited client bursts to 5, not 10: a request is counted when it
#: reaches the fake, up to half a second after the limiter let it go on a
#: busy machine, and the bucket drains 5 requests in that half second.
BURST = 5
#: Larger than the limit; the limited client needs (15 - 5) / 10 = 1 s.
PACED_CALLS = 15
#: Far above what the bucket admits in the time such a burst takes.
UNPACED_CALLS = 100


class ItemsFake(FakeService):
    """A service with one endpoint and a leaky bucket per bearer token."""

    name = "items"

    def __init__(self) -> None:
        super().__init__(clock=SystemClock(), seed=0)
        bucket = FakeBucket(capacity=CAPACITY, drain_per_second=RATE, clock=self.clock)
        self.add_rate_limit(bucket, reject=self._too_many, key=self._token)

    def routes(self) -> Sequence[BaseRoute]:
        return [Route("/items", self._items, methods=["GET"])]

    async def _items(self, request: Request) -> Response:
        return JSONResponse([])

    def _token(self, request: Request) -> str:
        return request.headers.get("authorization", "")

    def _too_many(self, decision: Decision) -> Response:
        response = self.error_response(429, "Too many requests.")
        response.headers["Retry-After"] = str(max(1, math.ceil(decision.retry_after)))
        return response


@pytest.fixture
def served() -> Iterator[tuple[ItemsFake, str]]:
    fake = ItemsFake()
    with serve_in_thread(fake) as base_url:
        yield fake, base_url


def client(
    base_url: str, token: str, limiters: Sequence[Limiter], concurrency: int
) -> ServiceClient:
    # One attempt per call: a retry would hide a refusal and add real waiting.
    return ServiceClient(
        base_url,
        clock=SystemClock(),
        headers={"Authorization": f"Bearer {token}"},
        limiters=limiters,
        max_concurrency=concurrency,
        retry=RetryPolicy(max_attempts=1),
    )


async def burst(target: ServiceClient, calls: int) -> None:
    async with target:
        await asyncio.gather(
            *(target.get("/items") for _ in range(calls)), return_exceptions=True
        )


async def test_limiter_keeps_real_burst_free_of_429s_that_hit_unlimited_client(
    served: tuple[ItemsFake, str],
) -> None:
    fake, base_url = served
    bucket = LeakyBucket("items:paced", RATE, BURST)
    paced = client(base_url, "paced-token", [bucket], concurrency=4)
    unpaced = client(base_url, "unpaced-token", [], concurrency=UNPACED_CALLS)

    await burst(paced, PACED_CALLS)
    answered_while_paced = [entry.status for entry in fake.log]
    await burst(unpaced, UNPACED_CALLS)

    assert paced.stats.total().calls == PACED_CALLS
    assert paced.stats.total().slow_downs == 0
    assert answered_while_paced == [200] * PACED_CALLS
    assert unpaced.stats.total().calls == UNPACED_CALLS
    assert unpaced.stats.total().slow_downs > 0
    assert unpaced.stats.total().slow_downs == fake.log.count(status=429)
