"""One object that runs a config: connectors, streams, outbox, flows."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from servicesync.config import Config
from servicesync.contract import Connector, ConnectorContext
from servicesync.engine._outbox import Dispatcher, Handler
from servicesync.engine._runner import StreamCounts, StreamRunner
from servicesync.engine._won_deal import WonDealFlow
from servicesync.errors import ConfigError
from servicesync.plugins import Plugins
from servicesync.store import Store

__all__ = ["Engine", "SyncReport"]

logger = logging.getLogger(__name__)

#: Event type to the hook that plugins implement to receive it.
EVENT_HOOKS = {"deal_stage_changed": "on_deal_stage_changed"}


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
        self.plugins = plugins
        self.transports = dict(transports or {})
        self._connectors: dict[str, Connector[Any]] = {}

    def connector(self, name: str) -> Connector[Any]:
        """Return the connector of the connection ``name``, built once."""
        if name not in self._connectors:
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
                state=self.store.plugin_state(name),
                budgets=self.store.budgets(),
                locks=self.store.locks(),
                transport=self.transports.get(name),
            )
            self._connectors[name] = cls(connector_config, context)
        return self._connectors[name]

    def flows(self) -> list[WonDealFlow]:
        """Return the enabled flows of the config."""
        return [
            WonDealFlow(
                self.store,
                name,
                flow,
                self.connector(flow.source),
                self.connector(flow.target),
            )
            for name, flow in self.config.flows.items()
            if flow.enabled
        ]

    def consumers(self, event_type: str) -> list[str]:
        """Return who must receive events of ``event_type``."""
        names = [f"flow:{name}" for name, f in self.config.flows.items() if f.enabled]
        hook = EVENT_HOOKS.get(event_type)
        if hook:
            caller = getattr(self.plugins.manager.hook, hook)
            names += [f"plugin:{impl.plugin_name}" for impl in caller.get_hookimpls()]
        return names

    def handlers(self) -> dict[str, Handler]:
        """Return every consumer's handler by name."""
        found: dict[str, Handler] = {
            flow.consumer: flow.handle for flow in self.flows()
        }
        for event_type, hook in EVENT_HOOKS.items():
            caller = getattr(self.plugins.manager.hook, hook)
            for impl in caller.get_hookimpls():
                found[f"plugin:{impl.plugin_name}"] = _hook_handler(
                    event_type, impl.function
                )
        return found

    async def sync(
        self,
        connection: str | None = None,
        *,
        dry_run: bool = False,
        full_refresh: bool = False,
        progress: Callable[[str, int], None] | None = None,
    ) -> SyncReport:
        """Sync one connection, or every enabled one, then deliver the events."""
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
                self.connector(name),
                self.config.connection(name),
                consumers=self.consumers,
                progress=progress,
            )
            for stream in self.connector(name).streams():
                counts = await runner.run(
                    stream, full_refresh=full_refresh, dry_run=dry_run
                )
                report.streams[f"{name}.{stream.name}"] = counts
        if not dry_run:
            report.delivered = await self.dispatch()
        return report

    async def dispatch(self) -> int:
        """Deliver every outbox event that is due; return the deliveries made."""
        dispatcher = Dispatcher(self.store, self.handlers())
        return await dispatcher.drain()

    async def aclose(self) -> None:
        """Close every connector."""
        for connector in self._connectors.values():
            await connector.aclose()
        self._connectors.clear()


def _hook_handler(event_type: str, function: Callable[..., Any]) -> Handler:
    async def handle(_type: str, event_id: str, payload: dict[str, Any]) -> None:
        if _type != event_type:
            return
        kwargs = {
            "event_id": event_id,
            "deal": payload,
            "previous_stage": payload.get("previous_stage"),
            "stage": payload.get("stage"),
        }
        # Event hooks may block on I/O; they run off the event loop.
        await asyncio.to_thread(function, **kwargs)

    return handle
