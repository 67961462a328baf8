"""An independent client, fast-bitrix24, seeds and reads the fake over HTTP."""

from __future__ import annotations

import pytest
from servicesync import SystemClock
from servicesync_bitrix24.fake import FakePortal
from servicesync_sdk.fakes import serve_in_thread

fast_bitrix24 = pytest.importorskip("fast_bitrix24")


async def test_fast_bitrix24_adds_deals_and_reads_them_back() -> None:
    portal = FakePortal(clock=SystemClock(), seed=3)
    with serve_in_thread(portal) as base_url:
        webhook = portal.add_webhook()
        assert webhook.startswith(base_url)
        client = fast_bitrix24.BitrixAsync(webhook, verbose=False, ssl=False)
        await client.call(
            "crm.deal.add",
            [{"fields": {"TITLE": f"Seeded {i}", "OPPORTUNITY": i}} for i in range(70)],
        )

        deals = await client.get_all(
            "crm.deal.list", params={"select": ["ID", "TITLE"]}
        )

    assert sorted(int(d["ID"]) for d in deals) == list(range(1, 71))
    assert {d["TITLE"] for d in deals} == {f"Seeded {i}" for i in range(70)}
