"""A stream that reads a service's list of changed records, window by window."""

from __future__ import annotations

import logging
from abc import abstractmethod
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from servicesync.contract import Page, Record, Stream, StreamState
from servicesync.errors import MalformedResponse

__all__ = ["Batch", "Window", "WindowedStream"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Window:
    """The span of change times one run reads: ``[start, end)``.

    Attributes:
        start: the earliest change time read, or ``None`` for everything.
        end: the change time the run stops at, from the service's own clock.
    """

    start: datetime | None
    end: datetime


@dataclass(frozen=True, slots=True)
class Batch:
    """One page as the service answered it.

    Attributes:
        rows: the raw records on the page.
        next: where the following page starts (an offset, a token, the last
            id read), or ``None`` when this was the last page.
    """

    rows: Sequence[Mapping[str, Any]]
    next: str | None


class WindowedStream(Stream):
    """An incremental stream over a list filtered by change time.

    A subclass says how to read the service's clock (:meth:`service_now`) and
    how to fetch one page of the records changed within a window, from a
    position (:meth:`fetch`). The base class does the rest:

    * at the start of a run it fixes the window: from the saved cursor minus
      :attr:`overlap` to the service's time minus :attr:`settle`;
    * after each page it saves the position of the next page, so a run that
      stops half way resumes inside the same window;
    * after the last page it completes the window, so the next run starts
      where this one ended;
    * it turns each row into a :class:`~servicesync.contract.Record` with its
      hash, so a record read again unchanged at the overlap changes nothing.

    Attributes:
        overlap: how far before the saved cursor a new window starts, to
            catch changes the service recorded late.
        settle: how far behind the service's time a window ends, for services
            whose search shows writes late.
    """

    overlap: ClassVar[timedelta] = timedelta(minutes=1)
    settle: ClassVar[timedelta] = timedelta(0)

    @abstractmethod
    async def service_now(self) -> datetime:
        """Return the service's current time, aware, as its own clock says."""

    @abstractmethod
    async def fetch(self, window: Window, position: str | None) -> Batch:
        """Fetch the page of records changed within ``window`` at ``position``.

        Args:
            window: the change times to read.
            position: where the page starts; ``None`` for the first page.

        Raises:
            MalformedResponse: the answer is not what the API describes.
        """

    def external_id(self, row: Mapping[str, Any]) -> object:
        """Return the service's id of ``row``; by default ``row[primary_key]``."""
        try:
            return row[self.primary_key]
        except (KeyError, TypeError) as exc:
            msg = (
                f"A record of stream {self.name!r} has no {self.primary_key!r} "
                "field; the service's answer does not match its API."
            )
            raise MalformedResponse(msg) from exc

    def record(self, row: Mapping[str, Any]) -> Record:
        """Turn one raw row into a record; override to mark deletions."""
        return Record.of(self.external_id(row), row)

    async def open_window(self, state: StreamState) -> StreamState:
        """Return ``state`` with a window opened, unless one is open already."""
        if state.in_window:
            return state
        end = await self.service_now() - self.settle
        start = state.cursor - self.overlap if state.cursor is not None else None
        if start is not None and start > end:
            start = end
        logger.debug("Stream %s opens window %s to %s", self.name, start, end)
        return state.open_window(start, end)

    async def read(self, state: StreamState) -> AsyncIterator[Page]:
        """Yield the pages of the open window, from its resume point on."""
        state = await self.open_window(state)
        assert state.window_end is not None
        window = Window(state.window_start, state.window_end)
        position = state.resume_after
        while True:
            batch = await self.fetch(window, position)
            records = [self.record(row) for row in batch.rows]
            if batch.next is None:
                yield Page(records, state.complete_window())
                return
            if batch.next == position:
                msg = (
                    f"Stream {self.name!r} was handed page position "
                    f"{position!r} again; the service's paging is broken."
                )
                raise MalformedResponse(msg)
            position = batch.next
            state = state.resume_at(position)
            yield Page(records, state)
