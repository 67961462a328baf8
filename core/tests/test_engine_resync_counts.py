"""What a sync writes, counted: a re-sync of unchanged records costs no writes.

Also how it writes: a page of rows in one statement a table, with the
garbage collector paused while the page is taken in; and what it holds:
no more memory for a stream of many pages than for one of a few.
"""

from __future__ import annotations

import gc
import hashlib
import re
import tracemalloc
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from engine_world import (
    CountingConnector,
    PagesStream,
    count_rows,
    deal_pages,
    make_runner,
)
from servicesync.contract import (
    ConnectorContext,
    canonical_payload,
)
from servicesync.domain import Deal, StageChange
from servicesync.engine import StreamRunner
from servicesync.store import ExternalLink, RecordHash, Store
from servicesync.store._dialect import table_of
from sqlmodel import select

_WRITE = re.compile(r'^\s*(?:INSERT INTO|UPDATE|DELETE FROM)\s+"?(\w+)"?', re.I)


@contextmanager
def rows_written(store: Store) -> Iterator[Counter[str]]:
    """Count the rows the statements run on the store insert, update or delete."""
    written: Counter[str] = Counter()

    def count(
        _conn: Any, cursor: Any, statement: str, *_args: Any, **_kwargs: Any
    ) -> None:
        match = _WRITE.match(statement)
        if match:
            written[match.group(1).lower()] += max(cursor.rowcount, 0)

    sa.event.listen(store.engine, "after_cursor_execute", count)
    try:
        yield written
    finally:
        sa.event.remove(store.engine, "after_cursor_execute", count)


async def test_resync_of_unchanged_deals_maps_and_writes_nothing(
    store: Store,
) -> None:
    pages = deal_pages(1200, per_page=500)
    runner, connector = make_runner(store)
    await runner.run(PagesStream(pages, store.clock))
    mapped_before = connector.mapped

    with rows_written(store) as written:
        counts = await runner.run(PagesStream(pages, store.clock))

    assert (counts.read, counts.written, counts.skipped_unchanged) == (1200, 0, 1200)
    assert counts.events == 0
    assert connector.mapped == mapped_before
    # Only the run's bookkeeping is written: its history row and the state.
    assert set(written) <= {"runs", "stream_state"}


async def test_first_load_writes_each_deal_link_hash_and_move_once(
    store: Store,
) -> None:
    runner, connector = make_runner(store)

    with rows_written(store) as written:
        counts = await runner.run(
            PagesStream(deal_pages(1200, per_page=500), store.clock)
        )

    assert (counts.read, counts.written, counts.skipped_unchanged) == (1200, 1200, 0)
    assert connector.mapped == 1200
    assert written["deals"] == written["external_links"] == 1200
    assert written["record_hashes"] == written["deal_stage_changes"] == 1200
    assert count_rows(store, Deal) == count_rows(store, ExternalLink) == 1200
    assert count_rows(store, StageChange) == 1200


async def test_resync_with_one_changed_deal_maps_and_writes_only_that_one(
    store: Store,
) -> None:
    pages = deal_pages(300, per_page=100)
    runner, connector = make_runner(store)
    await runner.run(PagesStream(pages, store.clock))
    mapped_before = connector.mapped
    pages[1][7] = {**pages[1][7], "TITLE": "Deal 108, renamed"}

    with rows_written(store) as written:
        counts = await runner.run(PagesStream(pages, store.clock))

    assert (counts.written, counts.skipped_unchanged) == (1, 299)
    assert connector.mapped == mapped_before + 1
    assert written["deals"] == written["record_hashes"] == 1
    assert written["external_links"] == written["deal_stage_changes"] == 0
    with store.session() as session:
        renamed = session.exec(select(Deal.title).where(Deal.title.endswith("renamed")))
        assert renamed.all() == ["Deal 108, renamed"]


def put_blake2b_digests(store: Store, pages: list[list[dict[str, Any]]]) -> None:
    """Store the digests a version before XXH3 payload hashes wrote."""
    hashes = table_of(RecordHash)
    with store.transaction() as tx:
        for (external_id,) in tx.execute(sa.select(hashes.c.external_id)).all():
            payload = pages[(int(external_id) - 1) // 100][(int(external_id) - 1) % 100]
            digest = hashlib.blake2b(canonical_payload(payload), digest_size=16)
            tx.execute(
                sa.update(hashes)
                .where(hashes.c.external_id == external_id)
                .values(hash=digest.hexdigest())
            )


@pytest.mark.parametrize("earlier", ["blake2b-digests", "hashes-of-the-parse"])
async def test_resync_after_the_digest_changed_rewrites_only_the_hashes_once(
    store: Store, earlier: str
) -> None:
    pages = deal_pages(300, per_page=100)
    runner, connector = make_runner(store)
    await runner.run(PagesStream(pages, store.clock))
    if earlier == "blake2b-digests":
        put_blake2b_digests(store, pages)
    # After hashes of the parsed payload, the stream hashes each row's text.
    as_text = earlier == "hashes-of-the-parse"
    pages[2][0] = {**pages[2][0], "TITLE": "Deal 201, renamed"}
    mapped_before = connector.mapped

    with rows_written(store) as written:
        counts = await runner.run(PagesStream(pages, store.clock, as_text=as_text))
    with rows_written(store) as written_again:
        again = await runner.run(PagesStream(pages, store.clock, as_text=as_text))

    assert (counts.written, counts.skipped_unchanged) == (1, 299)
    assert connector.mapped == mapped_before + 1
    assert written["deals"] == 1
    assert written["record_hashes"] == 300
    assert (again.written, again.skipped_unchanged) == (0, 300)
    assert set(written_again) <= {"runs", "stream_state"}


@contextmanager
def statements_run(store: Store) -> Iterator[Counter[str]]:
    """Count the insert, update and delete statements run on the store, by table."""
    run: Counter[str] = Counter()

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        match = _WRITE.match(statement)
        if match:
            run[match.group(1).lower()] += 1

    sa.event.listen(store.engine, "before_cursor_execute", count)
    try:
        yield run
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", count)


async def test_first_load_writes_each_table_in_one_statement_a_page(
    store: Store,
) -> None:
    runner, _ = make_runner(store)

    with statements_run(store) as statements:
        counts = await runner.run(
            PagesStream(deal_pages(1200, per_page=500), store.clock)
        )

    # Three pages of up to 500 deals: one multi-row INSERT per table and
    # page, however many rows the page holds.
    assert counts.pages == 4  # the three pages and the window's end
    for table in ("deals", "external_links", "record_hashes", "deal_stage_changes"):
        assert statements[table] == 3, table


class CollectorWatchingConnector(CountingConnector):
    """Notes, for each deal it maps, whether the garbage collector was on."""

    def __init__(self, context: ConnectorContext) -> None:
        super().__init__(context)
        self.collector_on: list[bool] = []

    def map_record(
        self, stream: str, payload: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        self.collector_on.append(gc.isenabled())
        return super().map_record(stream, payload)


def watching_runner(store: Store) -> tuple[StreamRunner, CollectorWatchingConnector]:
    return make_runner(store, connector_type=CollectorWatchingConnector)


async def test_pages_are_taken_in_with_the_collector_paused(store: Store) -> None:
    runner, connector = watching_runner(store)
    assert gc.isenabled()

    await runner.run(PagesStream(deal_pages(30, per_page=10), store.clock))

    assert connector.collector_on == [False] * 30
    assert gc.isenabled()


async def test_a_collector_the_application_turned_off_stays_off(store: Store) -> None:
    runner, _ = watching_runner(store)
    gc.disable()
    try:
        await runner.run(PagesStream(deal_pages(30, per_page=10), store.clock))
        assert not gc.isenabled()
    finally:
        gc.enable()


def pages_made_on_demand(pages: int, first_id: int) -> Iterator[list[dict[str, Any]]]:
    """Pages of 100 deals, each made only when the stream is asked for it."""
    for number in range(pages):
        start = first_id + number * 100
        yield [
            {
                "ID": str(i),
                "TITLE": f"Deal {i}",
                "COMMENTS": f"Deal {i}: " + "platform rollout, phase two. " * 30,
                "STAGE": "proposal",
                "AMOUNT": "1200.50",
            }
            for i in range(start, start + 100)
        ]


async def peak_memory(store: Store, pages: int, first_id: int) -> int:
    """Return the most memory Python held while a new runner read ``pages`` pages."""
    runner, _ = make_runner(store)
    tracemalloc.start()
    try:
        await runner.run(
            PagesStream(pages_made_on_demand(pages, first_id), store.clock)
        )
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


async def test_memory_stays_flat_however_many_pages_a_stream_has(
    store: Store,
) -> None:
    await peak_memory(store, 2, first_id=1)  # caches and statements warm up
    few = await peak_memory(store, 2, first_id=100_000)
    many = await peak_memory(store, 12, first_id=200_000)

    assert count_rows(store, Deal) == (2 + 2 + 12) * 100
    # A page of these deals is over a hundred kilobytes of Python objects:
    # twelve pages held on to would need several times what two need.
    assert many < few * 1.5, (few, many)
