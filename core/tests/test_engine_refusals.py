"""A run that refuses too much of what it reads stops, and loses nothing."""

from __future__ import annotations

from typing import Any

import pytest
from engine_world import PagesStream, count_rows, deal_pages, make_runner
from servicesync.config import ConnectionConfig, parse_config
from servicesync.domain import Deal
from servicesync.errors import ConfigError, QuarantineLimitExceeded
from servicesync.store import Store


def unmapped(page: list[dict[str, Any]], count: int) -> None:
    """Give the first ``count`` deals of ``page`` a stage no funnel knows."""
    for deal in page[:count]:
        deal["STAGE"] = ""


def refused_ids(store: Store) -> list[str]:
    return sorted((row.external_id for row in store.quarantined("crm")), key=int)


def limited(share: float) -> ConnectionConfig:
    return ConnectionConfig(plugin="counting", max_quarantined_share=share)


async def test_a_run_past_the_share_stops_after_the_page_that_crossed_it(
    store: Store,
) -> None:
    pages = deal_pages(90, per_page=30)
    unmapped(pages[1], 30)  # 30 of 60 read by the second page: half
    runner, _ = make_runner(store, limited(0.25))

    with pytest.raises(QuarantineLimitExceeded) as raised:
        await runner.run(PagesStream(pages, store.clock))

    message = str(raised.value)
    assert "30 of the 60 records read could not be mapped (50%)" in message
    assert "connections.crm.max_quarantined_share" in message
    assert "servicesync quarantine list" in message
    # The pages read are kept, refused records included; the third is unread.
    assert count_rows(store, Deal) == 30
    assert refused_ids(store) == [str(i) for i in range(31, 61)]
    [run] = store.recent_runs("crm")
    assert (run.status, run.read, run.quarantined) == ("failed", 60, 30)
    assert "max_quarantined_share" in (run.message or "")


async def test_the_next_run_resumes_after_the_page_that_stopped_one(
    store: Store,
) -> None:
    pages = deal_pages(90, per_page=30)
    unmapped(pages[1], 30)
    runner, _ = make_runner(store, limited(0.25))
    with pytest.raises(QuarantineLimitExceeded):
        await runner.run(PagesStream(pages, store.clock))

    counts = await runner.run(PagesStream(pages, store.clock))

    # Only the third page is read; the second's deals wait in the quarantine.
    assert (counts.read, counts.written, counts.quarantined) == (30, 30, 0)
    assert count_rows(store, Deal) == 60
    assert len(refused_ids(store)) == 30


async def test_a_share_at_the_limit_fails_no_run(store: Store) -> None:
    pages = deal_pages(80, per_page=40)
    unmapped(pages[0], 10)
    unmapped(pages[1], 10)
    runner, _ = make_runner(store, limited(0.25))

    counts = await runner.run(PagesStream(pages, store.clock))

    assert (counts.read, counts.written, counts.quarantined) == (80, 60, 20)
    [run] = store.recent_runs("crm")
    assert run.status == "ok"


async def test_a_few_records_read_are_not_judged(store: Store) -> None:
    pages = deal_pages(19, per_page=19)
    unmapped(pages[0], 19)
    runner, _ = make_runner(store, limited(0.0))

    counts = await runner.run(PagesStream(pages, store.clock))

    assert counts.quarantined == 19


@pytest.mark.parametrize("share", [-0.1, 1.5])
def test_a_share_outside_nought_to_one_is_refused(share: float) -> None:
    text = f'[connections.crm]\nplugin = "bitrix24"\nmax_quarantined_share = {share}\n'
    with pytest.raises(ConfigError, match=r"connections\.crm\.max_quarantined_share"):
        parse_config(text)
