"""Taking mapped deals into the store: links, funnel stages, stage changes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa

from servicesync.domain import (
    Deal,
    Pipeline,
    Service,
    Stage,
    StageChange,
    StageSemantics,
    default_pipeline,
)
from servicesync.engine._mapping import DealFields
from servicesync.store._dialect import table_of
from servicesync.store._links import (
    ensure_links,
    find_links,
    fresh_ids,
    select_pairs,
    write_values,
)

__all__ = [
    "StageMove",
    "current_semantics",
    "ensure_funnel",
    "save_deals",
    "stage_semantics",
]

DEALS = table_of(Deal)
STAGES = table_of(Stage)
PIPELINES = table_of(Pipeline)
SERVICES = table_of(Service)
CHANGES = table_of(StageChange)

#: The columns a deal's row is written with, in the order of :func:`_deal_row`.
_DEAL_COLUMNS = ("id", "title", "client_id", "service_id", "stage_id", "amount",
                 "currency", "probability", "owner", "estimate_min_hours",
                 "estimate_max_hours", "expected_close", "created_at",
                 "closed_at")  # fmt: skip
_CHANGE_COLUMNS = ("id", "deal_id", "from_stage_id", "to_stage_id", "changed_at")


class StageMove(NamedTuple):
    """A deal that entered a stage in this page."""

    deal_id: str
    external_id: str
    previous: str | None
    stage: str


def ensure_funnel(conn: sa.Connection) -> dict[str, str]:
    """Return the default funnel's stage ids by code, creating the funnel if absent."""
    pipeline_id = conn.execute(
        sa.select(PIPELINES.c.id).where(PIPELINES.c.is_default.is_(True))
    ).scalar()
    if pipeline_id is None:
        pipeline, stages = default_pipeline()
        conn.execute(sa.insert(PIPELINES).values(pipeline.model_dump()))
        conn.execute(sa.insert(STAGES), [s.model_dump() for s in stages])
        pipeline_id = pipeline.id
    rows = conn.execute(
        sa.select(STAGES.c.code, STAGES.c.id).where(STAGES.c.pipeline_id == pipeline_id)
    )
    return {code: stage_id for code, stage_id in rows}


def stage_semantics(conn: sa.Connection) -> dict[str, StageSemantics]:
    """Return what each stage of the default funnel means, by stage code."""
    rows = conn.execute(
        sa.select(STAGES.c.code, STAGES.c.semantics)
        .join(PIPELINES, PIPELINES.c.id == STAGES.c.pipeline_id)
        .where(PIPELINES.c.is_default.is_(True))
    )
    return {code: StageSemantics(semantics) for code, semantics in rows}


def current_semantics(conn: sa.Connection, deal_id: str) -> StageSemantics | None:
    """Return what the stage a deal stands in now means; ``None`` if unknown."""
    semantics = conn.execute(
        sa.select(STAGES.c.semantics)
        .join(DEALS, DEALS.c.stage_id == STAGES.c.id)
        .where(DEALS.c.id == deal_id)
    ).scalar()
    return None if semantics is None else StageSemantics(semantics)


def save_deals(
    conn: sa.Connection,
    connection: str,
    deals: Sequence[tuple[str, DealFields]],
    now: datetime,
) -> list[StageMove]:
    """Upsert mapped deals; return the stage moves among them.

    A deal seen for the first time counts as a move from no stage.
    """
    if not deals:
        return []
    stages = ensure_funnel(conn)
    codes = {v: k for k, v in stages.items()}
    ids, created = ensure_links(conn, connection, "deal", [e for e, _ in deals], now)
    clients = _known_links(
        conn, connection, "company", [f.client for _, f in deals if f.client]
    )
    services = _service_ids(conn, {f.service for _, f in deals if f.service})
    previous = _current_stages(conn, [i for e, i in ids.items() if e not in created])

    rows: list[tuple[Any, ...]] = []
    moves: list[StageMove] = []
    for external_id, fields in deals:
        deal_id = ids[external_id]
        stage_id = stages.get(fields.stage)
        if stage_id is None:
            continue  # validated before: the code exists in the funnel
        rows.append(_deal_row(deal_id, fields, stage_id, clients, services, now))
        old = previous.get(deal_id)
        if old != stage_id:
            moves.append(
                StageMove(
                    deal_id, external_id, codes.get(old) if old else None, fields.stage
                )
            )
    write_values(conn, DEALS, _DEAL_COLUMNS, rows, ["id"])
    change_ids = fresh_ids(len(moves))
    changes = [
        (
            change_id,
            m.deal_id,
            stages.get(m.previous) if m.previous else None,
            stages[m.stage],
            now,
        )
        for change_id, m in zip(change_ids, moves, strict=True)
    ]
    write_values(conn, CHANGES, _CHANGE_COLUMNS, changes)
    return moves


def _deal_row(
    deal_id: str,
    fields: DealFields,
    stage_id: str,
    clients: dict[str, str],
    services: dict[str, str],
    now: datetime,
) -> tuple[Any, ...]:
    """A deal's values in the order of ``_DEAL_COLUMNS``."""
    client, service = fields.client, fields.service
    return (
        deal_id,
        fields.title,
        clients.get(client) if client else None,
        services.get(service) if service else None,
        stage_id,
        fields.amount,
        fields.currency,
        fields.probability,
        fields.owner,
        fields.estimate_min_hours,
        fields.estimate_max_hours,
        fields.expected_close,
        fields.created_at or now,
        fields.closed_at,
    )


def _known_links(
    conn: sa.Connection, connection: str, record_type: str, external_ids: Sequence[str]
) -> dict[str, str]:
    return find_links(conn, connection, record_type, sorted(set(external_ids)))


def _service_ids(conn: sa.Connection, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = conn.execute(
        sa.select(SERVICES.c.code, SERVICES.c.id).where(SERVICES.c.code.in_(codes))
    )
    return {code: service_id for code, service_id in rows}


def _current_stages(conn: sa.Connection, deal_ids: Sequence[str]) -> dict[str, str]:
    found = select_pairs(conn, DEALS, ("id", "stage_id"), {}, deal_ids)
    return {deal_id: stage_id for deal_id, stage_id in found.items() if stage_id}
