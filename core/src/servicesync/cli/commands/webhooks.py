"""``servicesync webhooks``: have services post to the daemon, and look after it.

``register`` asks a connection's service to post its changes to the daemon's
``/webhooks/CONNECTION`` route (under ``[daemon] public_url``) and keeps what
the service made in the store, a secret of its own encrypted. Where the
connection's credentials cannot register by API, it prints the steps to take
in the service's UI instead. ``list`` sets the store beside what the service
holds, ``refresh`` renews the webhooks that expire, ``remove`` deletes them.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Annotated, TypeVar

import typer
from rich.table import Table

from servicesync.cli._app import console, err_console
from servicesync.cli.commands._common import (
    JsonOption,
    check_connection,
    configured_store,
    fail,
    moment,
    plugins_for,
    print_json,
    print_table,
    text,
)
from servicesync.cli.commands.config import load_or_exit
from servicesync.config import Config
from servicesync.contract import RegisteredWebhook, WebhookRegistrar
from servicesync.engine import Engine, Renewal, renew_webhooks
from servicesync.errors import ServiceSyncError
from servicesync.logs import register_secrets
from servicesync.store import Store, StoredWebhook

webhooks_app = typer.Typer(
    help="Register, list, renew and remove the webhooks services post to the daemon.",
    no_args_is_help=True,
)

ConnectionArgument = Annotated[
    str, typer.Argument(metavar="CONNECTION", help="The connection's name.")
]
UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="The URL the service should post to.",
        show_default="[daemon] public_url + /webhooks/CONNECTION",
    ),
]

T = TypeVar("T")
#: What a command does with the connection's registrar, inside the event loop.
Work = Callable[[WebhookRegistrar], Awaitable[T]]


def register(app: typer.Typer) -> None:
    """Add the ``webhooks`` group to ``app``."""
    app.add_typer(webhooks_app, name="webhooks")


def engine_for(config: Config, store: Store) -> Engine:
    """Return the engine whose connectors talk to the services."""
    return Engine(config, store, plugins_for(config))


# -- register -----------------------------------------------------------------


@webhooks_app.command("register")
def register_command(
    ctx: typer.Context, connection: ConnectionArgument, url: UrlOption = None
) -> None:
    """Have the connection's service post its changes to the daemon."""
    config = load_or_exit(ctx)
    check_connection(config, connection)
    target = webhook_url(config, connection, url)
    with configured_store(config) as store:
        stored = store.webhooks(connection)
        _refuse_other_url(connection, stored, target)
        secret: str | None = None

        async def work(registrar: WebhookRegistrar) -> Sequence[RegisteredWebhook]:
            nonlocal secret
            steps = registrar.manual_steps(target)
            if steps is not None:
                _print_manual(config, connection, steps)
                raise typer.Exit(0)
            if registrar.wants_secret:
                secret = _secret_for(store, connection, stored)
            return await registrar.register(target, secret)

        made = _drive(config, store, connection, work, "register webhooks")
        store.save_webhooks(connection, [_with_secret(h, secret) for h in made])
        # What the service no longer holds at this URL is gone for good.
        held = {hook.external_id for hook in made}
        store.forget_webhooks(
            connection, [h.external_id for h in stored if h.external_id not in held]
        )
    _print_registered(connection, target, made)


def webhook_url(config: Config, connection: str, url: str | None) -> str:
    """Return ``url``, or the daemon's public webhook URL of ``connection``."""
    if url:
        return url
    public = config.daemon.public_url
    if not public:
        fail(
            "No URL to register: set public_url under [daemon] in the config to "
            "the address services reach the daemon at, or pass --url."
        )
    return f"{public.rstrip('/')}/webhooks/{connection}"


def _refuse_other_url(
    connection: str, stored: Sequence[StoredWebhook], target: str
) -> None:
    elsewhere = sorted({hook.url for hook in stored if hook.url != target})
    if elsewhere:
        fail(
            f"{connection!r} has webhooks registered at {elsewhere[0]!r}, not at "
            f"{target!r}. Run 'servicesync webhooks remove {connection}' first."
        )


def _secret_for(store: Store, connection: str, stored: Sequence[StoredWebhook]) -> str:
    """Return the secret registered before at this URL, or a fresh one.

    Keeping the first secret lets a registration be repeated without
    invalidating the webhooks the service already signs with it.
    """
    for hook in stored:
        if hook.has_secret:
            known = store.webhook_secret(connection, hook.external_id)
            if known:
                return known
    fresh = secrets.token_urlsafe(32)
    register_secrets(fresh)
    return fresh


def _with_secret(hook: RegisteredWebhook, secret: str | None) -> RegisteredWebhook:
    if hook.secret or not secret:
        return hook
    return RegisteredWebhook(hook.external_id, hook.url, hook.expires_at, secret)


def _print_manual(config: Config, connection: str, steps: str) -> None:
    console.print(
        text(
            f"Webhooks of {connection!r} cannot be registered through the API "
            "with its credentials. Set them up in the service:"
        )
    )
    console.print(text(steps))
    console.print(text(_polling_note(config, connection)))


def _polling_note(config: Config, connection: str) -> str:
    cron = config.connection(connection).schedule.as_cron()
    if cron:
        return (
            f"Meanwhile the daemon polls {connection!r} on its schedule "
            f"({cron}), so no change is missed, only noticed later."
        )
    return (
        f"Meanwhile {connection!r} is read only when a sync runs: it has no "
        f"schedule. Set [connections.{connection}.schedule] for the daemon to "
        "poll it."
    )


def _print_registered(
    connection: str, target: str, made: Sequence[RegisteredWebhook]
) -> None:
    console.print(text(f"{connection}: {len(made)} webhook(s) registered at {target}."))
    expiring = [h.expires_at for h in made if h.expires_at is not None]
    if expiring:
        console.print(
            text(
                f"They expire from {moment(min(expiring))} UTC; run "
                f"'servicesync webhooks refresh {connection}' before then."
            )
        )


# -- list ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Comparison:
    """One webhook as the store and the service see it.

    Attributes:
        external_id: the service's name for it.
        url: where it posts (the service's view when the two differ).
        expires_at: when it expires, from the service when it says.
        stored: whether the store holds it.
        at_service: whether the service holds it; ``None`` when the service
            cannot list its webhooks.
        status: ``ok``, ``expired``, ``url differs``, ``missing at service``,
            ``not in store`` or ``unchecked``.
    """

    external_id: str
    url: str
    expires_at: datetime | None
    stored: bool
    at_service: bool | None
    status: str


@webhooks_app.command("list")
def list_command(
    ctx: typer.Context, connection: ConnectionArgument, as_json: JsonOption = False
) -> None:
    """Show the webhooks in the store beside those the service holds."""
    config = load_or_exit(ctx)
    check_connection(config, connection)
    with configured_store(config) as store:
        stored = store.webhooks(connection)

        async def work(
            registrar: WebhookRegistrar,
        ) -> Sequence[RegisteredWebhook] | None:
            return await registrar.webhooks()

        held = _drive(config, store, connection, work, "list webhooks")
        rows = compare(stored, held, store.now())
    if as_json:
        print_json(
            {
                "connection": connection,
                "service_lists": held is not None,
                "webhooks": [asdict(row) for row in rows],
            }
        )
    elif not rows:
        console.print(text(f"No webhooks are registered for {connection!r}."))
    else:
        print_table(_comparison_table(rows))


def compare(
    stored: Sequence[StoredWebhook],
    held: Sequence[RegisteredWebhook] | None,
    now: datetime,
) -> list[Comparison]:
    """Set the store's webhooks beside the service's, by service id."""
    at_service = {hook.external_id: hook for hook in held or ()}
    rows = [_compared(hook, at_service, held is not None, now) for hook in stored]
    known = {hook.external_id for hook in stored}
    rows += [
        Comparison(h.external_id, h.url, h.expires_at, False, True, "not in store")
        for h in held or ()
        if h.external_id not in known
    ]
    return rows


def _compared(
    hook: StoredWebhook,
    at_service: dict[str, RegisteredWebhook],
    lists: bool,
    now: datetime,
) -> Comparison:
    if not lists:
        return Comparison(
            hook.external_id, hook.url, hook.expires_at, True, None, "unchecked"
        )
    there = at_service.get(hook.external_id)
    if there is None:
        return Comparison(
            hook.external_id, hook.url, hook.expires_at, True, False,
            "missing at service",
        )  # fmt: skip
    expires = there.expires_at or hook.expires_at
    status = "ok"
    if there.url != hook.url:
        status = "url differs"
    elif expires is not None and expires <= now:
        status = "expired"
    return Comparison(hook.external_id, there.url, expires, True, True, status)


def _comparison_table(rows: Sequence[Comparison]) -> Table:
    table = Table(caption="Times are UTC.")
    for column in ("webhook", "url", "expires", "status"):
        table.add_column(column)
    for row in rows:
        status = text(row.status)
        if row.status != "ok":
            status.stylize("yellow")
        table.add_row(
            text(row.external_id), text(row.url), moment(row.expires_at), status
        )
    return table


# -- refresh ------------------------------------------------------------------


@webhooks_app.command("refresh")
def refresh_command(ctx: typer.Context, connection: ConnectionArgument) -> None:
    """Renew the connection's webhooks that expire; exit with 1 if any was lost."""
    config = load_or_exit(ctx)
    check_connection(config, connection)
    with configured_store(config) as store:
        if not [h for h in store.webhooks(connection) if h.expires_at]:
            console.print(text(f"No webhook of {connection!r} expires; none renewed."))
            return
        engine = engine_for(config, store)

        async def run() -> Renewal:
            try:
                return await renew_webhooks(engine, connection)
            finally:
                await engine.aclose()

        try:
            renewal = asyncio.run(run())
        except ServiceSyncError as exc:
            fail(f"Could not renew webhooks for {connection!r}: {exc}")
    _report_renewed(connection, renewal)


def _report_renewed(connection: str, renewal: Renewal) -> None:
    for hook in renewal.renewed:
        console.print(
            text(f"{hook.external_id}: expires {moment(hook.expires_at)} UTC")
        )
    if renewal.lost:
        err_console.print(
            text(
                f"error: the service no longer holds {', '.join(renewal.lost)}; "
                f"they were not renewed. Run 'servicesync webhooks remove "
                f"{connection}' and 'servicesync webhooks register {connection}' "
                "again."
            )
        )
        raise typer.Exit(1)


# -- remove -------------------------------------------------------------------


@webhooks_app.command("remove")
def remove_command(
    ctx: typer.Context,
    connection: ConnectionArgument,
    webhook_id: Annotated[
        str | None,
        typer.Option("--id", help="Only this webhook.", show_default="every one"),
    ] = None,
) -> None:
    """Delete the connection's webhooks at the service and in the store."""
    config = load_or_exit(ctx)
    check_connection(config, connection)
    with configured_store(config) as store:
        stored = [h.registered() for h in store.webhooks(connection)]

        async def work(registrar: WebhookRegistrar) -> list[str]:
            targets = await _targets(registrar, stored, webhook_id, connection)
            return [
                hook.external_id for hook in targets if await _removed(registrar, hook)
            ]

        removed = _drive(config, store, connection, work, "remove webhooks")
        store.forget_webhooks(connection, removed)
    _report_removed(connection, stored, webhook_id, removed)


async def _targets(
    registrar: WebhookRegistrar,
    stored: Sequence[RegisteredWebhook],
    webhook_id: str | None,
    connection: str,
) -> list[RegisteredWebhook]:
    """Return the webhooks to remove: all stored, or the one named.

    A named webhook the store does not hold is looked for at the service, so
    one registered by hand or left behind can be removed too.
    """
    if webhook_id is None:
        return list(stored)
    named = [hook for hook in stored if hook.external_id == webhook_id]
    if not named:
        held = await registrar.webhooks() or ()
        named = [hook for hook in held if hook.external_id == webhook_id]
    if not named:
        fail(f"{connection!r} has no webhook {webhook_id!r}, here or at the service.")
    return named


async def _removed(registrar: WebhookRegistrar, hook: RegisteredWebhook) -> bool:
    """Remove one webhook; on a failure say why and return false."""
    try:
        await registrar.remove(hook)
    except ServiceSyncError as exc:
        err_console.print(text(f"error: {hook.external_id} was not removed: {exc}"))
        return False
    return True


def _report_removed(
    connection: str,
    stored: Sequence[RegisteredWebhook],
    webhook_id: str | None,
    removed: Sequence[str],
) -> None:
    if webhook_id is None and not stored:
        console.print(text(f"No webhooks are registered for {connection!r}."))
        return
    console.print(text(f"{connection}: {len(removed)} webhook(s) removed."))
    wanted = 1 if webhook_id is not None else len(stored)
    if len(removed) < wanted:
        raise typer.Exit(1)


# -- shared ---------------------------------------------------------------------


def _drive(
    config: Config, store: Store, connection: str, work: Work[T], doing: str
) -> T:
    """Run ``work`` with the connection's registrar; fail cleanly on errors."""
    engine = engine_for(config, store)

    async def run() -> T:
        try:
            registrar = engine.connector(connection).webhook_registrar()
            if registrar is None:
                plugin = config.connection(connection).plugin
                fail(
                    f"The {plugin} connector of {connection!r} cannot register "
                    "webhooks; see its documentation for setting them up in the "
                    "service."
                )
            return await work(registrar)
        finally:
            await engine.aclose()

    try:
        return asyncio.run(run())
    except ServiceSyncError as exc:
        fail(f"Could not {doing} for {connection!r}: {exc}")
