"""Deals for the benchmarks, made by the Bitrix24 fake's own seeding.

Every benchmark reads the same kind of deal: the fake's full
``crm.deal.list`` row (every standard field and one custom field), with
stages, amounts, currencies and companies varied so that mapping and
validation do real work.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from servicesync import VirtualClock
from servicesync_bitrix24.fake import FakePortal

__all__ = [
    "PAGE_ROWS",
    "STAGE_MAPPING",
    "answer_rows",
    "batch_answer",
    "deal_fields",
    "deal_rows",
    "seed_deals",
]

#: Rows per page as the connector reads them: 50 chained pages in one batch.
PAGE_ROWS = 2500

_STAGES = ("NEW", "PREPARATION", "PREPAYMENT_INVOICE", "EXECUTING",
           "FINAL_INVOICE", "WON", "LOSE")  # fmt: skip

#: The portal's process stages to funnel codes, as a connection maps them.
STAGE_MAPPING = {
    "NEW": "acquaintance",
    "PREPARATION": "diagnostics",
    "PREPAYMENT_INVOICE": "proposal",
    "EXECUTING": "contract_signed",
    "FINAL_INVOICE": "negotiation",
}


def deal_fields(index: int) -> dict[str, Any]:
    """Return the fields of the ``index``-th benchmark deal, as an add takes them."""
    return {
        "TITLE": f"Benchmark deal {index}: data platform rollout",
        "STAGE_ID": _STAGES[index % len(_STAGES)],
        "OPPORTUNITY": 1000 + (index * 37) % 90_000,
        "CURRENCY_ID": "EUR" if index % 3 else "USD",
        "COMPANY_ID": str(1 + index % 500),
        "PROBABILITY": str(index % 101),
        "BEGINDATE": "2026-01-05T00:00:00+03:00",
        "CLOSEDATE": "2026-06-30T00:00:00+03:00",
        "COMMENTS": "Seeded for the benchmarks.",
        "UF_CRM_SERVICE": ("data-audit", "cloud-migration", "ml-pilot")[index % 3],
    }


def seed_deals(
    portal: FakePortal, count: int, progress: Callable[[int], None] | None = None
) -> None:
    """Add ``count`` deals to ``portal`` through its seeding API, in steps of 1,000."""
    for start in range(0, count, 1000):
        stop = min(start + 1000, count)
        portal.seed(deals=(deal_fields(i) for i in range(start, stop)))
        if progress is not None:
            progress(stop - start)


def deal_rows(
    count: int, progress: Callable[[int], None] | None = None
) -> list[dict[str, Any]]:
    """Return ``count`` deals as ``crm.deal.list`` prints them, in id order."""
    portal = FakePortal(clock=VirtualClock(), seed=1)
    seed_deals(portal, count, progress)
    return [dict(row) for row in portal.data.deals.values()]


def batch_answer(rows: list[dict[str, Any]], page: int = 50) -> bytes:
    """Return the bytes of a ``batch`` answer of chained ``crm.deal.list`` pages.

    The shape is the one the connector receives when it reads 2,500 deals
    in one request: ``result.result.p0`` .. ``p49``, 50 rows each.
    """
    chunks = [rows[i : i + page] for i in range(0, len(rows), page)]
    time = {"start": 1767600000.0, "finish": 1767600000.5, "duration": 0.5}
    answer = {
        "result": {
            "result": {f"p{k}": chunk for k, chunk in enumerate(chunks)},
            "result_error": [],
            "result_total": {f"p{k}": 0 for k in range(len(chunks))},
            "result_next": [],
            "result_time": {f"p{k}": time for k in range(len(chunks))},
        },
        "time": time,
    }
    return json.dumps(answer).encode()


def answer_rows(answer: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return the deals of a parsed ``batch`` answer, every page's in order."""
    return [row for page in answer["result"]["result"].values() for row in page]
