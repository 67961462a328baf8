"""Keeping the store's project and milestones as the delivery tool has them.

Once two-way consistency settled a pair, the store's own copy follows: the
project's budget, currency, hours and end date as both sides now agree on
them (the milestones' amounts scaled with the budget), and each milestone's
due date and when it was reached. Milestones are matched by name, the one
thing the store and the tool share for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from servicesync.domain import Milestone, Project
from servicesync.engine._delivery_view import ProjectView
from servicesync.store._dialect import table_of

__all__ = ["mirror_in_store"]

PROJECTS = table_of(Project)
MILESTONES = table_of(Milestone)
_CENTS = Decimal("0.01")


def mirror_in_store(
    tx: sa.Connection,
    project_id: str,
    view: ProjectView,
    agreed: Mapping[str, str | None],
    moved: Mapping[str, date],
    now: datetime,
) -> None:
    """Update the store's project and milestones, in the caller's transaction.

    Args:
        tx: the transaction that also stores the pair's bases.
        project_id: the project's id in the store.
        view: the project as the delivery tool had it when read.
        agreed: the synced fields' values on the delivery side, after writes.
        moved: the milestones moved in this pass, to their new due dates.
        now: the time a milestone newly reached is marked with.
    """
    values = _project_values(agreed)
    if "budget_amount" in values:
        _scale_milestones(tx, project_id, values["budget_amount"])
    if values:
        where = PROJECTS.c.id == project_id
        tx.execute(sa.update(PROJECTS).where(where).values(**values))
    reached_at = MILESTONES.c.reached_at
    first_reached = sa.func.coalesce(reached_at, sa.literal(now, reached_at.type))
    for milestone in view.milestones:
        tx.execute(
            sa.update(MILESTONES)
            .where(
                MILESTONES.c.project_id == project_id,
                MILESTONES.c.name == milestone.name,
            )
            .values(
                due_date=moved.get(milestone.external_id, milestone.due),
                reached_at=first_reached if milestone.reached else None,
            )
        )


def _project_values(agreed: Mapping[str, str | None]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if agreed.get("amount"):
        values["budget_amount"] = Decimal(str(agreed["amount"]))
    if agreed.get("currency"):
        values["currency"] = agreed["currency"]
    if agreed.get("scope"):
        values["budget_hours"] = Decimal(str(agreed["scope"]))
    if agreed.get("delivery_date"):
        values["end_date"] = date.fromisoformat(str(agreed["delivery_date"]))
    return values


def _scale_milestones(tx: sa.Connection, project_id: str, budget: Decimal) -> None:
    """Scale the milestones' amounts by as much as the project's budget changed."""
    before = tx.execute(
        sa.select(PROJECTS.c.budget_amount).where(PROJECTS.c.id == project_id)
    ).scalar()
    if not before or Decimal(before) == budget:
        return
    ratio = budget / Decimal(before)
    rows = tx.execute(
        sa.select(MILESTONES.c.id, MILESTONES.c.amount).where(
            MILESTONES.c.project_id == project_id
        )
    )
    for milestone_id, amount in list(rows):
        scaled = (Decimal(amount) * ratio).quantize(_CENTS)
        tx.execute(
            sa.update(MILESTONES)
            .where(MILESTONES.c.id == milestone_id)
            .values(amount=scaled)
        )
