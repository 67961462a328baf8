"""The hooks a servicesync plugin can implement.

A plugin is a module (or object) whose functions carry ``@hookimpl`` and are
named after the specifications below. Plugins are found through the
``servicesync.plugins`` entry point group.

Registration hooks (``register_*``) are called once, synchronously, at start
up, and must be pure: no I/O, no global state.

Event hooks (``on_*``) are called by the engine's outbox dispatcher, off the
event loop, one plugin at a time, each with a timeout. They may do I/O (send
an email, issue an invoice). Each receives the event's id and must be
idempotent on it: the dispatcher delivers an event again after a failure or a
crash, and only stops once the hook returned without raising. A hook that
raises has its delivery retried with backoff and, after the configured number
of attempts, moved to the dead letters; other plugins are not delayed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import typer

    from servicesync.contract import Connector

__all__ = ["PROJECT_NAME", "hookimpl", "hookspec"]

PROJECT_NAME = "servicesync"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def register_connectors(register: Callable[[type[Connector[Any]]], None]) -> None:
    """Contribute connector classes.

    Called once when the plugin manager loads plugins.

    Args:
        register: call it with each :class:`~servicesync.contract.Connector`
            subclass the plugin provides. A connector's ``name`` must be
            unique across plugins; a clash is reported as a load error of the
            later plugin.

    Returns:
        Nothing; the return value is ignored.
    """


@hookspec
def register_commands(app: typer.Typer) -> None:
    """Add commands to the ``servicesync`` command line.

    Called once while the command line is built, before arguments are parsed.

    Args:
        app: the root Typer application; add commands or sub-applications to
            it with ``app.command()`` or ``app.add_typer()``.

    Returns:
        Nothing; the return value is ignored.
    """


@hookspec
def on_deal_stage_changed(
    event_id: str,
    deal: dict[str, Any],
    previous_stage: str | None,
    stage: str,
) -> None:
    """React to a deal entering a funnel stage.

    Called after the change was committed to the store.

    Args:
        event_id: unique id of this event; deliveries repeat it on retry.
        deal: the deal as the domain model dumps it (``mode="json"``).
        previous_stage: the funnel stage code it left, ``None`` for a new deal.
        stage: the funnel stage code it entered (``won`` and ``lost`` for the
            outcomes).

    Returns:
        Nothing. Raise to have the delivery retried.
    """


@hookspec
def on_project_created(
    event_id: str, project: dict[str, Any], deal: dict[str, Any]
) -> None:
    """React to a delivery project created for a won deal.

    Args:
        event_id: unique id of this event.
        project: the project as the domain model dumps it, with its team,
            milestones and external links.
        deal: the deal the project was made for.

    Returns:
        Nothing. Raise to have the delivery retried.
    """


@hookspec
def on_delivery_date_slipped(
    event_id: str,
    deal: dict[str, Any],
    project: dict[str, Any],
    milestone: str | None,
    previous_date: str,
    new_date: str,
    owner: str | None,
) -> None:
    """React to a delivery date of a won deal's project moving later.

    Called once per milestone whose due date, as read from the delivery
    tool, is later than it was; a project without milestones counts its own
    end date. Dates servicesync moved itself, carrying a change of the deal,
    are not reported.

    Args:
        event_id: unique id of this event; deliveries repeat it on retry.
        deal: the deal as the domain model dumps it (``mode="json"``).
        project: the project as the domain model dumps it, with ``team``,
            ``milestones`` and ``links``.
        milestone: the milestone's name; ``None`` for the project's end.
        previous_date: the due date before, ``YYYY-MM-DD``.
        new_date: the due date now, ``YYYY-MM-DD``.
        owner: the deal's owner in the CRM (its user id there), the person
            to tell; ``None`` when the deal has none.

    Returns:
        Nothing. Raise to have the delivery retried.
    """


@hookspec
def on_time_entries_synced(
    event_id: str, project_id: str, entries: list[dict[str, Any]]
) -> None:
    """React to new or changed time entries of one project.

    Args:
        event_id: unique id of this event.
        project_id: the project's servicesync id.
        entries: the entries that were added or changed in this sync.

    Returns:
        Nothing. Raise to have the delivery retried.
    """


@hookspec
def on_invoice_due(event_id: str, project_id: str, basis: dict[str, Any]) -> None:
    """React to an invoice falling due (a milestone reached, a period closed).

    Args:
        event_id: unique id of this event.
        project_id: the project's servicesync id.
        basis: what is to be billed: the milestone or the period, the hours
            and the amounts.

    Returns:
        Nothing. Raise to have the delivery retried.
    """


@hookspec
def on_invoice_issued(event_id: str, invoice: dict[str, Any]) -> None:
    """React to an invoice issued in an invoicing tool or the CRM.

    Args:
        event_id: unique id of this event.
        invoice: the invoice as the domain model dumps it.

    Returns:
        Nothing. Raise to have the delivery retried.
    """
