"""``servicesync link``: adopt a project that already exists for a deal."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from servicesync.cli._app import console
from servicesync.cli.commands._common import (
    check_connection,
    configured_store,
    fail,
    plugins_for,
)
from servicesync.cli.commands.config import load_or_exit
from servicesync.config import Config
from servicesync.engine import Engine, LinkOutcome, link_project
from servicesync.errors import ServiceSyncError
from servicesync.store import Store

DEAL_HELP = (
    "The deal: DEAL_ID, its id in the CRM connection as synced (42), or "
    "CRM_CONNECTION:DEAL_ID (crm:42), needed when two CRM connections know the id."
)
PROJECT_HELP = (
    "The project: DELIVERY_CONNECTION:PROJECT_ID, such as delivery:ACME "
    "(for Jira, the project key or its numeric id)."
)


def register(app: typer.Typer) -> None:
    """Add the ``link`` command to ``app``."""
    app.command("link")(link_command)


def engine_for(config: Config, store: Store) -> Engine:
    """Return the engine the command reads and writes through."""
    return Engine(config, store, plugins_for(config))


def link_command(
    ctx: typer.Context,
    deal: Annotated[str, typer.Argument(metavar="DEAL", help=DEAL_HELP)],
    project: Annotated[str, typer.Argument(metavar="PROJECT", help=PROJECT_HELP)],
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Link even when the deal or the project is linked already; "
            "the old link is let go and named.",
        ),
    ] = False,
) -> None:
    """Adopt a project that already exists in the delivery tool for a deal.

    The link is kept in the store, so the won-deal flow makes no second
    project for the deal, and the project's link is written to the deal as
    the flow writes it after creating one. Nothing is changed in the
    delivery tool.
    """
    config = load_or_exit(ctx)
    crm, deal_id = split_deal(deal, config)
    delivery, project_id = split_project(project)
    check_connection(config, delivery)
    with configured_store(config) as store:
        engine = engine_for(config, store)

        async def run() -> LinkOutcome:
            try:
                return await link_project(
                    engine, crm, deal_id, delivery, project_id, force=force
                )
            finally:
                await engine.aclose()

        try:
            outcome = asyncio.run(run())
        except ServiceSyncError as exc:
            fail(str(exc))
    _report(outcome)


def split_deal(text: str, config: Config) -> tuple[str | None, str]:
    """Split ``CRM_CONNECTION:DEAL_ID``; a bare id leaves the connection open.

    Only a prefix naming a connection of the config counts as one, so a deal
    id that itself holds a colon is still read whole.
    """
    prefix, colon, rest = text.partition(":")
    if colon and prefix in config.connections:
        if not rest:
            raise typer.BadParameter(f"{text!r} names no deal id after the colon.")
        return prefix, rest
    if not text:
        raise typer.BadParameter("The deal id is empty.")
    return None, text


def split_project(text: str) -> tuple[str, str]:
    """Split ``DELIVERY_CONNECTION:PROJECT_ID``, which is the only form taken."""
    connection, colon, project_id = text.partition(":")
    if not (colon and connection and project_id):
        msg = f"{text!r} is not CONNECTION:PROJECT_ID, such as delivery:ACME."
        raise typer.BadParameter(msg)
    return connection, project_id


def _report(outcome: LinkOutcome) -> None:
    place = f"{outcome.delivery}:{outcome.project.external_id}"
    if outcome.unchanged:
        console.print(
            f"The deal {outcome.deal} was already linked to {place}.", highlight=False
        )
    else:
        console.print(f"Linked the deal {outcome.deal} to {place}.", highlight=False)
    if outcome.replaced:
        console.print(
            f"It replaces {outcome.replaced}, which is no longer the deal's project.",
            highlight=False,
        )
    if outcome.taken_from:
        console.print(
            f"{place} is no longer the project of the deal {outcome.taken_from}.",
            highlight=False,
        )
