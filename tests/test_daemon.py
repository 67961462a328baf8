"""The daemon's parts in process: schedules, webhooks, switches, metrics.

The schedules here run on the in-process scheduler, which a lone daemon uses
on SQLite; the store under them is SQLite or PostgreSQL. The shared queue of
daemons on PostgreSQL is tested across processes in test_daemon_scale_out.py.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from servicesync._clock import VirtualClock
from servicesync.config import parse_config
from servicesync.daemon import DaemonMetrics, LocalScheduler, SyncJobs
from servicesync.daemon._http import build_http_app
from servicesync.plugins import load_plugins
from servicesync.store import Store
from servicesync_bitrix24.fake import factory as bitrix24_fake

TOKEN = "app-token-for-events"

CONFIG = """
[connections.crm]
plugin = "bitrix24"
[connections.crm.settings]
portal_url = "{crm_url}"
webhook_url = "{webhook_url}"
application_token = "{token}"
[connections.crm.mapping.values.stage]
NEW = "acquaintance"
[connections.crm.schedule]
every = 600
"""


class Daemonish:
    """A daemon's jobs, scheduler and HTTP app, over the Bitrix24 fake, in process."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.clock = store.clock
        self.crm = bitrix24_fake(clock=store.clock, seed=1)
        self.webhook_url = self.crm.credentials()["webhook_url"]
        self.config = parse_config(
            CONFIG.format(
                crm_url=self.crm.base_url, webhook_url=self.webhook_url, token=TOKEN
            )
        )
        self.metrics = DaemonMetrics(store)
        self.jobs = SyncJobs(
            self.config,
            store,
            load_plugins(),
            self.metrics,
            transports={"crm": self.crm.transport()},
        )
        self.scheduler = LocalScheduler(self.jobs, self.clock, grace=30)
        self.http = build_http_app(self.jobs, self.scheduler)
        self.stopping = asyncio.Event()

    async def call(self, method: str, body: dict[str, Any]) -> Any:
        async with httpx.AsyncClient(transport=self.crm.transport()) as client:
            response = await client.post(f"{self.webhook_url}{method}.json", json=body)
            return response.json()["result"]

    def runs(self) -> list[dict[str, Any]]:
        with self.store.transaction() as tx:
            rows = tx.execute(
                sa.text(
                    "SELECT stream, trigger, status, started_at, finished_at "
                    "FROM runs ORDER BY started_at, stream"
                )
            )
            return [dict(row._mapping) for row in rows]

    def bind_events(self, token: str) -> None:
        """Point the portal's deal events at the daemon's webhook route, in process."""
        binding = self.crm.events.add_outgoing_webhook(
            "ONCRMDEALUPDATE", "http://daemon.test/webhooks/crm", token
        )
        assert binding.subscription is not None
        binding.subscription.app = self.http

    async def webhooks_delivered(self) -> list[int | None]:
        return [d.status for d in await self.crm.webhooks.flush()]


@pytest.fixture
async def daemon(store: Store) -> AsyncIterator[Daemonish]:
    assert isinstance(store.clock, VirtualClock)
    world = Daemonish(store)
    yield world
    await world.jobs.aclose()


async def _run_for(world: Daemonish, seconds: float) -> None:
    """Run the scheduler for ``seconds`` of virtual time, then stop it."""
    running = asyncio.create_task(world.scheduler.run(world.stopping))
    await world.clock.sleep(seconds)
    world.stopping.set()
    await running


async def test_schedule_runs_each_connection_on_its_interval(daemon: Daemonish) -> None:
    await daemon.call("crm.deal.add", {"fields": {"TITLE": "Northwind"}})

    await _run_for(daemon, 3 * 600 + 1)

    deal_runs = [r for r in daemon.runs() if r["stream"] == "deals"]
    assert [r["trigger"] for r in deal_runs] == ["schedule"] * 3
    assert all(r["status"] == "ok" for r in deal_runs)


async def test_runs_of_one_connection_never_overlap(daemon: Daemonish) -> None:
    slow = _SlowTransport(daemon.crm.transport(), daemon.clock, seconds=1)
    daemon.jobs.engine.transports["crm"] = slow
    for trigger in ("manual:1", "manual:2", "manual:3"):
        await daemon.scheduler.request("crm", trigger)

    await _run_for(daemon, 600)

    runs = [r for r in daemon.runs() if r["stream"] == "deals"]
    assert [r["trigger"] for r in runs] == ["manual:1", "manual:2", "manual:3"]
    for earlier, later in itertools.pairwise(runs):
        assert earlier["finished_at"] <= later["started_at"]


async def test_webhook_leads_to_a_run_with_its_delivery_key(daemon: Daemonish) -> None:
    deal = await daemon.call("crm.deal.add", {"fields": {"TITLE": "Contoso"}})
    daemon.bind_events(TOKEN)
    await daemon.call("crm.deal.update", {"id": deal, "fields": {"TITLE": "Contoso 2"}})

    statuses = await daemon.webhooks_delivered()
    await _run_for(daemon, 60)

    assert statuses == [200]
    triggers = [r["trigger"] for r in daemon.runs() if r["stream"] == "deals"]
    assert len(triggers) == 1
    assert triggers[0].startswith("webhook:")
    with daemon.store.session() as session:
        from servicesync.domain import Deal
        from sqlmodel import select

        titles = [d.title for d in session.exec(select(Deal))]
    assert titles == ["Contoso 2"]


async def test_webhook_after_the_baseline_reads_only_what_it_names(
    daemon: Daemonish,
) -> None:
    deal = await daemon.call("crm.deal.add", {"fields": {"TITLE": "Contoso"}})
    await daemon.call("crm.deal.add", {"fields": {"TITLE": "Litware"}})
    await daemon.scheduler.request("crm", "manual:baseline")
    await _run_for(daemon, 60)
    baseline_streams = {r["stream"] for r in daemon.runs()}
    daemon.bind_events(TOKEN)
    await daemon.call("crm.deal.update", {"id": deal, "fields": {"TITLE": "Contoso 2"}})
    requests_before = len(daemon.crm.log)

    statuses = await daemon.webhooks_delivered()
    daemon.stopping = asyncio.Event()
    await _run_for(daemon, 60)

    assert statuses == [200]
    webhook_runs = [r for r in daemon.runs() if r["trigger"].startswith("webhook:")]
    # The baseline read every stream; the delivery names one deal, so its
    # sync runs the deals stream alone and asks the portal for that deal.
    assert len(baseline_streams) > 1
    assert [(r["stream"], r["status"]) for r in webhook_runs] == [("deals", "ok")]
    assert len(daemon.crm.log) - requests_before == 1
    with daemon.store.session() as session:
        from servicesync.domain import Deal
        from sqlmodel import select

        titles = sorted(d.title for d in session.exec(select(Deal)))
    assert titles == ["Contoso 2", "Litware"]


async def test_replayed_webhook_has_no_second_effect(daemon: Daemonish) -> None:
    deal = await daemon.call("crm.deal.add", {"fields": {"TITLE": "Fabrikam"}})
    daemon.bind_events(TOKEN)
    await daemon.call("crm.deal.update", {"id": deal, "fields": {"TITLE": "Fab 2"}})
    subscription, event, payload = daemon.crm.webhooks.pending[0]

    first = await daemon.crm.webhooks.deliver(subscription, payload, event=event)
    again = await daemon.crm.webhooks.deliver(subscription, payload, event=event)
    daemon.crm.webhooks.pending.clear()
    await _run_for(daemon, 60)

    assert (first.status, again.status) == (200, 200)
    webhook_runs = [
        r
        for r in daemon.runs()
        if r["stream"] == "deals" and (r["trigger"] or "").startswith("webhook:")
    ]
    # Bitrix24's delivery keys may repeat for distinct changes, so the
    # replay is read once more; the second read finds nothing new to write.
    assert len(webhook_runs) == 2
    assert len({r["trigger"] for r in webhook_runs}) == 1
    assert b'outcome="replayed"' in daemon.metrics.render()
    written = daemon.metrics.render().decode()
    assert 'outcome="written",stream="deals"} 1.0' in written


async def test_forged_webhook_is_rejected_and_changes_nothing(
    daemon: Daemonish,
) -> None:
    deal = await daemon.call("crm.deal.add", {"fields": {"TITLE": "Tailspin"}})
    daemon.bind_events("forged-token")
    await daemon.call("crm.deal.update", {"id": deal, "fields": {"TITLE": "Tail 2"}})

    statuses = await daemon.webhooks_delivered()
    await _run_for(daemon, 60)

    assert statuses == [401]
    assert daemon.runs() == []
    with daemon.store.transaction() as tx:
        receipts = tx.execute(sa.text("SELECT count(*) FROM webhook_receipts")).scalar()
    assert receipts == 0


async def test_paused_connection_is_skipped_until_resumed(daemon: Daemonish) -> None:
    daemon.store.set_control("crm", paused=True, note="portal migration")
    await daemon.scheduler.request("crm", "manual:paused")
    await _run_for(daemon, 60)
    assert daemon.runs() == []

    daemon.store.set_control("crm", paused=False)
    daemon.stopping = asyncio.Event()
    await daemon.scheduler.request("crm", "manual:resumed")
    await _run_for(daemon, 60)

    assert {r["trigger"] for r in daemon.runs()} == {"manual:resumed"}


async def test_stop_lets_the_running_sync_finish_within_the_grace(
    daemon: Daemonish,
) -> None:
    await daemon.call("crm.deal.add", {"fields": {"TITLE": "Litware"}})
    slow = _SlowTransport(daemon.crm.transport(), daemon.clock, seconds=1)
    daemon.jobs.engine.transports["crm"] = slow
    await daemon.scheduler.request("crm", "manual:slow")
    running = asyncio.create_task(daemon.scheduler.run(daemon.stopping))
    await slow.first_call.wait()

    daemon.stopping.set()
    await running

    runs = daemon.runs()
    assert len(runs) == len(daemon.jobs.engine.connector("crm").streams())
    assert all(r["status"] == "ok" for r in runs)


async def test_stop_past_the_grace_checkpoints_and_the_next_run_resumes(
    daemon: Daemonish,
) -> None:
    await daemon.call("crm.deal.add", {"fields": {"TITLE": "Proseware"}})
    slow = _SlowTransport(daemon.crm.transport(), daemon.clock, seconds=20)
    daemon.jobs.engine.transports["crm"] = slow
    await daemon.scheduler.request("crm", "manual:cut")
    running = asyncio.create_task(daemon.scheduler.run(daemon.stopping))
    await slow.first_call.wait()

    daemon.stopping.set()
    await running
    cut = daemon.runs()
    daemon.jobs.engine.transports["crm"] = daemon.crm.transport()
    await daemon.jobs.run("crm", "manual:after")

    assert [r["status"] for r in cut] and cut[-1]["status"] == "interrupted"
    assert all(r["status"] != "running" for r in cut)
    after = [r for r in daemon.runs() if r["trigger"] == "manual:after"]
    assert after and all(r["status"] == "ok" for r in after)


async def test_metrics_move_as_a_sync_runs(daemon: Daemonish) -> None:
    await daemon.call("crm.deal.add", {"fields": {"TITLE": "Adventure Works"}})
    before = daemon.metrics.render()

    await daemon.scheduler.request("crm", "manual:metrics")
    await _run_for(daemon, 60)

    after = daemon.metrics.render().decode()
    assert b"servicesync_runs_total{" not in before
    assert 'servicesync_runs_total{connection="crm",status="ok"} 1.0' in after
    written = 'outcome="written",stream="deals"} 1.0'
    assert f'servicesync_records_total{{connection="crm",{written}' in after
    assert 'servicesync_service_calls_total{connection="crm",kind="calls"}' in after


async def test_health_and_metrics_answer_over_http(daemon: Daemonish) -> None:
    transport = httpx.ASGITransport(app=daemon.http)
    async with httpx.AsyncClient(transport=transport, base_url="http://d") as client:
        health = await client.get("/health")
        metrics = await client.get("/metrics")

    assert health.status_code == 200
    assert health.json()["connections"]["crm"]["schedule"] == "*/10 * * * *"
    assert health.json()["work"] == {"running": [], "waiting": 0}
    assert metrics.status_code == 200
    assert "servicesync_outbox_pending" in metrics.text


class _SlowTransport(httpx.AsyncBaseTransport):
    """Makes every call to a fake take ``seconds`` of the clock's time."""

    def __init__(
        self, inner: httpx.AsyncBaseTransport, clock: VirtualClock, seconds: float
    ) -> None:
        self.inner = inner
        self.clock = clock
        self.seconds = seconds
        self.first_call = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.first_call.set()
        await self.clock.sleep(self.seconds)
        return await self.inner.handle_async_request(request)
