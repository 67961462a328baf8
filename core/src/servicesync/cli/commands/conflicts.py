"""``servicesync conflicts``: fields a deal and its project both changed.

Two-way consistency records a conflict whenever a field moved away from its
base on both sides between two syncs. The rule of the flow's ownership
settled it (the owner's value was kept); the record keeps both values, the
base and the decision, so that the other value is never lost.
"""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
import typer
from rich.table import Table

from servicesync.cli._app import console
from servicesync.cli.commands._common import (
    JsonOption,
    configured_store,
    moment,
    print_json,
    print_table,
    text,
)
from servicesync.cli.commands.config import load_or_exit
from servicesync.store import ExternalLink, Store
from servicesync.store._bases import TwoWayConflict, conflicts
from servicesync.store._dialect import table_of

conflicts_app = typer.Typer(
    help="List the fields a deal and its project both changed, and how each ended.",
    no_args_is_help=True,
)

FlowOption = Annotated[
    str | None,
    typer.Option("--flow", "-f", help="Only this flow.", show_default="all"),
]

LimitOption = Annotated[
    int,
    typer.Option("--limit", "-n", min=1, help="Show at most this many, newest first."),
]

LINKS = table_of(ExternalLink)


def register(app: typer.Typer) -> None:
    """Add the ``conflicts`` group to ``app``."""
    app.add_typer(conflicts_app, name="conflicts")


@conflicts_app.command("list")
def list_command(
    ctx: typer.Context,
    flow: FlowOption = None,
    limit: LimitOption = 100,
    as_json: JsonOption = False,
) -> None:
    """List the recorded conflicts: both values, the base and the decision."""
    config = load_or_exit(ctx)
    with configured_store(config) as store:
        with store.transaction() as tx:
            found = conflicts(tx, flow=flow, limit=limit)
        deals = _deal_keys(store, [c.deal_id for c in found])
    if as_json:
        print_json({"conflicts": [_entry(c, deals) for c in found]})
    elif not found:
        console.print("No conflicts.")
    else:
        print_table(_table(found, deals))


def _deal_keys(store: Store, deal_ids: list[str]) -> dict[str, str]:
    """Return each deal's id in its CRM, as ``connection:id``."""
    if not deal_ids:
        return {}
    query = sa.select(
        LINKS.c.internal_id, LINKS.c.connection, LINKS.c.external_id
    ).where(LINKS.c.record_type == "deal", LINKS.c.internal_id.in_(set(deal_ids)))
    with store.transaction() as tx:
        return {deal: f"{conn}:{key}" for deal, conn, key in tx.execute(query)}


def _table(found: list[TwoWayConflict], deals: dict[str, str]) -> Table:
    table = Table(caption="Times are UTC; the owner's value was kept.")
    for column in ("when", "flow", "deal", "project", "field", "owner"):
        table.add_column(column, no_wrap=True)
    for column in ("base", "CRM", "delivery", "kept"):
        table.add_column(column, min_width=8)
    for conflict in found:
        table.add_row(
            moment(conflict.created_at),
            text(conflict.flow),
            text(deals.get(conflict.deal_id, conflict.deal_id)),
            text(conflict.project_key),
            text(conflict.field),
            text(conflict.owner),
            text(_base(conflict)),
            text(conflict.crm_value),
            text(conflict.delivery_value),
            text(conflict.kept),
        )
    return table


def _base(conflict: TwoWayConflict) -> str | None:
    if conflict.base_crm == conflict.base_delivery:
        return conflict.base_crm
    return f"{conflict.base_crm} / {conflict.base_delivery}"


def _entry(conflict: TwoWayConflict, deals: dict[str, str]) -> dict[str, Any]:
    return {
        "id": conflict.id,
        "created_at": conflict.created_at,
        "flow": conflict.flow,
        "deal_id": conflict.deal_id,
        "deal": deals.get(conflict.deal_id),
        "project": conflict.project_key,
        "field": conflict.field,
        "owner": conflict.owner,
        "base": {"crm": conflict.base_crm, "delivery": conflict.base_delivery},
        "crm_value": conflict.crm_value,
        "delivery_value": conflict.delivery_value,
        "kept": conflict.kept,
        "decision": conflict.decision,
    }
