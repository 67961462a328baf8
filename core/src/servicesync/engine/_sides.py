"""The two sides of a synced field: how each is read, and whether it can be written.

Every value is compared as text in one form, whatever the side: amounts and
hours with two decimals, dates as ``YYYY-MM-DD``, a project's state as its
domain value (``active``). A CRM field may hold its own words for a value
(a list item for the status, say); the flow's ``deal_values`` table turns
the domain value into the CRM's when writing, and back when reading.

The CRM side of the commercial fields (title, amount, currency, client,
scope) is read from the deal in the store; every other field from the deal
field that ``deal_fields`` names for it. The delivery side is read from the
project as the delivery tool's records sum it up.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from servicesync.config import FlowConfig
from servicesync.domain import Deal
from servicesync.engine._delivery_view import ProjectView

__all__ = [
    "COMMERCIAL_FIELDS",
    "crm_text",
    "crm_values",
    "delivery_values",
    "milestone_text",
    "normal",
]

#: The fields the CRM side reads from the deal in the store.
COMMERCIAL_FIELDS = ("title", "amount", "currency", "client", "scope")

_NUMBERS = frozenset({"amount", "scope"})
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}")
_CENTS = Decimal("0.01")


def normal(field: str, value: Any) -> str | None:
    """Return ``value`` in the one form both sides are compared in."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    if field in _NUMBERS:
        try:
            return str(Decimal(text).quantize(_CENTS))
        except InvalidOperation:
            return text
    if field == "delivery_date" and _DAY.match(text):
        return text[:10]
    return text


def crm_values(
    flow: FlowConfig,
    deal: Deal,
    client: str | None,
    fields: Mapping[str, Any],
) -> dict[str, str | None]:
    """Return the CRM side of every synced field of one deal.

    Args:
        flow: the flow, whose ``deal_fields`` and ``deal_values`` apply.
        deal: the deal in the store.
        client: the name of the deal's client, if known.
        fields: the raw deal fields the watcher kept, by CRM field name.
    """
    values: dict[str, str | None] = {
        "title": normal("title", deal.title),
        "amount": normal("amount", deal.amount),
        "currency": normal("currency", deal.currency),
        "client": normal("client", client),
        "scope": normal("scope", deal.estimate_max_hours),
    }
    for field, crm_field in flow.deal_fields.items():
        if field in COMMERCIAL_FIELDS:
            continue
        raw = normal(field, fields.get(crm_field))
        back = {crm: ours for ours, crm in flow.deal_values.get(field, {}).items()}
        values[field] = back.get(raw, raw) if raw is not None else None
    return values


def crm_text(flow: FlowConfig, field: str, value: str) -> str:
    """Return a value as the CRM field of ``field`` takes it."""
    return flow.deal_values.get(field, {}).get(value, value)


def delivery_values(view: ProjectView) -> dict[str, str | None]:
    """Return the delivery side of every synced field of one project."""
    values = {
        field: normal(field, view.values.get(field)) for field in COMMERCIAL_FIELDS
    }
    end = view.delivery_date
    values.update(
        {
            "status": view.state.value,
            "progress": f"{view.done}/{view.total}",
            "percent": str(view.percent),
            "milestone": milestone_text(view),
            "delivery_date": end.isoformat() if end else None,
        }
    )
    return values


def milestone_text(view: ProjectView) -> str | None:
    """Say where the project's next milestone stands, or that all are reached.

    Example: ``"Findings report: 1/3 done, due 2026-02-04"``.
    """
    if not view.milestones:
        return None
    upcoming = view.next_milestone()
    if upcoming is None:
        return "All milestones reached"
    text = f"{upcoming.name}: {upcoming.done}/{upcoming.total} done"
    return f"{text}, due {upcoming.due.isoformat()}" if upcoming.due else text
