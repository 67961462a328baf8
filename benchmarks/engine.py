"""The engine's speed on SQLite: a first load of N deals, then a re-sync.

The deals start as the bytes of ``batch`` answers of chained
``crm.deal.list`` pages, 2,500 deals each, as the Bitrix24 connector
receives them. A stream reads each answer exactly as the connector's deal
stream does (without its HTTP calls): each row kept as its JSON text, its
id read and its text hashed, the text parsed only if the runner asks for
the row's payload. The :class:`~servicesync.engine.StreamRunner` takes
the pages into a store on a SQLite file: mapping by the Bitrix24
connector, validation, links, deals, stage changes, payload hashes and
stream state, one transaction per page.

* first load: an empty store takes in N deals;
* re-sync: the same N deals read again, unchanged; the runner must skip
  them by hash.

The peer, dlt, merges the same deals into SQLite twice, in the same run
(see :mod:`benchmarks._dlt_peer`), and the table gives the ratios.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from servicesync import SystemClock
from servicesync.config import ConnectionConfig, Mapping_
from servicesync.contract import Page, Stream, StreamState
from servicesync.engine import StreamCounts, StreamRunner
from servicesync.store import Store, open_store
from servicesync_bitrix24 import Bitrix24Config, Bitrix24Connector
from servicesync_bitrix24._client import BatchAnswer
from servicesync_bitrix24._streams import DealStream
from servicesync_sdk.testing import memory_context

from benchmarks._deals import (
    PAGE_ROWS,
    STAGE_MAPPING,
    batch_answer,
    deal_rows,
)
from benchmarks._dlt_peer import dlt_version, load_twice
from benchmarks._report import Goal, Reporter, Section, rate

__all__ = ["FIRST_LOAD_GOAL", "RESYNC_GOAL", "run"]

#: Records a second the engine must reach on a two-core machine.
FIRST_LOAD_GOAL = 40_000
RESYNC_GOAL = 100_000

CONNECTION = "crm"
DEALS = DealStream.spec

#: Deals dlt merges at most: its re-sync, a few hundred deals a second and
#: slower as the table grows, would take the better part of an hour at
#: 100,000. Beside our figures for more deals the ratio favours dlt.
PEER_DEALS = 20_000


class AnswerStream(Stream):
    """The connector's deal stream, reading recorded answers instead of HTTP.

    Each page reads one answer's bytes as the connector's client reads a
    fast listing (each row kept as its JSON text, hashed, and parsed only
    if the runner asks for it), and moves the checkpoint the way the
    connector's windowed streams do.
    """

    name = "deals"
    record_type = "deal"
    primary_key = "ID"

    def __init__(self, answers: list[bytes], connector: Bitrix24Connector) -> None:
        self.answers = answers
        self.client = connector.client

    async def read(self, state: StreamState) -> AsyncIterator[Page]:
        """Yield one page per recorded answer, then the window's end."""
        state = state.open_window(state.cursor, SystemClock().now())
        for raw in self.answers:
            answer = self.client.parse_listing(httpx.Response(200, content=raw))
            records, _, _ = self.client.collect_rows(DEALS, BatchAnswer.of(answer))
            state = state.resume_at(records[-1].external_id)
            yield Page(records, state)
        yield Page([], state.complete_window())


@dataclass
class Timing:
    """One pass of the runner over every deal."""

    seconds: float
    cpu_seconds: float
    counts: StreamCounts

    def per_second(self) -> float:
        """Records read a second."""
        return rate(self.counts.read, self.seconds)


def connection_config() -> ConnectionConfig:
    """The connection as a config file would give it, stage mapping included."""
    return ConnectionConfig(
        plugin="bitrix24",
        mapping=Mapping_(
            fields={"UF_CRM_SERVICE": "service"}, values={"stage": STAGE_MAPPING}
        ),
    )


def make_connector() -> Bitrix24Connector:
    """A Bitrix24 connector; the runner only asks it to map deals."""
    config = Bitrix24Config(
        portal_url="https://bench.bitrix24.com",
        webhook_url="https://bench.bitrix24.com/rest/1/benchmark/",
    )
    return Bitrix24Connector(
        config, memory_context(SystemClock(), connection=CONNECTION)
    )


async def timed_pass(
    store: Store, answers: list[bytes], advance: Callable[[int], None]
) -> Timing:
    """Run the stream once through a new runner; return its time and counts."""
    connector = make_connector()
    runner = StreamRunner(
        store,
        CONNECTION,
        connector,
        connection_config(),
        progress=lambda _stream, size: advance(size),
    )
    started, cpu = time.perf_counter(), time.process_time()
    counts = await runner.run(AnswerStream(answers, connector))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    await connector.aclose()
    return Timing(seconds, cpu, counts)


def load_and_resync(
    answers: list[bytes], count: int, reporter: Reporter
) -> tuple[Timing, Timing]:
    """Load the deals into a fresh SQLite store, then read them again."""
    with tempfile.TemporaryDirectory(prefix="servicesync-bench-") as folder:
        store = open_store(f"sqlite:///{Path(folder) / 'bench.db'}")
        try:
            with reporter.step(f"first load of {count:,} deals", count) as advance:
                first = asyncio.run(timed_pass(store, answers, advance))
            with reporter.step(f"re-sync of {count:,} deals", count) as advance:
                again = asyncio.run(timed_pass(store, answers, advance))
        finally:
            store.close()
    return first, again


def run(reporter: Reporter, *, full: bool, repeat: int) -> list[Section]:
    """Measure a first load and a re-sync; the best of ``repeat`` passes counts."""
    count = 100_000 if full else 20_000
    with reporter.step(f"seeding {count:,} deals in the fake", count) as advance:
        rows = deal_rows(count, advance)
    answers = [
        batch_answer(rows[i : i + PAGE_ROWS]) for i in range(0, count, PAGE_ROWS)
    ]
    del rows  # only the bytes are read; the dicts would only burden the GC
    passes = [load_and_resync(answers, count, reporter) for _ in range(repeat)]
    first = max((p[0] for p in passes), key=Timing.per_second)
    again = max((p[1] for p in passes), key=Timing.per_second)
    section = _section(count, len(answers[0]) // PAGE_ROWS, first, again)
    peer_count = min(count, PEER_DEALS)
    peer_answers = answers[: peer_count // PAGE_ROWS]
    _add_peer(section, peer_answers, peer_count, reporter, (first, again))
    return [section]


def _add_peer(
    section: Section,
    answers: list[bytes],
    count: int,
    reporter: Reporter,
    ours: tuple[Timing, Timing],
) -> None:
    """Measure dlt on the same deals, once, and set its rows beside ours."""
    version = dlt_version()
    if version is None:
        section.notes.append(
            "dlt is not installed, so no peer was measured; `make bench` "
            "installs it (the workspace's `bench` group)."
        )
        return
    with reporter.step(f"dlt: two merges of {count:,} deals", 2 * count) as advance:
        peer = load_twice(answers, count, advance)
    figures: dict[str, dict[str, float]] = {}
    for label, mine, theirs in zip(("first load", "re-sync"), ours, peer, strict=True):
        speed = rate(theirs.rows, theirs.seconds)
        section.rows.append(
            [
                f"dlt {label}",
                f"{theirs.seconds:.2f}",
                f"{theirs.cpu_seconds:.2f}",
                f"{speed:,.0f}",
                f"{theirs.rows:,}",
                "0",
            ]
        )
        figures[label.replace(" ", "_").replace("-", "")] = {
            "seconds": round(theirs.seconds, 3),
            "cpu_seconds": round(theirs.cpu_seconds, 3),
            "records_per_second": round(speed),
            "ours_to_theirs": round(mine.per_second() / speed, 2),
        }
    section.rows.append(
        [
            "ours / dlt, records/s",
            "",
            "",
            f"{figures['first_load']['ours_to_theirs']:.2f} and "
            f"{figures['resync']['ours_to_theirs']:.2f}",
            "",
            "",
        ]
    )
    section.figures["dlt"] = {"version": version, **figures}
    section.notes.append(
        f"dlt {version}: the first {count:,} of the same deals merged by ID into "
        "a SQLite file through its sqlalchemy destination, measured once (ours: "
        "the best of the passes); it neither maps nor validates, and loads "
        "every deal again on a re-sync."
    )


def _section(count: int, row_bytes: int, first: Timing, again: Timing) -> Section:
    section = Section(
        name="engine",
        title=f"Engine on SQLite, {count:,} deals (parsing included), and dlt",
        columns=["pass", "seconds", "CPU s", "records/s", "written", "skipped"],
    )
    for label, timing in (("first load", first), ("re-sync", again)):
        counts = timing.counts
        section.rows.append(
            [
                label,
                f"{timing.seconds:.2f}",
                f"{timing.cpu_seconds:.2f}",
                f"{timing.per_second():,.0f}",
                f"{counts.written:,}",
                f"{counts.skipped_unchanged:,}",
            ]
        )
        section.figures[label.replace(" ", "_").replace("-", "")] = {
            "records": counts.read,
            "seconds": round(timing.seconds, 3),
            "cpu_seconds": round(timing.cpu_seconds, 3),
            "records_per_second": round(timing.per_second()),
            "written": counts.written,
            "skipped_unchanged": counts.skipped_unchanged,
            "quarantined": counts.quarantined,
            "pages": counts.pages,
        }
    section.figures["deals"] = count
    section.figures["bytes_per_deal"] = row_bytes
    section.goals = [
        Goal("first load", FIRST_LOAD_GOAL, first.per_second()),
        Goal("re-sync", RESYNC_GOAL, again.per_second()),
    ]
    section.notes += [
        f"Each deal is about {row_bytes:,} bytes of JSON; "
        f"{PAGE_ROWS:,} deals a page, one transaction a page.",
        "CPU s is this process's CPU time; well below seconds, it means other "
        "work shared the machine.",
    ]
    return section
