"""Walking paged lists, and sending work in chunks.

The helpers know nothing about any service. The caller passes a function
that fetches one page for a position (an offset, a page number, a token, a
cursor, a time window), and the helper yields pages until the list ends.
Each yielded :class:`Paged` says which position it was read at and which
comes next, so a stream can commit its state page by page.

Every walk has a page cap: a service that keeps handing back a next
position forever stops the walk with an error instead of looping.
"""

from __future__ import annotations

import asyncio
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Sequence,
)
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from servicesync.errors import MalformedResponse

__all__ = [
    "Paged",
    "by_cursor",
    "by_offset",
    "by_page_number",
    "by_token",
    "by_window",
    "chunked",
    "run_chunked",
    "time_windows",
]

T = TypeVar("T")
P = TypeVar("P")
R = TypeVar("R")

#: Pages one walk reads at most unless the caller says otherwise.
MAX_PAGES = 10_000


@dataclass(frozen=True)
class Paged(Generic[T, P]):
    """One page of a walk.

    Attributes:
        rows: the records on the page.
        position: the position the page was read at.
        next: the position of the following page, or ``None`` at the end.
    """

    rows: Sequence[T]
    position: P
    next: P | None


async def by_offset(
    fetch: Callable[[int], Awaitable[Sequence[T]]],
    page_size: int,
    *,
    start: int = 0,
    max_pages: int = MAX_PAGES,
) -> AsyncIterator[Paged[T, int]]:
    """Walk a list by row offset (``start=``, ``offset=``) until a short page.

    Example:
        >>> async def fetch(offset: int) -> list[int]:
        ...     return list(range(120))[offset : offset + 50]
        >>> async def count() -> int:
        ...     return sum([len(p.rows) async for p in by_offset(fetch, 50)])
        >>> asyncio.run(count())
        120
    """
    offset = start
    for _ in range(max_pages):
        rows = await fetch(offset)
        full = len(rows) >= page_size
        following = offset + len(rows) if full else None
        yield Paged(rows, offset, following)
        if following is None:
            return
        offset = following
    _too_many(max_pages)


async def by_page_number(
    fetch: Callable[[int], Awaitable[Sequence[T]]],
    page_size: int,
    *,
    first: int = 1,
    max_pages: int = MAX_PAGES,
) -> AsyncIterator[Paged[T, int]]:
    """Walk a list by page number until a short page."""
    number = first
    for _ in range(max_pages):
        rows = await fetch(number)
        following = number + 1 if len(rows) >= page_size else None
        yield Paged(rows, number, following)
        if following is None:
            return
        number = following
    _too_many(max_pages)


async def by_token(
    fetch: Callable[[P | None], Awaitable[tuple[Sequence[T], P | None]]],
    *,
    start: P | None = None,
    max_pages: int = MAX_PAGES,
) -> AsyncIterator[Paged[T, P | None]]:
    """Walk a list that hands out a next-page token (or a ``next`` offset).

    ``fetch`` gets the token (``None`` for the first page) and returns the
    rows and the next token. The walk ends when the token is missing or
    the page is empty, and fails if a token comes back twice.
    """
    token = start
    seen: set[P] = set()
    for _ in range(max_pages):
        rows, following = await fetch(token)
        if not rows:
            following = None
        yield Paged(rows, token, following)
        if following is None:
            return
        if following in seen:
            msg = f"The list handed out next-page token {following!r} twice."
            raise MalformedResponse(msg)
        seen.add(following)
        token = following
    _too_many(max_pages)


async def by_cursor(
    fetch: Callable[[P], Awaitable[Sequence[T]]],
    cursor_of: Callable[[T], P],
    start: P,
    page_size: int,
    *,
    max_pages: int = MAX_PAGES,
) -> AsyncIterator[Paged[T, P]]:
    """Walk a list ordered by a key, asking each time for rows after the last.

    This is the fast way through large Bitrix24 lists: order by ``ID``,
    filter ``>ID`` on the last row's id, and stop at a short page.
    """
    cursor = start
    for _ in range(max_pages):
        rows = await fetch(cursor)
        following = cursor_of(rows[-1]) if len(rows) >= page_size else None
        yield Paged(rows, cursor, following)
        if following is None:
            return
        if following == cursor:
            msg = f"The list did not move past cursor {cursor!r}."
            raise MalformedResponse(msg)
        cursor = following
    _too_many(max_pages)


def time_windows(
    since: datetime, until: datetime, step: timedelta
) -> Iterator[tuple[datetime, datetime]]:
    """Split ``[since, until)`` into consecutive windows at most ``step`` long."""
    if step <= timedelta(0):
        raise ValueError(f"A time window must be longer than zero, not {step!r}.")
    start = since
    while start < until:
        end = min(start + step, until)
        yield start, end
        start = end


async def by_window(
    fetch: Callable[[datetime, datetime], Awaitable[Sequence[T]]],
    since: datetime,
    until: datetime,
    step: timedelta,
) -> AsyncIterator[Paged[T, datetime]]:
    """Read ``[since, until)`` window by window; positions are window starts."""
    for start, end in time_windows(since, until, step):
        rows = await fetch(start, end)
        yield Paged(rows, start, end if end < until else None)


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Yield ``items`` in lists of ``size`` (the last may be shorter).

    Example:
        >>> [len(c) for c in chunked(range(120), 50)]
        [50, 50, 20]
    """
    if size < 1:
        raise ValueError(f"A chunk must hold at least one item, not {size!r}.")
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def run_chunked(
    items: Iterable[T],
    size: int,
    send: Callable[[list[T]], Awaitable[R]],
    *,
    concurrency: int = 1,
) -> list[R]:
    """Send ``items`` in chunks of ``size``; return each chunk's result in order.

    With ``concurrency`` above one, that many chunks are in flight at once;
    the client's own limiters still pace the requests.
    """
    gate = asyncio.Semaphore(concurrency)

    async def one(chunk: list[T]) -> R:
        async with gate:
            return await send(chunk)

    return list(await asyncio.gather(*(one(c) for c in chunked(items, size))))


def _too_many(max_pages: int) -> None:
    msg = (
        f"The list went on past {max_pages} pages; raise max_pages if that is expected."
    )
    raise MalformedResponse(msg)
