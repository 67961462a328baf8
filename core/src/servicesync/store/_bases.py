"""What two-way consistency keeps: records it watched, base values, conflicts.

Three tables beside the sync ledger:

* ``two_way_records``: what the two-way sync read of the records that matter
  to a linked deal and project (the deal's own fields, the project's tasks,
  milestones and budget), one row per record of a stream, so that a project's
  progress can be summed up although incremental streams only ever hand over
  what changed;
* ``two_way_bases``: per deal, flow and field, the value each side held when
  the two last agreed (or when servicesync last wrote it). A value read back
  equal to its base is no change, which is how an echo of servicesync's own
  write is recognised;
* ``two_way_conflicts``: each field both sides changed away from its base,
  with both values, the base and the decision; never deleted.

The functions take a Core connection, so callers commit these rows in one
transaction with what they describe.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, Index, SQLModel

from servicesync.domain._base import id_field, json_field, time_field
from servicesync.store._dialect import table_of, upsert

__all__ = [
    "BaseValues",
    "Intents",
    "TwoWayBase",
    "TwoWayConflict",
    "TwoWayIntent",
    "TwoWayRecord",
    "apply_intent",
    "bases_of",
    "conflicts",
    "drop_records",
    "intents_of",
    "keep_records",
    "kept_data",
    "record_conflict",
    "records_of",
    "save_bases",
    "save_intent",
]


class TwoWayRecord(SQLModel, table=True):
    """A record of a flow's connection, as the two-way sync keeps it."""

    __tablename__ = "two_way_records"
    __table_args__ = (Index(None, "connection", "belongs_to"),)

    connection: str = Field(primary_key=True, max_length=100)
    stream: str = Field(primary_key=True, max_length=100)
    external_id: str = Field(primary_key=True, max_length=200)
    kind: str = Field(max_length=16, description="deal, project, milestone or task")
    belongs_to: str = Field(
        max_length=200,
        description="The key of the project it is part of, or the deal's own id.",
    )
    data: dict[str, Any] = json_field(dict)
    seen_at: datetime = time_field()


class TwoWayBase(SQLModel, table=True):
    """The last value each side of a deal and its project agreed on, by field."""

    __tablename__ = "two_way_bases"

    flow: str = Field(primary_key=True, max_length=100)
    deal_id: str = Field(primary_key=True, max_length=26)
    field: str = Field(primary_key=True, max_length=200)
    crm_value: str | None = None
    delivery_value: str | None = None
    revision: int = Field(
        default=0, description="How many times servicesync wrote the field."
    )
    updated_at: datetime = time_field()


class TwoWayIntent(SQLModel, table=True):
    """The bases a two-way write leaves, kept until the write is known made.

    Written before the write is sent; applied to ``two_way_bases`` once the
    journal confirms the write (at once, or by a later sync when a crash
    came in between), and dropped when the write turns out not to be made.
    """

    __tablename__ = "two_way_intents"

    dedup_key: str = Field(primary_key=True, max_length=300)
    flow: str = Field(max_length=100, index=True)
    deal_id: str = Field(max_length=26)
    bases: dict[str, Any] = json_field(dict)
    created_at: datetime = time_field()


class TwoWayConflict(SQLModel, table=True):
    """A field both sides changed away from its base, and how it was settled."""

    __tablename__ = "two_way_conflicts"

    id: str = id_field()
    flow: str = Field(max_length=100, index=True)
    deal_id: str = Field(max_length=26, index=True)
    project_key: str = Field(max_length=200)
    field: str = Field(max_length=200)
    owner: str = Field(max_length=16, description="The side the rule prefers.")
    base_crm: str | None = None
    base_delivery: str | None = None
    crm_value: str | None = None
    delivery_value: str | None = None
    kept: str | None = Field(default=None, description="The value both now hold.")
    decision: str = ""
    created_at: datetime = time_field()


RECORDS = table_of(TwoWayRecord)
BASES = table_of(TwoWayBase)
CONFLICTS = table_of(TwoWayConflict)
INTENTS = table_of(TwoWayIntent)

#: Ids per ``IN (...)``, well under every database's limit on parameters.
_CHUNK = 500


@dataclass(frozen=True)
class BaseValues:
    """The base of one field: each side's last agreed value, and its revision."""

    crm: str | None
    delivery: str | None
    revision: int = 0


def kept_data(
    tx: sa.Connection, connection: str, stream: str, external_ids: Sequence[str]
) -> dict[str, tuple[str, dict[str, Any]]]:
    """Return ``belongs_to`` and the data kept of each record that has a row."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for start in range(0, len(external_ids), _CHUNK):
        rows = tx.execute(
            sa.select(
                RECORDS.c.external_id, RECORDS.c.belongs_to, RECORDS.c.data
            ).where(
                RECORDS.c.connection == connection,
                RECORDS.c.stream == stream,
                RECORDS.c.external_id.in_(external_ids[start : start + _CHUNK]),
            )
        )
        found.update({row[0]: (row[1], row[2]) for row in rows})
    return found


def keep_records(tx: sa.Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert or replace records, keyed by connection, stream and external id."""
    upsert(tx, RECORDS, list(rows), ["connection", "stream", "external_id"])


def drop_records(
    tx: sa.Connection, connection: str, stream: str, external_ids: Sequence[str]
) -> None:
    """Forget records the service deleted or that no longer matter."""
    for start in range(0, len(external_ids), _CHUNK):
        tx.execute(
            sa.delete(RECORDS).where(
                RECORDS.c.connection == connection,
                RECORDS.c.stream == stream,
                RECORDS.c.external_id.in_(external_ids[start : start + _CHUNK]),
            )
        )


def records_of(
    tx: sa.Connection, connection: str, owners: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    """Return the data kept of ``connection``'s records, by what they belong to."""
    found: dict[str, list[dict[str, Any]]] = {owner: [] for owner in owners}
    for start in range(0, len(owners), _CHUNK):
        rows = tx.execute(
            sa.select(RECORDS.c.belongs_to, RECORDS.c.data)
            .where(
                RECORDS.c.connection == connection,
                RECORDS.c.belongs_to.in_(owners[start : start + _CHUNK]),
            )
            .order_by(RECORDS.c.stream, RECORDS.c.external_id)
        )
        for owner, data in rows:
            found[owner].append(data)
    return found


def bases_of(
    tx: sa.Connection, flow: str, deal_ids: Sequence[str]
) -> dict[str, dict[str, BaseValues]]:
    """Return the bases of each deal of ``flow``, by field."""
    found: dict[str, dict[str, BaseValues]] = {deal: {} for deal in deal_ids}
    for start in range(0, len(deal_ids), _CHUNK):
        rows = tx.execute(
            sa.select(
                BASES.c.deal_id,
                BASES.c.field,
                BASES.c.crm_value,
                BASES.c.delivery_value,
                BASES.c.revision,
            ).where(
                BASES.c.flow == flow,
                BASES.c.deal_id.in_(deal_ids[start : start + _CHUNK]),
            )
        )
        for deal_id, field, crm, delivery, revision in rows:
            found[deal_id][field] = BaseValues(crm, delivery, revision)
    return found


def save_bases(
    tx: sa.Connection,
    flow: str,
    deal_id: str,
    bases: dict[str, BaseValues],
    now: datetime,
) -> None:
    """Store the bases of one deal's fields, replacing the earlier ones."""
    rows = [
        {
            "flow": flow,
            "deal_id": deal_id,
            "field": field,
            "crm_value": base.crm,
            "delivery_value": base.delivery,
            "revision": base.revision,
            "updated_at": now,
        }
        for field, base in bases.items()
    ]
    upsert(tx, BASES, rows, ["flow", "deal_id", "field"])


def save_intent(
    tx: sa.Connection,
    dedup_key: str,
    flow: str,
    deal_id: str,
    bases: dict[str, BaseValues],
    now: datetime,
) -> None:
    """Keep the bases the write ``dedup_key`` leaves once it is made."""
    document = {f: [b.crm, b.delivery, b.revision] for f, b in bases.items()}
    row = {
        "dedup_key": dedup_key,
        "flow": flow,
        "deal_id": deal_id,
        "bases": document,
        "created_at": now,
    }
    upsert(tx, INTENTS, [row], ["dedup_key"])


#: Intents by deal, then by the write's deduplication key: the bases by field.
Intents = dict[str, dict[str, dict[str, BaseValues]]]


def intents_of(tx: sa.Connection, flow: str) -> Intents:
    """Return the kept intents of ``flow``, oldest first within a deal."""
    found: Intents = {}
    rows = tx.execute(
        sa.select(INTENTS.c.deal_id, INTENTS.c.dedup_key, INTENTS.c.bases)
        .where(INTENTS.c.flow == flow)
        .order_by(INTENTS.c.created_at, INTENTS.c.dedup_key)
    )
    for deal_id, key, document in rows:
        bases = {f: BaseValues(v[0], v[1], int(v[2])) for f, v in document.items()}
        found.setdefault(deal_id, {})[key] = bases
    return found


def apply_intent(
    tx: sa.Connection,
    dedup_key: str,
    flow: str,
    deal_id: str,
    bases: dict[str, BaseValues] | None,
    now: datetime,
) -> None:
    """Store an intent's bases (``None``: drop them) and forget the intent."""
    if bases:
        save_bases(tx, flow, deal_id, bases, now)
    tx.execute(sa.delete(INTENTS).where(INTENTS.c.dedup_key == dedup_key))


def record_conflict(tx: sa.Connection, conflict: TwoWayConflict) -> None:
    """Keep a conflict and its decision for good."""
    tx.execute(sa.insert(CONFLICTS).values(conflict.model_dump()))


def conflicts(
    tx: sa.Connection,
    *,
    flow: str | None = None,
    deal_id: str | None = None,
    limit: int | None = None,
) -> list[TwoWayConflict]:
    """Return the recorded conflicts, newest first."""
    query = sa.select(CONFLICTS).order_by(
        CONFLICTS.c.created_at.desc(), CONFLICTS.c.id.desc()
    )
    if flow is not None:
        query = query.where(CONFLICTS.c.flow == flow)
    if deal_id is not None:
        query = query.where(CONFLICTS.c.deal_id == deal_id)
    if limit is not None:
        query = query.limit(limit)
    rows = tx.execute(query).mappings()
    return [TwoWayConflict.model_validate(dict(row)) for row in rows]
