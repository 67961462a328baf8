from __future__ import annotations

from b24_helpers import read_all, rest_requests, stream
from servicesync import VirtualClock
from servicesync.contract import StreamState
from servicesync_bitrix24 import Bitrix24Connector
from servicesync_bitrix24.fake import FakePortal


def _seed(portal: FakePortal, count: int) -> None:
    portal.seed(deals=[{"TITLE": f"Deal {i}", "OPPORTUNITY": i} for i in range(count)])


async def test_deals_full_read_of_10000_costs_at_most_six_requests(
    portal: FakePortal, connector: Bitrix24Connector
) -> None:
    _seed(portal, 10_000)

    pages = await read_all(stream(connector, "deals"))

    ids = [r.external_id for p in pages for r in p.records]
    assert len(ids) == 10_000 and len(set(ids)) == 10_000
    assert rest_requests(portal) <= 6
    assert portal.log.count(status=503) == 0


async def test_deals_incremental_read_picks_up_only_changed_deals(
    portal: FakePortal, connector: Bitrix24Connector, clock: VirtualClock
) -> None:
    _seed(portal, 120)
    clock.advance(3600)
    pages = await read_all(stream(connector, "deals"))
    clock.advance(3600)
    portal.data.update_deal(7, {"TITLE": "Changed"})
    portal.data.update_deal(99, {"TITLE": "Changed too"})

    again = await read_all(stream(connector, "deals"), pages[-1].checkpoint)

    changed = [r.external_id for p in again for r in p.records if not r.deleted]
    assert changed == ["7", "99"]


async def test_deals_resume_mid_window_reads_only_after_resume_point(
    portal: FakePortal, connector: Bitrix24Connector, clock: VirtualClock
) -> None:
    _seed(portal, 200)
    start = clock.now()
    state = StreamState().open_window(None, start).resume_at("150")

    pages = await read_all(stream(connector, "deals"), state)

    ids = [int(r.external_id) for p in pages for r in p.records]
    assert ids == list(range(151, 201))
    assert pages[-1].checkpoint.cursor == start


async def test_deals_window_end_is_portal_time(
    portal: FakePortal, connector: Bitrix24Connector, clock: VirtualClock
) -> None:
    _seed(portal, 3)

    pages = await read_all(stream(connector, "deals"))

    assert pages[-1].checkpoint.cursor == clock.now()


async def test_deals_deletion_scan_emits_deleted_records(
    portal: FakePortal, make_connector, clock: VirtualClock
) -> None:
    connector = make_connector(deletion_scan_seconds=60)
    _seed(portal, 60)
    pages = await read_all(stream(connector, "deals"))
    portal.data.delete_deal(12)
    clock.advance(120)

    again = await read_all(stream(connector, "deals"), pages[-1].checkpoint)

    deleted = [r.external_id for p in again for r in p.records if r.deleted]
    assert deleted == ["12"]
    await connector.aclose()


async def test_stages_carry_semantics_of_every_pipeline(
    portal: FakePortal, connector: Bitrix24Connector
) -> None:
    portal.data.add_category("Services")

    pages = await read_all(stream(connector, "stages"))

    ids = {r.external_id: r.payload["EXTRA"]["SEMANTICS"] for r in pages[0].records}
    assert ids["WON"] == "success" and ids["C3:LOSE"] == "failure"


async def test_tasks_stream_reads_tasks_by_id(
    portal: FakePortal, connector: Bitrix24Connector
) -> None:
    for i in range(60):
        await connector.client.call("tasks.task.add", {"fields": {"TITLE": f"T{i}"}})

    pages = await read_all(stream(connector, "tasks"))

    assert len([r for p in pages for r in p.records]) == 60


async def test_other_streams_read_their_rows(
    portal: FakePortal, connector: Bitrix24Connector
) -> None:
    _seed(portal, 2)
    portal.seed(companies=[{"TITLE": "Acme"}], contacts=[{"NAME": "Ann"}])
    counts = {}

    for name in (
        "companies",
        "contacts",
        "pipelines",
        "users",
        "deal_fields",
        "stage_history",
    ):
        pages = await read_all(stream(connector, name))
        counts[name] = sum(len(p.records) for p in pages)

    assert counts == {
        "companies": 1,
        "contacts": 1,
        "pipelines": 1,
        "users": 1,
        "deal_fields": counts["deal_fields"],
        "stage_history": 2,
    }
    assert counts["deal_fields"] > 10


async def test_deals_read_records_reads_the_named_deals_in_one_request(
    portal: FakePortal, connector: Bitrix24Connector
) -> None:
    _seed(portal, 120)
    wanted = [str(i) for i in range(3, 120, 2)] + ["9999", "not-an-id"]

    records = await stream(connector, "deals").read_records(wanted)

    assert [r.external_id for r in records] == [str(i) for i in range(3, 120, 2)]
    assert rest_requests(portal) == 1
