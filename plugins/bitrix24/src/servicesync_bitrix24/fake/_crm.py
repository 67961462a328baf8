"""Handlers of the classic CRM methods: deals, companies, contacts, stages."""

from __future__ import annotations

from typing import Any

from servicesync_bitrix24.fake._calls import CallResult, Handler, MethodCall, list_page
from servicesync_bitrix24.fake._store import (
    COMPANY_STANDARD,
    CONTACT_STANDARD,
    DEAL_STANDARD,
    RestError,
)

__all__ = ["CRM_METHODS"]

_TYPE = {"statusType": "DEAL_TYPE"}
_STAGE = {"statusType": "DEAL_STAGE"}
_SOURCE = {"statusType": "SOURCE"}
_OLD = {"isDeprecated": True}

# name: (type, read only, immutable, multiple, title, extra)
_DEAL_FIELD_TYPES: dict[str, tuple[str, bool, bool, bool, str, dict[str, Any]]] = {
    "ID": ("integer", True, False, False, "ID", {}),
    "TITLE": ("string", False, False, False, "Title", {}),
    "TYPE_ID": ("crm_status", False, False, False, "Type", _TYPE),
    "CATEGORY_ID": ("crm_category", False, True, False, "Pipeline", {}),
    "STAGE_ID": ("crm_status", False, False, False, "Stage", _STAGE),
    "STAGE_SEMANTIC_ID": ("string", True, False, False, "Stage group", {}),
    "PROBABILITY": ("integer", False, False, False, "Probability", {}),
    "CURRENCY_ID": ("crm_currency", False, False, False, "Currency", {}),
    "OPPORTUNITY": ("double", False, False, False, "Amount", {}),
    "COMPANY_ID": ("crm_company", False, False, False, "Company",
                   {"settings": {"parentEntityTypeId": 4}}),
    "CONTACT_ID": ("crm_contact", False, False, False, "Contact", _OLD),
    "CONTACT_IDS": ("crm_contact", False, False, True, "Contacts", {}),
    "BEGINDATE": ("date", False, False, False, "Start date", {}),
    "CLOSEDATE": ("date", False, False, False, "Close date", {}),
    "CLOSED": ("char", False, False, False, "Closed", {}),
    "COMMENTS": ("string", False, False, False, "Comment", {}),
    "ASSIGNED_BY_ID": ("user", False, False, False, "Responsible", {}),
    "CREATED_BY_ID": ("user", True, False, False, "Created by", {}),
    "MODIFY_BY_ID": ("user", True, False, False, "Modified by", {}),
    "DATE_CREATE": ("datetime", True, False, False, "Created on", {}),
    "DATE_MODIFY": ("datetime", True, False, False, "Modified on", {}),
    "SOURCE_ID": ("crm_status", False, False, False, "Source", _SOURCE),
    "ORIGINATOR_ID": ("string", False, False, False, "External source", {}),
    "ORIGIN_ID": ("string", False, False, False, "External id", {}),
}  # fmt: skip


def _deal_id(call: MethodCall) -> int:
    raw = call.arg("id")
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise RestError(400, "", "ID is not defined or invalid.") from None


def _fields(call: MethodCall) -> dict[str, Any]:
    fields = call.arg("fields")
    if not isinstance(fields, dict):
        raise RestError(400, "", "Parameter 'fields' must be array.")
    return fields


def deal_list(call: MethodCall) -> CallResult:
    """``crm.deal.list``: filter, order, select, start."""
    rows = list(call.data.deals.values())
    return list_page(call, rows, standard=DEAL_STANDARD)


def deal_get(call: MethodCall) -> CallResult:
    """``crm.deal.get``: every field of one deal, custom ones included."""
    row = call.data.deals.get(_deal_id(call))
    if row is None:
        raise RestError(400, "", "Not found")
    return CallResult(dict(row), cost=call.costs.simple_call())


def deal_add(call: MethodCall) -> CallResult:
    """``crm.deal.add``: the new deal's id."""
    new_id = call.data.add_deal(_fields(call), call.caller.user_id)
    return CallResult(new_id, cost=call.costs.simple_call())


def deal_update(call: MethodCall) -> CallResult:
    """``crm.deal.update``: ``true`` once the fields are written."""
    call.data.update_deal(_deal_id(call), _fields(call), call.caller.user_id)
    return CallResult(True, cost=call.costs.simple_call())


def deal_delete(call: MethodCall) -> CallResult:
    """``crm.deal.delete``: ``true`` once the deal is gone."""
    call.data.delete_deal(_deal_id(call))
    return CallResult(True, cost=call.costs.simple_call())


def deal_fields(call: MethodCall) -> CallResult:
    """``crm.deal.fields``: field definitions, custom fields last."""
    result: dict[str, Any] = {}
    for name, (
        kind,
        read_only,
        immutable,
        multiple,
        title,
        extra,
    ) in _DEAL_FIELD_TYPES.items():
        result[name] = {
            "type": kind, "isRequired": False, "isReadOnly": read_only,
            "isImmutable": immutable, "isMultiple": multiple, "isDynamic": False,
            **extra, "title": title,
        }  # fmt: skip
    for name, label in call.data.deal_userfields.items():
        result[name] = {
            "type": "string", "isRequired": False, "isReadOnly": False,
            "isImmutable": False, "isMultiple": False, "isDynamic": True,
            "title": name, "listLabel": label, "formLabel": label,
            "filterLabel": label,
        }  # fmt: skip
    return CallResult(result, cost=call.costs.simple_call(len(result)))


def _party_list(kind: str) -> Handler:
    def handler(call: MethodCall) -> CallResult:
        table = call.data.companies if kind == "company" else call.data.contacts
        names = COMPANY_STANDARD if kind == "company" else CONTACT_STANDARD
        return list_page(call, list(table.values()), standard=names)

    return handler


def _party_add(kind: str) -> Handler:
    def handler(call: MethodCall) -> CallResult:
        new_id = call.data.add_party(kind, _fields(call), call.caller.user_id)
        return CallResult(new_id, cost=call.costs.simple_call())

    return handler


def category_list(call: MethodCall) -> CallResult:
    """``crm.category.list``: the pipelines of one entity type."""
    type_id = int(call.arg("entityTypeId", 0) or 0)
    rows = [c for c in call.data.categories if c["entityTypeId"] == type_id]
    if not rows and type_id not in (2, 31):
        raise RestError(400, "NOT_FOUND", "Smart process not found")
    return list_page(
        call,
        rows,
        id_key="id",
        wrap=lambda page: {"categories": page},
    )


def status_list(call: MethodCall) -> CallResult:
    """``crm.status.list``: reference rows such as pipeline stages."""
    return list_page(call, call.data.statuses)


def stagehistory_list(call: MethodCall) -> CallResult:
    """``crm.stagehistory.list``: stage moves of deals (``entityTypeId=2``)."""
    if int(call.arg("entityTypeId", 0) or 0) != 2:
        raise RestError(400, "", "The fake portal keeps stage history for deals only.")
    return list_page(
        call,
        call.data.stage_history,
        wrap=lambda page: {"items": page},
    )


CRM_METHODS: dict[str, Handler] = {
    "crm.deal.list": deal_list,
    "crm.deal.get": deal_get,
    "crm.deal.add": deal_add,
    "crm.deal.update": deal_update,
    "crm.deal.delete": deal_delete,
    "crm.deal.fields": deal_fields,
    "crm.company.list": _party_list("company"),
    "crm.company.add": _party_add("company"),
    "crm.contact.list": _party_list("contact"),
    "crm.contact.add": _party_add("contact"),
    "crm.category.list": category_list,
    "crm.status.list": status_list,
    "crm.stagehistory.list": stagehistory_list,
}
