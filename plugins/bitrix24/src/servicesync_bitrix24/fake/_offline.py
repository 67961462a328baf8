"""The fake portal's offline event queue and its ``event.offline.*`` methods.

An offline binding (``event.bind`` with ``event_type=offline``) queues each
change for its application to fetch instead of posting it. The queue keeps
the latest state of an object, not its history: a record names the event
and the object (``EVENT_DATA``), and a later change of the same object only
moves the record's ``TIMESTAMP_X``.

``event.offline.get`` reads the oldest records. With the default
``clear=1`` it deletes them as it answers, and ``process_id`` is ``null``.
With ``clear=0`` it reserves them under a new ``process_id`` instead:
reserved records are hidden from other reads until ``event.offline.clear``
deletes them, and ``event.offline.get`` with that ``process_id`` reads them
again, which is how a reader that died before clearing recovers them.
``event.offline.error`` marks records as failed; they come back only with
``error=1``. ``event.offline.list`` shows the queue without changing it.

Choices made where the documentation is silent:

* a change of an object whose record is reserved queues a new record, so
  that clearing the reservation cannot drop a change made after the read;
* an ``event.offline.get`` with ``clear=0`` that finds nothing still
  answers with a fresh ``process_id``;
* ``event.offline.error`` without ``message_id`` marks the whole
  reservation; marked records leave the reservation;
* the methods need an OAuth application, as the documentation says: an
  incoming webhook is refused with ``WRONG_AUTH_TYPE``; a user other than
  the administrator (user 1, the first the portal has) gets the documented
  ``403 ACCESS_DENIED``;
* ``auth_connector`` (separate queues per source) is not modelled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from servicesync_bitrix24.fake._calls import CallResult, Handler, MethodCall, list_page
from servicesync_bitrix24.fake._filters import apply_order, matches, moment_text
from servicesync_bitrix24.fake._store import RestError

__all__ = ["OFFLINE_METHODS", "OfflineQueue"]

#: The portal's administrator: the first user, whom every fake portal has.
ADMINISTRATOR = 1

#: What ``event.offline.get`` prints of a record; ``list`` adds the rest.
_GET_FIELDS = ("ID", "TIMESTAMP_X", "EVENT_NAME", "EVENT_DATA",
               "EVENT_ADDITIONAL", "MESSAGE_ID")  # fmt: skip
_LIST_FIELDS = (*_GET_FIELDS, "PROCESS_ID", "ERROR")


@dataclass
class OfflineQueue:
    """Every application's queued offline events, in the order they came.

    Args:
        now: the portal's clock.
        tz: the portal's zone, for ``TIMESTAMP_X``.
        new_process_id: makes the identifier of a reservation.
    """

    now: Callable[[], datetime]
    tz: timezone
    new_process_id: Callable[[], str]
    records: list[dict[str, Any]] = field(default_factory=list)
    _next_id: int = 1

    def push(self, owner: str, event: str, data: Mapping[str, Any]) -> None:
        """Queue ``event`` about the object ``data`` names, for ``owner``."""
        stamp = moment_text(self.now(), self.tz)
        object_id = _object_id(data)
        waiting = self._waiting(owner, event, object_id)
        if waiting is not None:
            waiting["TIMESTAMP_X"] = stamp
            return
        self.records.append(
            {
                "ID": str(self._next_id),
                "TIMESTAMP_X": stamp,
                "EVENT_NAME": event,
                "EVENT_DATA": dict(data) if data else False,
                "EVENT_ADDITIONAL": {"user_id": str(ADMINISTRATOR)},
                "MESSAGE_ID": str(self._next_id),
                "PROCESS_ID": "",
                "ERROR": "0",
                "_owner": owner,
                "_object": object_id,
            }
        )
        self._next_id += 1

    def _waiting(
        self, owner: str, event: str, object_id: str | None
    ) -> dict[str, Any] | None:
        """The unreserved, unfailed record of the same object and event."""
        if object_id is None:
            return None
        for record in self.records:
            same = (record["_owner"], record["EVENT_NAME"], record["_object"])
            idle = record["PROCESS_ID"] == "" and record["ERROR"] == "0"
            if idle and same == (owner, event, object_id):
                return record
        return None

    def owned(self, owner: str) -> list[dict[str, Any]]:
        """Return ``owner``'s records, reserved or not."""
        return [r for r in self.records if r["_owner"] == owner]

    def remove(self, doomed: list[dict[str, Any]]) -> None:
        """Delete the given records."""
        gone = {id(record) for record in doomed}
        self.records = [r for r in self.records if id(r) not in gone]


def _object_id(data: Mapping[str, Any]) -> str | None:
    fields = data.get("FIELDS") if isinstance(data, Mapping) else None
    if isinstance(fields, Mapping) and fields.get("ID") not in (None, ""):
        return str(fields["ID"])
    return None


def _shown(record: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {name: record[name] for name in names}


def _queue(call: MethodCall) -> OfflineQueue:
    """The caller's queue, once the caller may read it."""
    if call.caller.key.startswith("webhook:"):
        # Only an application has an offline queue; a webhook has none.
        raise RestError(
            401,
            "WRONG_AUTH_TYPE",
            "Current authorization type is denied for this method",
        )
    if call.caller.user_id != ADMINISTRATOR:
        raise RestError(403, "ACCESS_DENIED", "Access denied!")
    return call.events.queue


def _flag(call: MethodCall, name: str, default: str) -> bool:
    return str(call.arg(name, default)).strip().lower() not in ("0", "n", "false", "")


def _mapping(call: MethodCall, name: str) -> dict[str, Any]:
    value = call.arg(name)
    return dict(value) if isinstance(value, Mapping) else {}


def _process_id(call: MethodCall) -> str:
    process_id = str(call.arg("process_id") or "").strip()
    if not process_id:
        raise RestError(
            400, "ERROR_REQUIRED_PARAMETERS_MISSING", "process_id is required."
        )
    return process_id


def _strings(value: Any) -> set[str] | None:
    if value in (None, "", []):
        return None
    values = value.values() if isinstance(value, Mapping) else value
    if isinstance(values, str | int):
        values = [values]
    return {str(v) for v in values}


def offline_get(call: MethodCall) -> CallResult:
    """``event.offline.get``: ``{"process_id": ..., "events": [...]}``.

    Without ``process_id`` it takes the oldest free records; with one, the
    records still reserved under it.
    """
    queue = _queue(call)
    owner = call.caller.key
    limit = max(1, int(call.arg("limit", 50) or 50))
    clear = _flag(call, "clear", "1")
    error = "1" if _flag(call, "error", "0") else "0"
    given = str(call.arg("process_id") or "").strip()
    rows = [
        r for r in queue.owned(owner)
        if r["ERROR"] == error and r["PROCESS_ID"] == given
        and matches(r, _mapping(call, "filter"), call.data.tz)
    ]  # fmt: skip
    order = _mapping(call, "order") or {"TIMESTAMP_X": "ASC"}
    taken = apply_order(rows, order, call.data.tz)[:limit]
    events = [_shown(r, _GET_FIELDS) for r in taken]
    if clear:
        queue.remove(taken)
        return _answer(call, None, events)
    process_id = given or queue.new_process_id()
    for record in taken:
        record["PROCESS_ID"] = process_id
    return _answer(call, process_id, events)


def _answer(call: MethodCall, process_id: str | None, events: list[Any]) -> CallResult:
    result = {"process_id": process_id, "events": events}
    return CallResult(result, cost=call.costs.simple_call())


def offline_clear(call: MethodCall) -> CallResult:
    """``event.offline.clear``: ``true``; deletes records of one reservation.

    ``id`` narrows the records to clear; ``message_id`` does when ``id`` is
    not given.
    """
    queue = _queue(call)
    process_id = _process_id(call)
    ids = _strings(call.arg("id"))
    message_ids = None if ids is not None else _strings(call.arg("message_id"))
    doomed = [
        r for r in queue.owned(call.caller.key)
        if r["PROCESS_ID"] == process_id
        and (ids is None or r["ID"] in ids)
        and (message_ids is None or r["MESSAGE_ID"] in message_ids)
    ]  # fmt: skip
    queue.remove(doomed)
    return CallResult(True, cost=call.costs.simple_call())


def offline_error(call: MethodCall) -> CallResult:
    """``event.offline.error``: ``true``; marks reserved records as failed."""
    queue = _queue(call)
    process_id = _process_id(call)
    message_ids = _strings(call.arg("message_id"))
    for record in queue.owned(call.caller.key):
        if record["PROCESS_ID"] != process_id:
            continue
        if message_ids is None or record["MESSAGE_ID"] in message_ids:
            record["ERROR"] = "1"
            record["PROCESS_ID"] = ""
    return CallResult(True, cost=call.costs.simple_call())


def offline_list(call: MethodCall) -> CallResult:
    """``event.offline.list``: the queue as it is, 50 a page, with ``total``."""
    rows = [_shown(r, _LIST_FIELDS) for r in _queue(call).owned(call.caller.key)]
    return list_page(call, rows)


OFFLINE_METHODS: dict[str, Handler] = {
    "event.offline.get": offline_get,
    "event.offline.clear": offline_clear,
    "event.offline.error": offline_error,
    "event.offline.list": offline_list,
}
