"""Which delivery project belongs to which deal, as the store records it.

A deal's project is the :class:`~servicesync.domain.Project` row whose
``deal_id`` is the deal, tied by an external link (record type
``project``) to its key in one delivery connection. The won-deal flow
records that pair after it made a project; ``servicesync link`` records it
for a project that already existed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from servicesync.domain import Deal, Project, ProjectStatus
from servicesync.store import Store
from servicesync.store._dialect import table_of
from servicesync.store._tables import ExternalLink

__all__ = [
    "LinkedProject",
    "adopt_project",
    "deal_project",
    "project_owner",
    "set_project_status",
]

LINKS = table_of(ExternalLink)
PROJECTS = table_of(Project)


@dataclass(frozen=True)
class LinkedProject:
    """A project of the store with its key in one delivery connection."""

    project_id: str
    external_id: str
    deal_id: str | None
    status: ProjectStatus


def _linked(connection: str) -> sa.Select[Any]:
    return sa.select(
        PROJECTS.c.id, LINKS.c.external_id, PROJECTS.c.deal_id, PROJECTS.c.status
    ).join(
        LINKS,
        sa.and_(
            LINKS.c.internal_id == PROJECTS.c.id,
            LINKS.c.connection == connection,
            LINKS.c.record_type == "project",
        ),
    )


def _row(row: sa.Row[Any] | None) -> LinkedProject | None:
    if row is None:
        return None
    project_id, external_id, deal_id, status = tuple(row)
    return LinkedProject(project_id, external_id, deal_id, ProjectStatus(status))


def deal_project(store: Store, deal_id: str, connection: str) -> LinkedProject | None:
    """Return the deal's project in the delivery ``connection``, if it has one."""
    query = (
        _linked(connection)
        .where(PROJECTS.c.deal_id == deal_id)
        .order_by(LINKS.c.created_at.desc())
    )
    with store.transaction() as tx:
        return _row(tx.execute(query).first())


def project_owner(
    store: Store, connection: str, external_id: str
) -> LinkedProject | None:
    """Return the project with this key in ``connection``, if the store has it."""
    query = _linked(connection).where(LINKS.c.external_id == external_id)
    with store.transaction() as tx:
        return _row(tx.execute(query).first())


def set_project_status(store: Store, project_id: str, status: ProjectStatus) -> None:
    """Record where a project stands now."""
    with store.transaction() as tx:
        tx.execute(
            sa.update(PROJECTS)
            .where(PROJECTS.c.id == project_id)
            .values(status=status.value)
        )


def adopt_project(
    store: Store, deal_id: str, connection: str, external_id: str, name: str
) -> str:
    """Make the project ``external_id`` of ``connection`` the deal's only project.

    The project gets a store row if it has none (its budget is the deal's
    amount, its hours unknown); a project the deal had before in the same
    connection, and the deal the project had before, are let go. Return the
    project's id in the store.
    """
    with store.session() as session:
        deal = session.get(Deal, deal_id)
        if deal is None:
            raise LookupError(f"The deal {deal_id!r} is not in the store.")
        ids = store.link_ids(session.connection(), connection, "project", [external_id])
        project_id = ids[external_id]
        _let_go_of_others(session, deal_id, connection, project_id)
        project = session.get(Project, project_id)
        if project is None:
            project = Project(
                id=project_id,
                name=name[:300],
                client_id=deal.client_id,
                budget_hours=Decimal(0),
                budget_amount=deal.amount,
                currency=deal.currency,
            )
        project.deal_id = deal_id
        session.add(project)
    return project_id


def _let_go_of_others(
    session: Session, deal_id: str, connection: str, keep: str
) -> None:
    in_connection = sa.select(LINKS.c.internal_id).where(
        LINKS.c.connection == connection, LINKS.c.record_type == "project"
    )
    session.connection().execute(
        sa.update(PROJECTS)
        .where(
            PROJECTS.c.deal_id == deal_id,
            PROJECTS.c.id != keep,
            PROJECTS.c.id.in_(in_connection),
        )
        .values(deal_id=None)
    )
