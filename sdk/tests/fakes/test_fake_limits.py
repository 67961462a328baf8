"""Rate-limit emulation: the limiters and the refusals a fake answers with."""

from __future__ import annotations

import httpx
from notes_fake import NotesFake
from servicesync import VirtualClock
from servicesync_sdk.fakes import FixedWindow, HourlyQuota, LeakyBucket
from starlette.responses import JSONResponse


def test_leaky_bucket_refuses_above_capacity(clock: VirtualClock) -> None:
    bucket = LeakyBucket(capacity=50, drain_per_second=2, clock=clock)

    allowed = [bucket.acquire("portal").allowed for _ in range(51)]

    assert allowed.count(True) == 50
    assert allowed[-1] is False


def test_leaky_bucket_drains_on_the_clock(clock: VirtualClock) -> None:
    bucket = LeakyBucket(capacity=50, drain_per_second=2, clock=clock)
    for _ in range(50):
        bucket.acquire()

    refused = bucket.acquire()
    clock.advance(0.5)

    assert refused.retry_after == 0.5
    assert bucket.acquire().allowed


def test_leaky_bucket_keeps_keys_apart(clock: VirtualClock) -> None:
    bucket = LeakyBucket(capacity=1, drain_per_second=1, clock=clock)
    bucket.acquire("a")

    assert bucket.acquire("b").allowed
    assert not bucket.acquire("a").allowed


def test_fixed_window_trello_token_and_key_limits(clock: VirtualClock) -> None:
    per_token = FixedWindow(limit=100, seconds=10, clock=clock)
    per_key = FixedWindow(limit=300, seconds=10, clock=clock)

    def call(token: str) -> bool:
        return per_token.acquire(token).allowed and per_key.acquire("key").allowed

    one_token = [call("t0") for _ in range(150)]
    many_tokens = [call(f"t{n % 5}") for n in range(1, 400)]

    assert one_token.count(True) == 100
    assert many_tokens.count(True) == 200
    assert per_key.used("key") == 300


def test_fixed_window_reopens_after_its_length(clock: VirtualClock) -> None:
    window = FixedWindow(limit=2, seconds=10, clock=clock)
    window.acquire()
    window.acquire()
    refused = window.acquire()

    clock.advance(10)

    assert refused.retry_after == 10
    assert window.acquire().allowed


def test_hourly_quota_counts_an_hour(clock: VirtualClock) -> None:
    quota = HourlyQuota(limit=30, clock=clock)
    for _ in range(30):
        quota.acquire("user")

    clock.advance(3599)
    still_refused = not quota.acquire("user").allowed
    clock.advance(1)

    assert still_refused
    assert quota.acquire("user").allowed


async def test_fake_rate_limit_answers_the_service_response(
    client: httpx.AsyncClient,
) -> None:
    statuses = [(await client.get("/notes")).status_code for _ in range(5)]

    refused = await client.get("/notes")

    assert statuses == [200] * 5
    assert refused.status_code == 429, refused.text
    assert refused.headers["retry-after"] == "1"
    assert refused.json() == {
        "errors": [{"code": "rate_limited", "message": "Slow down."}]
    }


async def test_fake_rate_limit_recovers_on_virtual_time(
    clock: VirtualClock, notes: NotesFake, client: httpx.AsyncClient
) -> None:
    for _ in range(6):
        await client.get("/notes")

    await clock.sleep(int((await client.get("/notes")).headers["retry-after"]))
    response = await client.get("/notes")

    assert response.status_code == 200, response.text
    assert notes.log.count(status=429) == 2


async def test_fake_rate_limit_rule_selects_requests(clock: VirtualClock) -> None:
    fake = NotesFake(clock=clock, seed=3)
    fake.rate_limits.clear()
    fake.add_rate_limit(
        FixedWindow(limit=1, seconds=60, clock=clock),
        reject=lambda d: JSONResponse({"error": "writes"}, status_code=429),
        applies=lambda request: request.method == "POST",
    )

    async with fake.client(headers={"Authorization": f"Bearer {fake.token}"}) as c:
        writes = [
            (await c.post("/notes", json={"title": "x"})).status_code for _ in "ab"
        ]
        reads = [(await c.get("/notes")).status_code for _ in range(8)]

    assert writes == [201, 429]
    assert set(reads) == {200}


async def test_fake_rate_limit_key_reads_path_params(clock: VirtualClock) -> None:
    fake = NotesFake(clock=clock, seed=5)
    fake.rate_limits.clear()
    fake.seed(notes=[{"title": "a"}, {"title": "b"}])
    fake.add_rate_limit(
        FixedWindow(limit=1, seconds=60, clock=clock),
        reject=lambda d: JSONResponse({"error": "per note"}, status_code=429),
        key=lambda request: request.path_params.get("note_id"),
        applies=lambda request: "note_id" in request.path_params,
    )

    async with fake.client(headers={"Authorization": f"Bearer {fake.token}"}) as c:
        statuses = [(await c.get(f"/notes/{n}")).status_code for n in (1, 2, 1)]

    assert statuses == [200, 200, 429]


async def test_fake_rate_limit_before_auth_counts_refused_credentials(
    clock: VirtualClock,
) -> None:
    class CountsEveryone(NotesFake):
        limits_before_auth = True

    fake = CountsEveryone(clock=clock, seed=5)
    fake.rate_limits.clear()
    fake.add_rate_limit(
        FixedWindow(limit=2, seconds=60, clock=clock),
        reject=lambda d: JSONResponse({"error": "busy"}, status_code=503),
    )

    async with fake.client() as anonymous:
        statuses = [(await anonymous.get("/notes")).status_code for _ in range(3)]

    assert statuses == [401, 401, 503]
