"""Adopting a project that already exists in a delivery tool for a deal.

:func:`link_project` checks everything before it writes anything: the deal
is known to the store, a won-deal flow joins its CRM connection to the
delivery connection, the project exists there (read through the connector's
``get_project``), and neither the deal nor the project is linked elsewhere
unless ``force`` is given. Then it records the link, so the flow makes no
second project for the deal, and writes the project's link to the deal
through the flow's ``set_deal_fields``, as the flow does after a create.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import sqlalchemy as sa

from servicesync.contract import ActionResult
from servicesync.domain import new_id
from servicesync.engine._engine import Engine
from servicesync.engine._project_links import (
    adopt_project,
    deal_project,
    project_owner,
)
from servicesync.engine._won_deal import WonDealFlow
from servicesync.errors import ServiceSyncError
from servicesync.store import Store
from servicesync.store._dialect import table_of
from servicesync.store._tables import ExternalLink

__all__ = ["LinkOutcome", "LinkRefused", "ProjectReader", "link_project"]

logger = logging.getLogger(__name__)

LINKS = table_of(ExternalLink)


@runtime_checkable
class ProjectReader(Protocol):
    """A delivery connector that can read one project by key or id."""

    async def get_project(self, project_id: str) -> ActionResult | None:
        """Return the project as ``create_project`` names it, or ``None``."""
        ...


class LinkRefused(ServiceSyncError):
    """A link was not made; the message says why and what to do instead."""


@dataclass(frozen=True)
class LinkOutcome:
    """What a link did.

    Attributes:
        deal: the deal as ``CRM_CONNECTION:DEAL_ID``.
        project: the project as the delivery connector read it.
        delivery: the delivery connection's name.
        unchanged: the deal was linked to this project already.
        replaced: the deal's earlier project (``CONNECTION:KEY``) let go.
        taken_from: the deal (``CRM_CONNECTION:DEAL_ID``) the project left.
    """

    deal: str
    project: ActionResult
    delivery: str
    unchanged: bool = False
    replaced: str | None = None
    taken_from: str | None = None


async def link_project(
    engine: Engine,
    crm: str | None,
    deal_external_id: str,
    delivery: str,
    project_id: str,
    *,
    force: bool = False,
) -> LinkOutcome:
    """Make the project ``project_id`` of ``delivery`` the deal's project.

    Args:
        engine: the engine of the config, with its store.
        crm: the deal's CRM connection; ``None`` to find it from the links.
        deal_external_id: the deal's id in its CRM connection.
        delivery: the delivery connection holding the project.
        project_id: the project's key or id there.
        force: replace a link the deal or the project already has.

    Raises:
        LinkRefused: nothing was written, and the message says why.
    """
    store = engine.store
    crm, deal_id = _find_deal(store, crm, deal_external_id)
    deal = f"{crm}:{deal_external_id}"
    flows = _flows_between(engine, crm, delivery)
    found = await _read_project(engine, delivery, project_id)
    place = f"{delivery}:{found.external_id}"

    current = deal_project(store, deal_id, delivery)
    owner = project_owner(store, delivery, found.external_id)
    unchanged = current is not None and current.external_id == found.external_id
    replaced = None if unchanged or current is None else current.external_id
    taken_from = None
    if owner is not None and owner.deal_id not in (None, deal_id):
        taken_from = _deal_name(store, str(owner.deal_id))
    if replaced and not force:
        msg = (
            f"The deal {deal} is already linked to {delivery}:{replaced}; "
            f"pass --force to link it to {place} instead."
        )
        raise LinkRefused(msg)
    if taken_from and not force:
        msg = (
            f"The project {place} is already linked to the deal {taken_from}; "
            f"pass --force to move it to {deal}."
        )
        raise LinkRefused(msg)

    name = str(found.data.get("name") or found.external_id)
    adopt_project(store, deal_id, delivery, found.external_id, name)
    for flow in flows:
        key = f"{flow.name}:{deal_id}:link:{new_id()}"
        await flow.write_link(key, deal_external_id, found)
    logger.info("Linked the deal %s to the project %s", deal, place)
    return LinkOutcome(
        deal,
        found,
        delivery,
        unchanged=unchanged,
        replaced=f"{delivery}:{replaced}" if replaced else None,
        taken_from=taken_from,
    )


def _find_deal(store: Store, crm: str | None, external_id: str) -> tuple[str, str]:
    """Return the CRM connection and the store id of a deal, or refuse."""
    query = sa.select(LINKS.c.connection, LINKS.c.internal_id).where(
        LINKS.c.record_type == "deal", LINKS.c.external_id == external_id
    )
    if crm is not None:
        query = query.where(LINKS.c.connection == crm)
    with store.transaction() as tx:
        found = [(str(c), str(i)) for c, i in tx.execute(query)]
    if not found:
        where = f"of {crm!r} " if crm else ""
        msg = (
            f"The deal {external_id!r} {where}is not in the store; "
            "sync its CRM connection first, or check the id."
        )
        raise LinkRefused(msg)
    if len(found) > 1:
        names = ", ".join(sorted(c for c, _ in found))
        msg = (
            f"The deal id {external_id!r} is known in several CRM connections "
            f"({names}); write it as CRM_CONNECTION:{external_id}."
        )
        raise LinkRefused(msg)
    return found[0]


def _flows_between(engine: Engine, crm: str, delivery: str) -> list[WonDealFlow]:
    """Return the flows that make projects in ``delivery`` for deals of ``crm``.

    Flows writing the link to the same deal field are taken once.
    """
    flows: dict[str | None, WonDealFlow] = {}
    for name, flow in engine.config.flows.items():
        if flow.source == crm and flow.target == delivery:
            flows.setdefault(
                flow.link_field,
                WonDealFlow(
                    engine.store,
                    name,
                    flow,
                    engine.connector(crm),
                    engine.connector(delivery),
                ),
            )
    if not flows:
        msg = (
            f"No flow of the config makes projects in {delivery!r} for the deals "
            f"of {crm!r}; a link is only kept for such a flow."
        )
        raise LinkRefused(msg)
    return list(flows.values())


async def _read_project(engine: Engine, delivery: str, project_id: str) -> ActionResult:
    """Read the project through the delivery connector, or refuse."""
    connector = engine.connector(delivery)
    if not isinstance(connector, ProjectReader):
        msg = (
            f"The connection {delivery!r} ({connector.name}) cannot read a "
            "project: its connector has no 'get_project', which a link needs."
        )
        raise LinkRefused(msg)
    found = await connector.get_project(project_id)
    if found is None:
        msg = (
            f"There is no project {project_id!r} in {delivery!r} that its "
            "credentials can see; check the key (it is case sensitive)."
        )
        raise LinkRefused(msg)
    return found


def _deal_name(store: Store, deal_id: str) -> str:
    """Return a deal as ``CRM_CONNECTION:DEAL_ID``, or its store id if unlinked."""
    query = sa.select(LINKS.c.connection, LINKS.c.external_id).where(
        LINKS.c.record_type == "deal", LINKS.c.internal_id == deal_id
    )
    with store.transaction() as tx:
        row = tx.execute(query).first()
    return f"{row[0]}:{row[1]}" if row else deal_id
