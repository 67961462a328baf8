"""Walking paged lists and sending work in chunks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from servicesync import VirtualClock
from servicesync.errors import MalformedResponse
from servicesync_sdk.http import (
    ServiceClient,
    by_cursor,
    by_offset,
    by_page_number,
    by_token,
    by_window,
    chunked,
    run_chunked,
    time_windows,
)

ROWS = list(range(1, 121))


async def offset_rows(offset: int) -> list[int]:
    return ROWS[offset : offset + 50]


async def test_by_offset_reads_every_row_and_stops_at_a_short_page() -> None:
    pages = [page async for page in by_offset(offset_rows, 50)]

    assert [p.position for p in pages] == [0, 50, 100]
    assert [row for p in pages for row in p.rows] == ROWS
    assert pages[-1].next is None


async def test_by_page_number_counts_from_the_first_page() -> None:
    async def fetch(number: int) -> list[int]:
        return ROWS[(number - 1) * 50 : number * 50]

    pages = [page async for page in by_page_number(fetch, 50)]

    assert [p.position for p in pages] == [1, 2, 3]


async def test_by_token_stops_when_the_token_is_missing() -> None:
    tokens = {None: ([1, 2], "b"), "b": ([3], None)}

    async def fetch(token: str | None) -> tuple[Sequence[int], str | None]:
        return tokens[token]

    pages = [page async for page in by_token(fetch)]

    assert [row for p in pages for row in p.rows] == [1, 2, 3]


async def test_by_token_stops_at_an_empty_page_despite_a_token() -> None:
    async def fetch(token: str | None) -> tuple[Sequence[int], str | None]:
        return ([1], "next") if token is None else ([], "again")

    pages = [page async for page in by_token(fetch)]

    assert len(pages) == 2


async def test_by_token_fails_on_a_repeated_token() -> None:
    async def fetch(token: str | None) -> tuple[Sequence[int], str | None]:
        return [1], "same"

    with pytest.raises(MalformedResponse, match="twice"):
        _ = [page async for page in by_token(fetch)]


async def test_by_cursor_asks_for_rows_after_the_last_id() -> None:
    asked: list[int] = []

    async def fetch(after: int) -> list[int]:
        asked.append(after)
        return [r for r in ROWS if r > after][:50]

    pages = [page async for page in by_cursor(fetch, lambda row: row, 0, 50)]

    assert asked == [0, 50, 100]
    assert sum(len(p.rows) for p in pages) == 120


async def test_by_offset_stops_at_the_page_cap() -> None:
    async def endless(offset: int) -> list[int]:
        return [offset]

    with pytest.raises(MalformedResponse, match="3 pages"):
        _ = [page async for page in by_offset(endless, 1, max_pages=3)]


def test_time_windows_cover_the_range_without_overlap() -> None:
    since = datetime(2026, 1, 1, tzinfo=UTC)

    windows = list(time_windows(since, since + timedelta(days=10), timedelta(days=4)))

    assert [(b - a).days for a, b in windows] == [4, 4, 2]
    assert all(windows[i][1] == windows[i + 1][0] for i in range(len(windows) - 1))


async def test_by_window_reads_each_window_once() -> None:
    since = datetime(2026, 1, 1, tzinfo=UTC)
    asked: list[datetime] = []

    async def fetch(start: datetime, end: datetime) -> list[datetime]:
        asked.append(start)
        return [start]

    pages = [
        p
        async for p in by_window(
            fetch, since, since + timedelta(days=3), timedelta(days=1)
        )
    ]

    assert len(asked) == 3
    assert pages[-1].next is None


def test_chunked_splits_into_groups_of_n() -> None:
    assert [len(c) for c in chunked(range(120), 50)] == [50, 50, 20]


async def test_run_chunked_returns_results_in_order() -> None:
    async def send(chunk: list[int]) -> int:
        return sum(chunk)

    results = await run_chunked(range(10), 3, send, concurrency=2)

    assert results == [3, 12, 21, 9]


async def test_by_offset_walks_a_service_through_the_client(
    clock: VirtualClock,
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        start = int(request.url.params["start"])
        return httpx.Response(200, json={"result": ROWS[start : start + 50]})

    client = ServiceClient(
        "https://svc.test", clock=clock, transport=httpx.MockTransport(handler)
    )

    async def fetch(start: int) -> list[int]:
        response = await client.get("/crm.deal.list", params={"start": start})
        rows: list[int] = client.json(response)["result"]
        return rows

    rows = [row async for page in by_offset(fetch, 50) for row in page.rows]

    assert rows == ROWS
    assert client.stats.total().calls == 3
