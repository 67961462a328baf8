"""The shared queue of daemons on PostgreSQL, worked in process.

A webhook's sync is deferred as a procrastinate job with the records the
delivery named in its arguments, and a worker takes it from PostgreSQL and
reads just those records. The queue runs on the real clock; the test waits
for the job's run in the store, not for a length of time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from servicesync import SystemClock
from servicesync.config import parse_config
from servicesync.contract import RecordRef
from servicesync.daemon import DaemonMetrics, SyncJobs
from servicesync.daemon._queue import QueueScheduler
from servicesync.domain import Deal
from servicesync.plugins import load_plugins
from servicesync.store import Store, open_store
from servicesync.store._processes import this_process
from servicesync.store.testing import postgres_schema, postgres_url
from servicesync_bitrix24.fake import FakePortal
from servicesync_bitrix24.fake import factory as bitrix24_fake
from sqlmodel import select

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(120)]

CONFIG = """
[store]
url = "{store_url}"

[connections.crm]
plugin = "bitrix24"
[connections.crm.settings]
portal_url = "{crm_url}"
webhook_url = "{webhook_url}"
[connections.crm.mapping.values.stage]
NEW = "acquaintance"

[daemon]
heartbeat_seconds = 1
stall_seconds = 5
"""


@pytest.fixture
def store_url() -> Iterator[str]:
    with postgres_schema() as connect_args:
        url = sa.make_url(postgres_url()).update_query_dict(connect_args)
        yield url.render_as_string(hide_password=False)


def _runs(store: Store, trigger: str) -> list[dict[str, Any]]:
    with store.transaction() as tx:
        rows = tx.execute(
            sa.text("SELECT stream, status FROM runs WHERE trigger = :t ORDER BY id"),
            {"t": trigger},
        )
        return [dict(row._mapping) for row in rows]


async def _until(done: Any) -> None:
    async with asyncio.timeout(60):
        while not done():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


@dataclass
class Queue:
    """One daemon's jobs and queue over the Bitrix24 fake, in process."""

    crm: FakePortal
    store: Store
    jobs: SyncJobs
    scheduler: QueueScheduler


@pytest.fixture
async def queue(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Queue]:
    monkeypatch.setenv("SERVICESYNC_SECRET_KEY", Fernet.generate_key().decode())
    crm = bitrix24_fake(clock=SystemClock(), seed=3)
    text = CONFIG.format(
        store_url=store_url,
        crm_url=crm.base_url,
        webhook_url=crm.credentials()["webhook_url"],
    )
    config = parse_config(text)
    store = open_store(store_url)
    plugins, metrics = load_plugins(), DaemonMetrics(store)
    transports = {"crm": crm.transport()}
    jobs = SyncJobs(config, store, plugins, metrics, transports=transports)
    try:
        yield Queue(crm, store, jobs, QueueScheduler(jobs, store_url, config.daemon))
    finally:
        await jobs.aclose()
        store.close()


async def test_a_queued_webhook_sync_reads_only_the_records_it_names(
    queue: Queue,
) -> None:
    crm, store, jobs, scheduler = queue.crm, queue.store, queue.jobs, queue.scheduler
    webhook_url = crm.credentials()["webhook_url"]
    async with httpx.AsyncClient(transport=crm.transport()) as client:
        added = await client.post(
            f"{webhook_url}crm.deal.add.json", json={"fields": {"TITLE": "Contoso"}}
        )
        deal = str(added.json()["result"])
        crm.data.add_deal({"TITLE": "Litware", "STAGE_ID": "NEW"})
        assert await jobs.run("crm", "manual:baseline") == "ok"
        await client.post(
            f"{webhook_url}crm.deal.update.json",
            json={"id": deal, "fields": {"TITLE": "Contoso 2"}},
        )
    requests_before = len(crm.log)

    stopping = asyncio.Event()
    worker = asyncio.create_task(scheduler.run(stopping))
    # Asked for as the daemon's webhook route asks, perhaps before the
    # queue is open: the request waits for it.
    await scheduler.request("crm", "webhook:k1", [RecordRef("deals", deal)])
    await _until(lambda: _runs(store, "webhook:k1") or worker.done())
    stopping.set()
    await worker

    assert _runs(store, "webhook:k1") == [{"stream": "deals", "status": "ok"}]
    assert len(crm.log) - requests_before == 1
    with store.session() as session:
        titles = sorted(d.title for d in session.exec(select(Deal)))
    assert titles == ["Contoso 2", "Litware"]


async def test_the_sweep_frees_the_outbox_claims_of_a_silent_daemon(
    queue: Queue,
) -> None:
    store, scheduler = queue.store, queue.scheduler
    # A daemon on another host, gone silent while it delivered an event and
    # ran a sync: its worker's heartbeat is an hour old.
    elsewhere = "elsewhere/4242/99"
    with store.transaction() as tx:
        store.outbox_append(tx, "deal_stage_changed", {"deal_id": "d1"}, ["plugin:x"])
    assert store.outbox_claim("plugin:x", timedelta(hours=1), owner=elsewhere)
    async with scheduler.app.open_async():
        sync = scheduler.app.configure_task("servicesync.sync")
        await sync.defer_async(connection="crm", trigger="webhook:k2")
        worker_id = _silent_worker_doing_the_job(store)
        store.locks().try_acquire(f"queue-worker:{worker_id}", elsewhere, 3600)
        held = store.outbox_claim("plugin:x", timedelta(minutes=1))

        assert await scheduler.sweep() == 1

    freed = store.outbox_claim("plugin:x", timedelta(minutes=1))
    assert held == []
    assert [event.payload["deal_id"] for event in freed] == ["d1"]


async def test_the_sweep_forgets_daemons_gone_between_jobs(queue: Queue) -> None:
    store, scheduler = queue.store, queue.scheduler
    # Three daemons recorded their workers: one is alive, one went silent
    # an hour ago, and the row of the third was pruned by procrastinate.
    # None of them was running a job, so no stalled job names them.
    with store.transaction() as tx:
        store.outbox_append(
            tx, "deal_stage_changed", {"deal_id": "d1"}, list(PLUGINS.values())
        )
        alive, silent = (
            int(
                tx.execute(
                    sa.text(
                        "INSERT INTO procrastinate_workers (last_heartbeat) "
                        "VALUES (now() - make_interval(secs => :age)) RETURNING id"
                    ),
                    {"age": age},
                ).scalar_one()
            )
            for age in (1, 3600)
        )
    pruned = silent + 1000
    holders = {alive: "alive/1/1", silent: "silent/2/2", pruned: "pruned/3/3"}
    for worker_id, holder in holders.items():
        store.locks().try_acquire(f"queue-worker:{worker_id}", holder, 3600)
        assert store.outbox_claim(PLUGINS[holder], timedelta(hours=1), owner=holder)

    async with scheduler.app.open_async():
        assert await scheduler.sweep() == 0

    free = {
        holder: bool(store.outbox_claim(plugin, timedelta(minutes=1)))
        for holder, plugin in PLUGINS.items()
    }
    assert free == {"alive/1/1": False, "silent/2/2": True, "pruned/3/3": True}
    assert store.locks().held_under("queue-worker:") == {
        f"queue-worker:{alive}": "alive/1/1"
    }


#: The plugin whose deliveries each daemon of the test above had claimed.
PLUGINS = {
    "alive/1/1": "plugin:a",
    "silent/2/2": "plugin:b",
    "pruned/3/3": "plugin:c",
}


async def test_a_running_daemon_keeps_its_worker_record_and_drops_it_on_stop(
    queue: Queue,
) -> None:
    store, scheduler = queue.store, queue.scheduler
    locks = store.locks()
    stopping = asyncio.Event()
    worker = asyncio.create_task(scheduler.run(stopping))
    await _until(lambda: locks.held_under("queue-worker:") or worker.done())
    [(name, holder)] = locks.held_under("queue-worker:").items()
    assert holder == this_process()

    # Taken for dead by a peer's sweep while it was only late: the record
    # is back within a heartbeat.
    locks.release(name, holder)
    await _until(lambda: locks.held_under("queue-worker:") or worker.done())
    assert locks.held_under("queue-worker:") == {name: holder}

    stopping.set()
    await worker
    assert locks.held_under("queue-worker:") == {}


def _silent_worker_doing_the_job(store: Store) -> int:
    """Make the queued job look taken by a worker silent for an hour."""
    with store.transaction() as tx:
        worker_id = int(
            tx.execute(
                sa.text(
                    "INSERT INTO procrastinate_workers (last_heartbeat) "
                    "VALUES (now() - interval '1 hour') RETURNING id"
                )
            ).scalar_one()
        )
        tx.execute(
            sa.text(
                "UPDATE procrastinate_jobs SET status = 'doing', worker_id = :w "
                "WHERE task_name = 'servicesync.sync'"
            ),
            {"w": worker_id},
        )
    return worker_id


TWO_PORTALS = """
[store]
url = "{store_url}"

[daemon]
heartbeat_seconds = 1
stall_seconds = 5
concurrency = 2
"""

PORTAL = """
[connections.{name}]
plugin = "bitrix24"
[connections.{name}.settings]
portal_url = "{crm_url}"
webhook_url = "{webhook_url}"
[connections.{name}.mapping.values.stage]
NEW = "acquaintance"
"""


class Slow(httpx.AsyncBaseTransport):
    """A portal a tenth of a second away, as real ones are further still."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.1)
        return await self.inner.handle_async_request(request)


async def test_one_daemon_syncs_two_connections_at_once(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERVICESYNC_SECRET_KEY", Fernet.generate_key().decode())
    portals = {name: bitrix24_fake(clock=SystemClock(), seed=n)
               for n, name in enumerate(("east", "west"))}  # fmt: skip
    text = TWO_PORTALS.format(store_url=store_url) + "".join(
        PORTAL.format(
            name=name,
            crm_url=fake.base_url,
            webhook_url=fake.credentials()["webhook_url"],
        )
        for name, fake in portals.items()
    )
    config = parse_config(text)
    store = open_store(store_url)
    transports = {name: Slow(fake.transport()) for name, fake in portals.items()}
    jobs = SyncJobs(
        config, store, load_plugins(), DaemonMetrics(store), transports=transports
    )
    scheduler = QueueScheduler(jobs, store_url, config.daemon)
    try:
        stopping = asyncio.Event()
        worker = asyncio.create_task(scheduler.run(stopping))
        for name in portals:
            await scheduler.request(name, f"manual:{name}")
        await _until(
            lambda: all(_runs(store, f"manual:{n}") for n in portals) or worker.done()
        )
        await _until(
            lambda: _finished(store, "manual:east") and _finished(store, "manual:west")
        )
        stopping.set()
        await worker

        east, west = _span(store, "manual:east"), _span(store, "manual:west")
        assert east[0] < west[1] and west[0] < east[1], (east, west)
    finally:
        await jobs.aclose()
        store.close()


def _finished(store: Store, trigger: str) -> bool:
    runs = _runs(store, trigger)
    return bool(runs) and all(r["status"] != "running" for r in runs)


def _span(store: Store, trigger: str) -> tuple[Any, Any]:
    """When the sync's first run started and its last one finished."""
    with store.transaction() as tx:
        row = tx.execute(
            sa.text(
                "SELECT min(started_at), max(finished_at) FROM runs WHERE trigger = :t"
            ),
            {"t": trigger},
        ).one()
    return row[0], row[1]


async def test_a_request_after_the_queue_closed_is_dropped_not_hung(
    queue: Queue,
) -> None:
    store, scheduler = queue.store, queue.scheduler
    stopping = asyncio.Event()
    stopping.set()  # the daemon stops as soon as it started
    await scheduler.run(stopping)

    # A webhook answered while the HTTP side shuts down: no wait, no job.
    async with asyncio.timeout(5):
        await scheduler.request("crm", "webhook:late")

    with store.transaction() as tx:
        jobs_left = tx.execute(
            sa.text("SELECT count(*) FROM procrastinate_jobs")
        ).scalar_one()
    assert jobs_left == 0
