"""Bitrix24's offline event queue: changes fetched, for portals that cannot post.

With ``events = "offline"`` the connection binds the deal, company and
contact events as offline events (``event.bind`` with
``event_type=offline``): the portal keeps the latest change of each object
in a queue instead of posting it to the daemon. Each sync, the deals,
companies and contacts streams start by taking what the queue holds for
them:

1. ``event.offline.get`` with ``clear=0`` reserves the oldest events under a
   ``process_id``, which the plugin state keeps before anything else;
2. the records the events name are read again by id and handed to the
   engine as the stream's first page, which it saves as any page;
3. only once the engine has committed that page are the events cleared
   (``event.offline.clear`` with the ``process_id`` and their ids).

A reader that dies before step 3 finds the ``process_id`` in the state
next time, and ``event.offline.get`` with it answers the same events
again; the records are read again, and since they hash as saved the
engine skips them: nothing is lost, and nothing takes effect twice.

One reservation serves the three streams: each clears its own events, and
a new reservation is made once the last of them is cleared. Events that
name nothing the streams read (another entity, no id) are cleared at once.

The queue is only open to an OAuth application authorised by a portal
administrator. Any other connection logs one line saying so, and its
changes are found by the streams' windowed reads alone, as always.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from servicesync.contract import Page, PluginState, RecordRef, Stream, StreamState
from servicesync.engine._preview import PreviewState
from servicesync.errors import AuthenticationError

from servicesync_bitrix24._client import Bitrix24Client, MethodFailed
from servicesync_bitrix24._webhook import event_stream

__all__ = ["OFFLINE_EVENTS", "OfflineEvents", "QueuedEvent", "Reservation"]

logger = logging.getLogger(__name__)

#: The events bound offline; a deletion is left to the deals' deletion scan,
#: since there is nothing left to read again.
OFFLINE_EVENTS = (
    "ONCRMDEALADD",
    "ONCRMDEALUPDATE",
    "ONCRMCOMPANYADD",
    "ONCRMCOMPANYUPDATE",
    "ONCRMCONTACTADD",
    "ONCRMCONTACTUPDATE",
)

#: Events taken per reservation: the method's documented default.
LIMIT = 50

_PROCESS_KEY = "offline.process_id"
# How the portal says no: an error code, or 401/403 (ACCESS_DENIED, which
# the queue's methods answer to anyone but an administrator).
_REFUSED = (MethodFailed, AuthenticationError)
_ALREADY_BOUND = "ERROR_EVENT_HANDLER_ALREADY_BINDED"


@dataclass(frozen=True, slots=True)
class QueuedEvent:
    """One event of the queue.

    Attributes:
        record_id: the queue record's ``ID``, by which it is cleared.
        name: the event, such as ``ONCRMDEALUPDATE``.
        ref: the record to read again, or ``None`` when the event names
            nothing the streams read.
    """

    record_id: str
    name: str
    ref: RecordRef | None

    @classmethod
    def parse(cls, row: Mapping[str, Any]) -> QueuedEvent:
        """Read one entry of ``event.offline.get``'s ``events``."""
        name = str(row.get("EVENT_NAME", "")).upper()
        data = row.get("EVENT_DATA")
        fields = data.get("FIELDS") if isinstance(data, Mapping) else None
        object_id = fields.get("ID") if isinstance(fields, Mapping) else None
        stream = event_stream(name)
        ref = None
        if stream is not None and str(object_id or "").isdigit():
            ref = RecordRef(stream, str(object_id))
        return cls(str(row.get("ID", "")), name, ref)


@dataclass(frozen=True, slots=True)
class Reservation:
    """Events reserved under one ``process_id``, not yet cleared."""

    process_id: str
    events: tuple[QueuedEvent, ...]

    def of_stream(self, stream: str) -> list[QueuedEvent]:
        """The events naming records of ``stream``."""
        return [e for e in self.events if e.ref and e.ref.stream == stream]


class OfflineEvents:
    """The offline event queue of one connection.

    Args:
        client: the portal's client.
        state: the connection's plugin state, which keeps the open
            reservation's ``process_id``.
        connection: the connection's name, for log lines.
    """

    def __init__(
        self, client: Bitrix24Client, state: PluginState, connection: str
    ) -> None:
        self.client = client
        self.state = state
        self.connection = connection
        self._usable: bool | None = None

    async def pages(self, stream: Stream, state: StreamState) -> AsyncIterator[Page]:
        """Yield the records queued events name for ``stream``, then clear them.

        The page keeps ``state`` as it is: only the stream's own read moves
        its window. The events are cleared when the caller asks for what
        follows the page, which the engine does once it has committed it.
        """
        reservation = await self._reservation()
        if reservation is None:
            return
        events = reservation.of_stream(stream.name)
        if not events:
            return
        ids = [e.ref.external_id for e in events if e.ref]
        records = await stream.read_records(ids)
        yield Page(list(records or ()), state)
        if reservation.process_id:
            await self._clear(reservation.process_id, events)
        logger.debug(
            "%s: %d queued event(s) of %s read again and cleared.",
            self.connection,
            len(events),
            stream.name,
        )

    async def _reservation(self) -> Reservation | None:
        """The open reservation, or a new one; ``None`` when there is nothing."""
        if not await self._ready():
            return None
        try:
            return await self._open_or_new()
        except _REFUSED as exc:
            self._give_up(f"the portal refused event.offline.get: {exc}")
            return None

    async def _open_or_new(self) -> Reservation | None:
        stored = self.state.get(_PROCESS_KEY)
        if stored:
            # Left by the last read: a reader that died before clearing, or
            # streams that have not yet taken their share.
            reservation = await self._take(stored)
            if reservation.events:
                return reservation
        reservation = await self._take(None)
        if not reservation.events:
            self.state.put(_PROCESS_KEY, "")
            return None
        if not reservation.process_id:
            # Reserving needs a plan with ``rest_offline_extended``; without
            # it the portal hands events out as a plain read, once.
            logger.warning(
                "%s: event.offline.get reserved nothing (no process_id); the "
                "portal's plan may not offer confirmed offline events.",
                self.connection,
            )
        self.state.put(_PROCESS_KEY, reservation.process_id)
        return reservation

    async def _take(self, process_id: str | None) -> Reservation:
        """Reserve the oldest events, or read those ``process_id`` holds again."""
        params: dict[str, Any] = {"clear": 0, "limit": LIMIT}
        if process_id:
            params["process_id"] = process_id
        answer = await self.client.call("event.offline.get", params)
        result = answer.get("result")
        result = result if isinstance(result, Mapping) else {}
        rows = result.get("events")
        events = [QueuedEvent.parse(r) for r in rows or () if isinstance(r, Mapping)]
        taken = str(result.get("process_id") or process_id or "")
        unread = [e for e in events if e.ref is None]
        if unread and taken:
            # Nobody will read these (leads, tasks, events without an id).
            await self._clear(taken, unread)
        return Reservation(taken, tuple(e for e in events if e.ref is not None))

    async def _clear(self, process_id: str, events: Sequence[QueuedEvent]) -> None:
        params = {"process_id": process_id, "id": [e.record_id for e in events]}
        await self.client.call("event.offline.clear", params)

    async def _ready(self) -> bool:
        """Whether the queue can be read; the first call binds the events."""
        if self._usable is None:
            self._usable = await self._prepare()
        return self._usable

    async def _prepare(self) -> bool:
        if isinstance(self.state, PreviewState):
            # Reserving or clearing would change the portal; a preview may not.
            logger.debug(
                "%s: dry run; the offline queue is left alone.", self.connection
            )
            return False
        if not self.client.config.uses_oauth:
            self._give_up("an incoming webhook cannot read it")
            return False
        try:
            await self._bind()
        except _REFUSED as exc:
            self._give_up(f"the portal refused event.bind: {exc}")
            return False
        return True

    async def _bind(self) -> None:
        """Bind each offline event the application has not bound yet."""
        answer = await self.client.call("event.get")
        rows = answer.get("result")
        bound = {
            str(row.get("event", "")).upper()
            for row in (rows if isinstance(rows, list) else [])
            if isinstance(row, Mapping) and str(row.get("offline", "0")) == "1"
        }
        for event in OFFLINE_EVENTS:
            if event in bound:
                continue
            params = {"event": event, "event_type": "offline"}
            try:
                await self.client.call("event.bind", params, write=True)
            except MethodFailed as exc:
                # Bound meanwhile by another process of the same connection.
                if exc.code != _ALREADY_BOUND:
                    raise
                continue
            logger.info("%s: bound %s as an offline event.", self.connection, event)

    def _give_up(self, reason: str) -> None:
        self._usable = False
        logger.warning(
            "%s: the Bitrix24 offline event queue is not read (%s); it needs "
            "an OAuth application authorised by a portal administrator. "
            "Changes are found by polling alone.",
            self.connection,
            reason,
        )
