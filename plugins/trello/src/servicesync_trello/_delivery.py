"""Reading Trello's records as the parts of a project two-way consistency follows.

* a board (``boards`` stream): the project, titled by its name, with the
  fields of its description's budget line; a closed board is ``cancelled``;
* a list (``lists`` stream): a milestone, unless it is one of the config's
  done lists; an archived list is no milestone. A list has no date: it is
  due when its last dated card is;
* a card (``cards`` stream): a task of its list, due on its ``due``, done as
  :func:`~servicesync_trello._progress.card_status` says (its due date
  marked complete, or its list a done list); an archived card is none.

Whether a card's list is a done list is known from the list's name, which
the card does not carry: the names of the lists read are kept in the
connection's plugin state, and the lists stream runs before the cards
stream in every sync.

The deal's project is the board's id, as ``create_project`` reported it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from servicesync.contract import PluginState
from servicesync.domain import ProjectStatus
from servicesync.engine import DeliveryItem
from servicesync_sdk.base import read_budget

from servicesync_trello._progress import card_status

__all__ = ["delivery_item"]

_LIST_KEY = "two-way:list-name:{list_id}"


def delivery_item(
    state: PluginState,
    done_lists: list[str],
    stream: str,
    payload: Mapping[str, Any],
) -> DeliveryItem | None:
    """Return what a record of ``stream`` says of a board, or ``None``."""
    if stream == "boards":
        return _board(payload)
    if stream == "lists":
        return _list(state, done_lists, payload)
    if stream == "cards":
        return _card(state, done_lists, payload)
    return None


def _board(payload: Mapping[str, Any]) -> DeliveryItem:
    board = str(payload["id"])
    values = read_budget(str(payload.get("desc") or ""))
    values["title"] = str(payload.get("name") or "")
    return DeliveryItem(
        kind="project",
        external_id=board,
        project=board,
        name=values["title"],
        state=ProjectStatus.CANCELLED if payload.get("closed") else None,
        values=values,
    )


def _list(
    state: PluginState, done_lists: list[str], payload: Mapping[str, Any]
) -> DeliveryItem | None:
    list_id, name = str(payload["id"]), str(payload.get("name") or "")
    key = _LIST_KEY.format(list_id=list_id)
    if state.get(key) != name:
        state.put(key, name)
    if payload.get("closed") or name in done_lists or not payload.get("idBoard"):
        return None
    return DeliveryItem(
        kind="milestone",
        external_id=list_id,
        project=str(payload["idBoard"]),
        name=name,
    )


def _card(
    state: PluginState, done_lists: list[str], payload: Mapping[str, Any]
) -> DeliveryItem | None:
    if not payload.get("idBoard"):
        return None
    list_id = str(payload.get("idList"))
    names = {list_id: state.get(_LIST_KEY.format(list_id=list_id)) or ""}
    status = card_status(payload, names, done_lists)
    if status == "archived":
        return None
    return DeliveryItem(
        kind="task",
        external_id=str(payload["id"]),
        project=str(payload["idBoard"]),
        done=status == "done",
        due=_day(payload.get("due")),
        milestones=(list_id,),
    )


def _day(value: Any) -> date | None:
    return date.fromisoformat(str(value)[:10]) if value else None
