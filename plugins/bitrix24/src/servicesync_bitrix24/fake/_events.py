"""Event handlers bound on the fake portal, and the deliveries they cause.

An online handler (``event.bind``, or an outgoing webhook set up "in the UI"
through :meth:`EventHub.add_outgoing_webhook`) becomes a subscription of the
kit's :class:`~servicesync_sdk.fakes.WebhookSender` with the
:class:`~servicesync_sdk.fakes.ApplicationToken` scheme, so each change is
queued as the form-encoded POST the portal sends:
``event=ONCRMDEALUPDATE&event_handler_id=..&data[FIELDS][ID]=..&ts=..
&auth[application_token]=..``. Queued deliveries wait in ``sender.pending``
until flushed (at once when served on a port). Register an in-process
receiver for a handler URL with :meth:`EventHub.receive_in_process` before
binding it. An offline binding queues its events in the binder's
:class:`~servicesync_bitrix24.fake._offline.OfflineQueue` instead.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from servicesync_sdk.fakes import ApplicationToken, Subscription, WebhookSender

from servicesync_bitrix24.fake._offline import OfflineQueue

__all__ = ["Binding", "EventHub"]


@dataclass(frozen=True, slots=True)
class Binding:
    """One handler bound to one event."""

    handler_id: int
    event: str
    handler: str
    application_token: str
    owner: str
    offline: bool = False
    auth_type: int = 0
    subscription: Subscription | None = None


@dataclass
class EventHub:
    """Bindings, online deliveries (through the kit's sender) and the offline queue."""

    domain: str
    member_id: str
    now: Callable[[], datetime]
    tz: timezone
    sender: WebhookSender
    bindings: list[Binding] = field(default_factory=list)
    receivers: dict[str, Any] = field(default_factory=dict)
    queue: OfflineQueue = field(init=False)
    _next_id: int = 1
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    def __post_init__(self) -> None:
        # Seeded by the portal's member id, so a seeded portal's process ids
        # repeat from run to run.
        rng = random.Random(self.member_id)
        self.queue = OfflineQueue(
            self.now, self.tz, lambda: f"{rng.getrandbits(128):032x}"
        )

    def receive_in_process(self, url: str, handler: Any) -> None:
        """Deliver POSTs for ``url`` to an httpx handler function in process."""
        self.receivers[url] = handler

    def bind(
        self,
        event: str,
        handler: str,
        *,
        token: str,
        owner: str,
        offline: bool = False,
    ) -> Binding:
        """Add a binding; binding the same handler twice is refused."""
        event = event.upper()
        for existing in self.bindings:
            same = (existing.event, existing.handler, existing.owner)
            if same == (event, handler, owner) and existing.offline == offline:
                raise ValueError("Handler already binded")
        subscription = None
        if not offline:
            subscription = self.sender.subscribe(
                handler, ApplicationToken(token), events=[event],
                handler=self.receivers.get(handler),
            )  # fmt: skip
        binding = Binding(
            self._next_id, event, handler, token, owner, offline,
            subscription=subscription,
        )  # fmt: skip
        self._next_id += 1
        self.bindings.append(binding)
        return binding

    def unbind(self, event: str, handler: str, owner: str) -> int:
        """Remove matching bindings; return how many went."""
        gone = [
            b for b in self.bindings
            if b.event == event.upper() and b.owner == owner
            and (not handler or b.handler == handler)
        ]  # fmt: skip
        for binding in gone:
            self.bindings.remove(binding)
            if binding.subscription is not None:
                self.sender.unsubscribe(binding.subscription)
        return len(gone)

    def add_outgoing_webhook(self, event: str, handler: str, token: str) -> Binding:
        """Set up an outgoing webhook, as an administrator does in the UI."""
        return self.bind(event, handler, token=token, owner="outgoing")

    def emit(self, event: str, data: Mapping[str, Any]) -> None:
        """Queue a delivery for each handler bound to ``event``."""
        queued = False
        for binding in self.bindings:
            if binding.event != event.upper():
                continue
            if binding.offline:
                self.queue.push(binding.owner, binding.event, data)
            elif binding.subscription is not None:
                payload = self._payload(binding, data)
                self.sender.pending.append((binding.subscription, event, payload))
                queued = True
        if queued and self.sender.auto_deliver:
            task = asyncio.get_running_loop().create_task(self.sender.flush())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _payload(self, binding: Binding, data: Mapping[str, Any]) -> dict[str, Any]:
        endpoint = f"https://{self.domain}/rest/"
        return {
            "event": binding.event,
            "event_handler_id": str(binding.handler_id),
            "data": dict(data),
            "ts": str(int(self.now().timestamp())),
            "auth": {
                "domain": self.domain,
                "client_endpoint": endpoint,
                "server_endpoint": "https://oauth.bitrix.info/rest/",
                "member_id": self.member_id,
            },
        }
