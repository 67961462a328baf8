"""Handlers of crm.item.*, timeline comments, users, tasks and event bindings."""

from __future__ import annotations

import re
from typing import Any

from servicesync_bitrix24.fake._calls import CallResult, Handler, MethodCall, list_page
from servicesync_bitrix24.fake._store import INVOICE_CATEGORY, RestError

__all__ = ["OTHER_METHODS", "camel_uf", "original_uf"]

_UF_TYPED = re.compile(r"^UF_CRM_(\d+)_(.+)$")


def camel_uf(name: str) -> str:
    """``UF_CRM_31_1700000000`` -> ``ufCrm31_1700000000``; other names as given."""
    if not name.upper().startswith("UF_CRM_"):
        return name
    typed = _UF_TYPED.match(name.upper())
    if typed:
        return f"ufCrm{typed.group(1)}_{typed.group(2).lower()}"
    return "ufCrm_" + name[len("UF_CRM_") :].lower()


def original_uf(name: str) -> str:
    """Invert :func:`camel_uf`."""
    if not name.startswith("ufCrm"):
        return name
    rest = name[len("ufCrm") :]
    if rest.startswith("_"):
        return "UF_CRM_" + rest[1:].upper()
    return "UF_CRM_" + rest.upper()


def _original_names(call: MethodCall) -> bool:
    return str(call.arg("useOriginalUfNames", "N")).upper() in ("Y", "1", "TRUE")


def _item_type(call: MethodCall) -> dict[int, dict[str, Any]]:
    try:
        type_id = int(call.arg("entityTypeId"))
    except (TypeError, ValueError):
        raise RestError(400, "", "entityTypeId is required.") from None
    if type_id != 31:
        # Deals, leads and custom types through crm.item.* are outside
        # what the fake portal models; it says so instead of guessing.
        raise RestError(
            400,
            "NOT_FOUND",
            f"The fake portal serves crm.item.* for invoices (31) only, not {type_id}.",
        )
    return call.data.items.setdefault(type_id, {})


def _out(call: MethodCall, item: dict[str, Any]) -> dict[str, Any]:
    if _original_names(call):
        return dict(item)
    return {camel_uf(key): value for key, value in item.items()}


def _in_fields(call: MethodCall) -> dict[str, Any]:
    fields = call.arg("fields")
    if not isinstance(fields, dict):
        raise RestError(400, "", "Parameter 'fields' must be array.")
    return {original_uf(str(k)) if str(k).startswith("ufCrm") else str(k): v
            for k, v in fields.items()}  # fmt: skip


def _number(value: Any) -> Any:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value
    return int(number) if number.is_integer() else number


def item_add(call: MethodCall) -> CallResult:
    """``crm.item.add`` for new invoices: ``{"item": {...}}``."""
    table = _item_type(call)
    fields = _in_fields(call)
    new_id = call.data.next_id("item31")
    now = call.data.stamp()
    stage = str(fields.pop("stageId", f"DT31_{INVOICE_CATEGORY}:N"))
    item: dict[str, Any] = {
        "id": new_id, "xmlId": None, "title": f"Invoice #{new_id}",
        "createdTime": now, "updatedTime": now, "createdBy": call.caller.user_id,
        "updatedBy": call.caller.user_id, "assignedById": call.caller.user_id,
        "categoryId": INVOICE_CATEGORY, "stageId": stage,
        "stageSemanticId": call.data.stage_semantic(stage), "opportunity": 0,
        "currencyId": "USD", "parentId2": None, "begindate": now, "closedate": None,
        "companyId": 0, "contactId": 0, "opened": "Y",
    }  # fmt: skip
    for key, value in fields.items():
        if key in item and key not in ("id", "createdTime", "updatedTime"):
            item[key] = _number(value) if key in ("opportunity", "parentId2") else value
        elif key.startswith("UF_CRM_"):
            item[key] = value
    table[new_id] = item
    return CallResult({"item": _out(call, item)}, cost=call.costs.simple_call())


def _item(call: MethodCall) -> dict[str, Any]:
    table = _item_type(call)
    try:
        item = table.get(int(call.arg("id")))
    except (TypeError, ValueError):
        item = None
    if item is None:
        raise RestError(400, "NOT_FOUND", "Element not found")
    return item


def item_get(call: MethodCall) -> CallResult:
    """``crm.item.get``: ``{"item": {...}}``."""
    return CallResult({"item": _out(call, _item(call))}, cost=call.costs.simple_call())


def item_update(call: MethodCall) -> CallResult:
    """``crm.item.update``: the item as it now is."""
    item = _item(call)
    for key, value in _in_fields(call).items():
        if (key in item and key not in ("id", "createdTime")) or key.startswith(
            "UF_CRM_"
        ):
            item[key] = value
    item["stageSemanticId"] = call.data.stage_semantic(item["stageId"])
    item["updatedTime"] = call.data.stamp()
    return CallResult({"item": _out(call, item)}, cost=call.costs.simple_call())


def item_list(call: MethodCall) -> CallResult:
    """``crm.item.list``: ``{"items": [...]}`` with ``total`` and ``next``."""
    rows = list(_item_type(call).values())
    return list_page(
        call, rows, id_key="id", wrap=lambda page: {"items": page},
        shape=lambda row: _out(call, row),
    )  # fmt: skip


def comment_add(call: MethodCall) -> CallResult:
    """``crm.timeline.comment.add``: the new comment's id."""
    fields = call.arg("fields")
    if not isinstance(fields, dict) or not fields.get("COMMENT"):
        raise RestError(400, "", "COMMENT is required.")
    new_id = call.data.next_id("comment")
    call.data.comments.append(
        {
            "ID": str(new_id),
            "CREATED": call.data.stamp(),
            "ENTITY_ID": str(fields.get("ENTITY_ID", "")),
            "ENTITY_TYPE": str(fields.get("ENTITY_TYPE", "")).lower(),
            "AUTHOR_ID": str(call.caller.user_id),
            "COMMENT": str(fields["COMMENT"]),
            "FILES": [],
        }
    )
    return CallResult(new_id, cost=call.costs.simple_call())


def comment_list(call: MethodCall) -> CallResult:
    """``crm.timeline.comment.list``: comments of one CRM object."""
    return list_page(call, call.data.comments)


def user_get(call: MethodCall) -> CallResult:
    """``user.get``: users, 50 a page."""
    return list_page(call, list(call.data.users.values()))


def task_add(call: MethodCall) -> CallResult:
    """``tasks.task.add``: ``{"task": {...}}``."""
    fields = call.arg("fields")
    if not isinstance(fields, dict) or not fields.get("TITLE"):
        raise RestError(400, "", "TITLE is required.")
    new_id = call.data.next_id("task")
    now = call.data.stamp()
    task = {
        "id": str(new_id), "title": str(fields["TITLE"]),
        "description": str(fields.get("DESCRIPTION", "")),
        "deadline": fields.get("DEADLINE"), "createdDate": now, "changedDate": now,
        "responsibleId": str(fields.get("RESPONSIBLE_ID", call.caller.user_id)),
        "createdBy": str(call.caller.user_id), "priority": "1", "status": "2",
        "groupId": str(fields.get("GROUP_ID", "0")),
        "ufCrmTask": list(fields.get("UF_CRM_TASK", [])),
    }  # fmt: skip
    call.data.tasks[new_id] = task
    return CallResult({"task": task}, cost=call.costs.simple_call())


def task_list(call: MethodCall) -> CallResult:
    """``tasks.task.list``: ``{"tasks": [...]}``."""
    return list_page(
        call, list(call.data.tasks.values()), id_key="id",
        wrap=lambda page: {"tasks": page},
    )  # fmt: skip


def event_bind(call: MethodCall) -> CallResult:
    """``event.bind``: ``true``; offline when ``event_type=offline``."""
    event, handler = call.arg("event"), call.arg("handler", "")
    offline = str(call.arg("event_type", "online")).lower() == "offline"
    if not event or (not offline and not handler):
        raise RestError(
            400, "ERROR_REQUIRED_PARAMETERS_MISSING", "Required parameters are missing."
        )
    try:
        call.events.bind(
            str(event), str(handler), token=call.caller.application_token,
            owner=call.caller.key, offline=offline,
        )  # fmt: skip
    except ValueError as exc:
        raise RestError(400, "ERROR_EVENT_HANDLER_ALREADY_BINDED", str(exc)) from None
    return CallResult(True, cost=call.costs.simple_call())


def event_unbind(call: MethodCall) -> CallResult:
    """``event.unbind``: ``{"count": n}``."""
    count = call.events.unbind(
        str(call.arg("event", "")), str(call.arg("handler", "")), call.caller.key
    )
    return CallResult({"count": count}, cost=call.costs.simple_call())


def event_get(call: MethodCall) -> CallResult:
    """``event.get``: the caller's bindings."""
    rows = [
        {"event": b.event, "handler": b.handler, "auth_type": str(b.auth_type),
         "offline": 1 if b.offline else 0}
        for b in call.events.bindings if b.owner == call.caller.key
    ]  # fmt: skip
    return CallResult(rows, cost=call.costs.simple_call())


OTHER_METHODS: dict[str, Handler] = {
    "crm.item.add": item_add,
    "crm.item.get": item_get,
    "crm.item.update": item_update,
    "crm.item.list": item_list,
    "crm.timeline.comment.add": comment_add,
    "crm.timeline.comment.list": comment_list,
    "user.get": user_get,
    "tasks.task.add": task_add,
    "tasks.task.list": task_list,
    "event.bind": event_bind,
    "event.unbind": event_unbind,
    "event.get": event_get,
}
