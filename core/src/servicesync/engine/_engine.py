"""One object that runs a config: connectors, streams, outbox, flows."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlmodel import col, select

from servicesync.config import Config
from servicesync.contract import (
    Connector,
    ConnectorContext,
    PluginState,
    RecordRef,
    WebhookRequest,
    WebhookResponse,
)
from servicesync.domain import Deal, Milestone, Project, ProjectMember
from servicesync.engine._outbox import Dispatcher, Handler
from servicesync.engine._preview import PreviewState
from servicesync.engine._runner import DEAL_STAGE_CHANGED, StreamCounts, StreamRunner
from servicesync.engine._two_way import DELIVERY_DATE_SLIPPED, TwoWay
from servicesync.engine._webhooks import ids_by_stream, take_delivery
from servicesync.engine._won_deal import PROJECT_CREATED, WonDealFlow
from servicesync.errors import ConfigError
from servicesync.logs import register_secrets
from servicesync.plugins import Plugins
from servicesync.store import ExternalLink, Store

__all__ = ["Engine", "SyncReport"]

logger = logging.getLogger(__name__)

#: Event type to the hook that plugins implement to receive it.
EVENT_HOOKS = {
    DEAL_STAGE_CHANGED: "on_deal_stage_changed",
    PROJECT_CREATED: "on_project_created",
    DELIVERY_DATE_SLIPPED: "on_delivery_date_slipped",
}

#: Event types the flows consume.
FLOW_EVENTS = frozenset({DEAL_STAGE_CHANGED})


@dataclass
class SyncReport:
    """What a sync of one or more connections did, per connection and stream."""

    streams: dict[str, StreamCounts] = field(default_factory=dict)
    delivered: int = 0


class Engine:
    """Runs the connections and flows of a config against a store.

    Args:
        config: the loaded config.
        store: the open store.
        plugins: the loaded plugins.
        transports: per connection, an httpx transport to use instead of the
            network (tests and the demo point connectors at fake services).
    """

    def __init__(
        self,
        config: Config,
        store: Store,
        plugins: Plugins,
        *,
        transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    ) -> None:
        self.config = config
        self.store = store
        # Whoever builds an engine hands it the config's secrets; they are
        # masked in every log record from here on, CLI or not.
        register_secrets(*config.secret_values)
        self.plugins = plugins
        self.transports = dict(transports or {})
        self._connectors: dict[str, Connector[Any]] = {}
        self._previews: dict[str, Connector[Any]] = {}
        self.two_way = TwoWay(self)

    def connector(self, name: str, *, dry_run: bool = False) -> Connector[Any]:
        """Return the connector of the connection ``name``, built once.

        A dry run gets a connector of its own, whose plugin state keeps what
        it writes in memory: previewing a sync leaves the store as it was.
        """
        built = self._previews if dry_run else self._connectors
        if name not in built:
            settings = self.config.connection(name)
            cls = self.plugins.connector(settings.plugin)
            try:
                connector_config = cls.config_model.model_validate(settings.settings)
            except Exception as exc:
                msg = f"The settings do not fit the {settings.plugin} connector: {exc}"
                raise ConfigError(msg, key=f"connections.{name}.settings") from None
            context = ConnectorContext(
                connection=name,
                clock=self.store.clock,
                credentials=self.store.vault(name),
                state=self._plugin_state(name, dry_run=dry_run),
                budgets=self.store.budgets(),
                locks=self.store.locks(),
                transport=self.transports.get(name),
            )
            built[name] = cls(connector_config, context)
        return built[name]

    def _plugin_state(self, name: str, *, dry_run: bool) -> PluginState:
        stored = self.store.plugin_state(name)
        return PreviewState(stored) if dry_run else stored

    def writable(self, connection: str) -> bool:
        """Whether servicesync may write to ``connection`` now.

        A connection is read-only by its config, or by an operator's switch
        in the store (``servicesync connections read-only``), which takes
        effect at once in every process.
        """
        if self.config.connection(connection).read_only:
            return False
        return not self.store.control(connection).read_only

    def flows(self) -> list[WonDealFlow]:
        """Return the enabled flows that may write now.

        A flow that would write to a read-only connection is held: its
        deliveries wait in the outbox until the connection is writable.
        """
        return [
            WonDealFlow(
                self.store,
                name,
                flow,
                self.connector(flow.source),
                self.connector(flow.target),
                consumers=self.consumers,
            )
            for name, flow in self.config.flows.items()
            if flow.enabled
            and self.writable(flow.source)
            and self.writable(flow.target)
        ]

    def consumers(self, event_type: str) -> list[str]:
        """Return who must receive events of ``event_type``."""
        names = []
        if event_type in FLOW_EVENTS:
            names = [f"flow:{n}" for n, f in self.config.flows.items() if f.enabled]
        hook = EVENT_HOOKS.get(event_type)
        if hook:
            caller = getattr(self.plugins.manager.hook, hook)
            names += [f"plugin:{impl.plugin_name}" for impl in caller.get_hookimpls()]
        return names

    def handlers(self) -> dict[str, Handler]:
        """Return every consumer's handler by name.

        A plugin is one consumer whatever the number of event hooks it
        implements; its handler passes each event to the matching hook.
        """
        found: dict[str, Handler] = {
            flow.consumer: flow.handle for flow in self.flows()
        }
        hooks: dict[str, dict[str, Callable[..., Any]]] = {}
        for event_type, hook in EVENT_HOOKS.items():
            caller = getattr(self.plugins.manager.hook, hook)
            for impl in caller.get_hookimpls():
                hooks.setdefault(impl.plugin_name, {})[event_type] = impl.function
        for plugin, functions in hooks.items():
            found[f"plugin:{plugin}"] = _hook_handler(self.store, functions)
        return found

    async def sync(
        self,
        connection: str | None = None,
        *,
        dry_run: bool = False,
        full_refresh: bool = False,
        progress: Callable[[str, int], None] | None = None,
        trigger: str | None = None,
        worker: str | None = None,
        records: Sequence[RecordRef] = (),
    ) -> SyncReport:
        """Sync one connection, or every enabled one, then deliver the events.

        ``trigger`` and ``worker`` say what started the sync and which
        process runs it; both are kept in the run history. ``progress`` is
        called after each page with ``connection.stream`` and the number of
        records the page held. A dry run writes nothing to the store but the
        rate budgets its reads used (and any credentials a service rotated).

        ``records`` (what a webhook named, for one ``connection``) narrows
        the sync to those records: only the streams they belong to run, each
        reading just the named records where it can read single records
        (:meth:`StreamRunner.run_records`), and from its saved state where
        it cannot.
        """
        if records and not connection:
            msg = "A sync of named records needs the connection they belong to."
            raise ValueError(msg)
        names = (
            [connection]
            if connection
            else [n for n, c in self.config.connections.items() if c.enabled]
        )
        report = SyncReport()
        for name in names:
            runner = StreamRunner(
                self.store,
                name,
                self.connector(name, dry_run=dry_run),
                self.config.connection(name),
                consumers=self.consumers,
                progress=_per_connection(name, progress),
                trigger=trigger,
                worker=worker,
                on_page=self.two_way.watcher.take,
            )
            named = ids_by_stream(records)
            for stream in self.connector(name, dry_run=dry_run).streams():
                if named and stream.name not in named:
                    continue
                if stream.name in named and not dry_run:
                    counts = await runner.run_records(stream, named[stream.name])
                else:
                    counts = await runner.run(
                        stream, full_refresh=full_refresh, dry_run=dry_run
                    )
                report.streams[f"{name}.{stream.name}"] = counts
        if not dry_run:
            await self.two_way.keep_consistent(names)
            report.delivered = await self.dispatch()
        return report

    async def handle_webhook(
        self, connection: str, request: WebhookRequest
    ) -> WebhookResponse:
        """Take in a delivery a service posted for ``connection``.

        The connector's handler verifies it; a replay of a delivery already
        taken in changes nothing; otherwise the records it names are read
        again and saved as a sync saves them. The events this causes wait in
        the outbox for the next :meth:`dispatch`, so that the sender gets
        its answer without waiting for the flows.

        Raises:
            WebhookRejected: the delivery failed its check (answer with the
                error's ``status``); nothing changed.
        """
        runner = StreamRunner(
            self.store,
            connection,
            self.connector(connection),
            self.config.connection(connection),
            consumers=self.consumers,
            on_page=self.two_way.watcher.take,
        )
        return await take_delivery(runner, request)

    async def dispatch(self) -> int:
        """Deliver every outbox event that is due; return the deliveries made."""
        dispatcher = Dispatcher(self.store, self.handlers())
        return await dispatcher.drain()

    async def aclose(self) -> None:
        """Close every connector."""
        for built in (self._connectors, self._previews):
            for connector in built.values():
                await connector.aclose()
            built.clear()


def _per_connection(
    connection: str, progress: Callable[[str, int], None] | None
) -> Callable[[str, int], None] | None:
    """Name the stream as ``connection.stream`` in progress calls, as reports do."""
    if progress is None:
        return None
    report = progress

    def named(stream: str, size: int) -> None:
        report(f"{connection}.{stream}", size)

    return named


def _hook_handler(store: Store, functions: dict[str, Callable[..., Any]]) -> Handler:
    async def handle(event_type: str, event_id: str, payload: dict[str, Any]) -> None:
        function = functions.get(event_type)
        if function is None:
            return
        kwargs = _hook_arguments(store, event_type, payload)
        # Event hooks may block on I/O; they run off the event loop.
        await asyncio.to_thread(function, event_id=event_id, **kwargs)

    return handle


def _hook_arguments(
    store: Store, event_type: str, payload: dict[str, Any]
) -> dict[str, Any]:
    """Return the documented arguments of the hook an event goes to."""
    if event_type == PROJECT_CREATED:
        return {
            "project": _project_as_dumped(store, payload["project_id"]),
            "deal": _deal_as_dumped(store, payload),
        }
    if event_type == DELIVERY_DATE_SLIPPED:
        return {
            "deal": _deal_as_dumped(store, payload),
            "project": _project_as_dumped(store, payload["project_id"]),
            "milestone": payload.get("milestone"),
            "previous_date": payload["previous_date"],
            "new_date": payload["new_date"],
            "owner": payload.get("owner"),
        }
    return {
        "deal": _deal_as_dumped(store, payload),
        "previous_stage": payload.get("previous_stage"),
        "stage": payload.get("stage"),
    }


def _project_as_dumped(store: Store, project_id: str) -> dict[str, Any]:
    """Return a project as the hook documents it: with team, milestones, links."""
    with store.session() as session:
        project = session.get(Project, project_id)
        if project is None:
            return {"id": project_id}
        dumped = project.model_dump(mode="json")
        dumped["team"] = [
            m.model_dump(mode="json")
            for m in session.exec(
                select(ProjectMember).where(ProjectMember.project_id == project_id)
            )
        ]
        dumped["milestones"] = [
            m.model_dump(mode="json")
            for m in session.exec(
                select(Milestone)
                .where(Milestone.project_id == project_id)
                .order_by(col(Milestone.position))
            )
        ]
        dumped["links"] = [
            {"connection": link.connection, "external_id": link.external_id}
            for link in session.exec(
                select(ExternalLink).where(
                    ExternalLink.record_type == "project",
                    ExternalLink.internal_id == project_id,
                )
            )
        ]
    return dumped


def _deal_as_dumped(store: Store, payload: dict[str, Any]) -> dict[str, Any]:
    """Return the event's deal as the hook documents it: the model, as JSON."""
    with store.session() as session:
        deal = session.get(Deal, payload["deal_id"])
        if deal is None:
            # The deal is gone from the store since the event: the event's
            # own fields are all that is left to tell of it.
            return dict(payload)
        return deal.model_dump(mode="json")
