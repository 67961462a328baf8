"""Reading a stream the way the engine does, without a database."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from servicesync.contract import Record, Stream, StreamState
from servicesync.errors import RetryableError

__all__ = ["Recorder", "StreamRun"]


@dataclass
class StreamRun:
    """What one run of a stream read.

    Attributes:
        pages: pages taken.
        read: every record read, in order.
        changed: the records whose hash differed from the one kept.
    """

    pages: int = 0
    read: list[Record] = field(default_factory=list)
    changed: list[Record] = field(default_factory=list)


class Recorder:
    """Plays the engine's part for one stream: keeps hashes and the checkpoint.

    Each page is taken whole: the records whose hash changed are kept and
    the page's checkpoint becomes the saved state, as one transaction would
    commit them.

    Attributes:
        state: the saved state.
        hashes: the kept hash of each record, by external id.
        payloads: the kept payload of each record, by external id.
        changes: how often each ``(external_id, hash)`` counted as a change.
    """

    def __init__(self, state: StreamState | None = None) -> None:
        self.state = state or StreamState()
        self.hashes: dict[str, str] = {}
        self.payloads: dict[str, Mapping[str, Any]] = {}
        self.changes: Counter[tuple[str, str]] = Counter()

    async def run(
        self,
        stream: Stream,
        *,
        stop_after: int | None = None,
        between: Callable[[int], Awaitable[None]] | None = None,
    ) -> StreamRun:
        """Read ``stream`` from the saved state.

        Args:
            stream: the stream to read.
            stop_after: stop after this many pages, keeping the checkpoint,
                as a run interrupted half way would.
            between: called with the page number after each page is taken,
                to change the service while the run is under way.
        """
        run = StreamRun()
        pages = stream.read(self.state)
        try:
            async for page in pages:
                run.pages += 1
                self._take(page.records, run)
                self.state = page.checkpoint
                if between is not None:
                    await between(run.pages)
                if stop_after is not None and run.pages >= stop_after:
                    break
        finally:
            close = getattr(pages, "aclose", None)
            if close is not None:
                await close()
        return run

    async def run_to_end(
        self, make_stream: Callable[[], Stream], *, restarts: int = 5
    ) -> list[StreamRun]:
        """Run until a run ends cleanly, starting over from the saved state.

        A run that fails with a retryable error is followed by another one
        from the saved state, on a stream ``make_stream`` builds afresh, as
        the next scheduled run would.
        """
        runs: list[StreamRun] = []
        for attempt in range(restarts + 1):
            try:
                runs.append(await self.run(make_stream()))
                return runs
            except RetryableError:
                if attempt == restarts:
                    raise
        return runs

    def _take(self, records: Sequence[Record], run: StreamRun) -> None:
        for record in records:
            run.read.append(record)
            if self.hashes.get(record.external_id) != record.hash:
                self.hashes[record.external_id] = record.hash
                self.payloads[record.external_id] = record.payload
                self.changes[(record.external_id, record.hash)] += 1
                run.changed.append(record)
