"""The fake's data: members, workspaces, boards, lists, cards and actions.

Every change goes through a method here, which records the Trello action
it causes, so ``GET /boards/{id}/actions`` and webhooks see what happened.
"""

from __future__ import annotations

import copy
import string
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import Any

from servicesync import Clock

from servicesync_trello.fake._errors import FakeTrelloError
from servicesync_trello.fake._ids import IdFactory, is_id

__all__ = ["TrelloState", "format_date", "parse_date"]

_SHORT = string.ascii_letters + string.digits
_CARD_FIELDS = ("name", "desc", "closed", "idList", "due", "start", "dueComplete")


def format_date(moment: datetime) -> str:
    """Return ``moment`` as Trello writes dates: ``2024-01-05T10:00:00.000Z``."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_date(value: Any) -> str | None:
    """Read a date or date-time a client sent; ``None`` clears it.

    Raises:
        FakeTrelloError: the value is neither (400, as Trello answers).
    """
    if value in (None, "", "null"):
        return None
    text = str(value)
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), datetime.min.time())
            return format_date(moment.replace(tzinfo=UTC))
        return format_date(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        raise FakeTrelloError(400, f"invalid date: {text}") from None


class TrelloState:
    """Everything the fake Trello holds, and the changes a client can make."""

    def __init__(self, clock: Clock, ids: IdFactory, short: Callable[[], int]) -> None:
        self.clock = clock
        self.ids = ids
        self._short = short
        self.members: dict[str, dict[str, Any]] = {}
        self.emails: dict[str, str] = {}
        self.organizations: dict[str, dict[str, Any]] = {}
        self.boards: dict[str, dict[str, Any]] = {}
        self.lists: dict[str, dict[str, Any]] = {}
        self.cards: dict[str, dict[str, Any]] = {}
        self.actions: list[dict[str, Any]] = []
        self.listeners: list[Callable[[dict[str, Any]], None]] = []

    # -- members and workspaces ---------------------------------------------

    def add_member(self, username: str, full_name: str, email: str) -> dict[str, Any]:
        """Create a Trello account."""
        member: dict[str, Any] = {
            "id": self.ids.new(),
            "username": username,
            "fullName": full_name,
            "initials": "".join(w[0] for w in full_name.split()[:2]).upper(),
            "confirmed": True,
            "memberType": "normal",
            "url": f"https://trello.com/{username}",
        }
        self.members[member["id"]] = member
        self.emails[email.strip().lower()] = member["id"]
        return member

    def add_organization(self, name: str, display_name: str) -> dict[str, Any]:
        """Create a Workspace."""
        org: dict[str, Any] = {
            "id": self.ids.new(),
            "name": name,
            "displayName": display_name,
        }
        self.organizations[org["id"]] = org
        return org

    def member(self, id_or_username: str) -> dict[str, Any]:
        """Return a member by id or username, or raise 404."""
        if id_or_username in self.members:
            return self.members[id_or_username]
        for member in self.members.values():
            if member["username"] == id_or_username:
                return member
        raise FakeTrelloError(404, "model not found")

    def member_view(self, member: dict[str, Any], *, own: bool) -> dict[str, Any]:
        """Return a member as the API shows it; the email only to its owner."""
        view = dict(member)
        if own:
            view["email"] = next(e for e, m in self.emails.items() if m == member["id"])
        return view

    # -- boards ---------------------------------------------------------------

    def board(self, board_id: str) -> dict[str, Any]:
        """Return a board, or raise Trello's 400/404."""
        return self._get(self.boards, board_id)

    def create_board(self, creator: str, params: dict[str, Any]) -> dict[str, Any]:
        """Create a board, empty, with the default lists, or copied from another."""
        name = str(params.get("name") or "")
        if not name:
            raise FakeTrelloError(400, "invalid value for name")
        org = params.get("idOrganization")
        if org and org not in self.organizations:
            raise FakeTrelloError(400, "invalid value for idOrganization")
        source = params.get("idBoardSource")
        template = self.board(str(source)) if source else None
        board = self._new_board(creator, name, str(params.get("desc") or ""), org)
        if template is not None:
            keep = str(params.get("keepFromSource") or "none") == "cards"
            self._copy_into(board, template, creator, keep)
            self.record(creator, "copyBoard", board, extra={"boardSource": template})
        else:
            self.record(creator, "createBoard", board)
            if _flag(params.get("defaultLists"), default=True):
                for title in ("To Do", "Doing", "Done"):
                    self.create_list(creator, {"name": title, "idBoard": board["id"]})
        return board

    def _new_board(
        self, creator: str, name: str, desc: str, org: Any
    ) -> dict[str, Any]:
        board_id = self.ids.new()
        short = self.short_link()
        now = format_date(self.clock.now())
        board = {
            "id": board_id,
            "name": name,
            "desc": desc,
            "closed": False,
            "idOrganization": org or None,
            "idMemberCreator": creator,
            "pinned": False,
            "url": f"https://trello.com/b/{short}/{_slug(name)}",
            "shortUrl": f"https://trello.com/b/{short}",
            "shortLink": short,
            "prefs": {"permissionLevel": "private", "selfJoin": True},
            "labelNames": {},
            "dateLastActivity": now,
            "memberships": [self._membership(creator, "admin")],
        }
        self.boards[board_id] = board
        return board

    def _copy_into(
        self, board: dict[str, Any], template: dict[str, Any], creator: str, keep: bool
    ) -> None:
        for source in self.lists_of(template["id"], "open"):
            copied = self.create_list(
                creator,
                {"name": source["name"], "idBoard": board["id"], "pos": source["pos"]},
                quiet=True,
            )
            if not keep:
                continue
            for card in self.cards_of(template["id"], "open"):
                if card["idList"] == source["id"]:
                    fields = {k: card[k] for k in ("name", "desc", "due", "pos")}
                    self.create_card(
                        creator, {**fields, "idList": copied["id"]}, quiet=True
                    )

    def update_board(
        self, actor: str, board_id: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        """Change a board's name, description or closed flag (``updateBoard``)."""
        board = self.board(board_id)
        changes: dict[str, Any] = {}
        if "name" in params:
            changes["name"] = str(params["name"] or "")
            if not changes["name"]:
                raise FakeTrelloError(400, "invalid value for name")
        if "desc" in params:
            changes["desc"] = str(params["desc"] or "")
        if "closed" in params:
            changes["closed"] = _flag(params["closed"], default=False)
        old = {k: board[k] for k, v in changes.items() if board[k] != v}
        if old:
            board.update({k: changes[k] for k in old})
            self.record(actor, "updateBoard", board, extra={"old": old})
        return board

    def board_view(self, board: dict[str, Any]) -> dict[str, Any]:
        """Return a board without its memberships (not a default field)."""
        return {k: v for k, v in board.items() if k != "memberships"}

    def add_board_member(
        self, actor: str, board_id: str, member_id: str, member_type: str
    ) -> dict[str, Any]:
        """Make a member part of a board; adding one twice changes nothing."""
        board = self.board(board_id)
        if member_type not in ("admin", "normal", "observer"):
            raise FakeTrelloError(400, "invalid value for type")
        if not any(m["idMember"] == member_id for m in board["memberships"]):
            board["memberships"].append(self._membership(member_id, member_type))
            self.record(
                actor,
                "addMemberToBoard",
                board,
                extra={"idMemberAdded": member_id},
            )
        return {
            "id": board_id,
            "members": self.board_members(board_id),
            "memberships": copy.deepcopy(board["memberships"]),
        }

    def invite_by_email(
        self, actor: str, board_id: str, email: str, member_type: str, name: str
    ) -> dict[str, Any]:
        """Add the account with ``email`` to a board, creating an unconfirmed one."""
        self.board(board_id)
        if "@" not in email:
            raise FakeTrelloError(400, "invalid email address")
        member_id = self.emails.get(email.strip().lower())
        if member_id is None:
            username = email.split("@")[0].replace(".", "") + str(self._short())
            member = self.add_member(username, name or email.split("@")[0], email)
            member["confirmed"] = False
            member_id = member["id"]
        return self.add_board_member(actor, board_id, member_id, member_type)

    def board_members(self, board_id: str) -> list[dict[str, Any]]:
        """Return the members of a board as ``GET /boards/{id}/members`` does."""
        board = self.board(board_id)
        return [
            {
                k: self.members[m["idMember"]][k]
                for k in ("id", "username", "fullName", "initials")
            }
            for m in board["memberships"]
        ]

    def _membership(self, member_id: str, member_type: str) -> dict[str, Any]:
        return {
            "id": self.ids.new(),
            "idMember": member_id,
            "memberType": member_type,
            "unconfirmed": not self.members[member_id]["confirmed"],
            "deactivated": False,
        }

    # -- lists ----------------------------------------------------------------

    def create_list(
        self, actor: str, params: dict[str, Any], *, quiet: bool = False
    ) -> dict[str, Any]:
        """Create a list at the end of a board (or at ``pos``)."""
        name = str(params.get("name") or "")
        if not name:
            raise FakeTrelloError(400, "invalid value for name")
        board = self.board(str(params.get("idBoard") or ""))
        existing = self.lists_of(board["id"], "all")
        pos = _position(params.get("pos"), [x["pos"] for x in existing])
        item = {
            "id": self.ids.new(),
            "name": name,
            "closed": False,
            "pos": pos,
            "idBoard": board["id"],
            "subscribed": False,
        }
        self.lists[item["id"]] = item
        if not quiet:
            self.record(actor, "createList", board, lst=item)
        return item

    def update_list(
        self, actor: str, list_id: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        """Rename, archive or move a list (``updateList``)."""
        item = self._get(self.lists, list_id)
        changes: dict[str, Any] = {}
        if "name" in params:
            changes["name"] = str(params["name"] or "")
            if not changes["name"]:
                raise FakeTrelloError(400, "invalid value for name")
        if "closed" in params:
            changes["closed"] = _flag(params["closed"], default=False)
        if "pos" in params:
            siblings = [x["pos"] for x in self.lists_of(item["idBoard"], "all")]
            changes["pos"] = _position(params["pos"], siblings)
        old = {k: item[k] for k, v in changes.items() if item[k] != v}
        if old:
            item.update({k: changes[k] for k in old})
            board = self.boards[item["idBoard"]]
            self.record(actor, "updateList", board, lst=item, extra={"old": old})
        return item

    def lists_of(self, board_id: str, view: str) -> list[dict[str, Any]]:
        """Return a board's lists in position order, filtered open/closed/all."""
        found = [x for x in self.lists.values() if x["idBoard"] == board_id]
        return sorted(_filtered(found, view), key=lambda x: x["pos"])

    # -- cards ----------------------------------------------------------------

    def card(self, card_id: str) -> dict[str, Any]:
        """Return a card, or raise Trello's 400/404."""
        return self._get(self.cards, card_id)

    def create_card(
        self, actor: str, params: dict[str, Any], *, quiet: bool = False
    ) -> dict[str, Any]:
        """Create a card in a list."""
        lst = self._get(self.lists, str(params.get("idList") or ""))
        board = self.boards[lst["idBoard"]]
        members = _id_list(params.get("idMembers"))
        for member_id in members:
            if not any(m["idMember"] == member_id for m in board["memberships"]):
                raise FakeTrelloError(400, "invalid value for idMembers")
        siblings = [c["pos"] for c in self.cards.values() if c["idList"] == lst["id"]]
        card_id, short = self.ids.new(), self.short_link()
        card = {
            "id": card_id,
            "name": str(params.get("name") or ""),
            "desc": str(params.get("desc") or ""),
            "closed": False,
            "idBoard": board["id"],
            "idList": lst["id"],
            "idMembers": members,
            "idLabels": _id_list(params.get("idLabels")),
            "labels": [],
            "due": parse_date(params.get("due")),
            "start": parse_date(params.get("start")),
            "dueComplete": _flag(params.get("dueComplete"), default=False),
            "pos": _position(params.get("pos"), siblings),
            "idShort": sum(
                1 for c in self.cards.values() if c["idBoard"] == board["id"]
            )
            + 1,
            "shortLink": short,
            "shortUrl": f"https://trello.com/c/{short}",
            "url": f"https://trello.com/c/{short}/{_slug(str(params.get('name')))}",
            "dateLastActivity": format_date(self.clock.now()),
            "idChecklists": [],
            "badges": {},
        }
        _refresh_badges(card)
        self.cards[card_id] = card
        if not quiet:
            self.record(actor, "createCard", board, lst=lst, card=card)
        return card

    def update_card(
        self, actor: str, card_id: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        """Change a card's fields, recording one ``updateCard`` action."""
        card = self.card(card_id)
        old: dict[str, Any] = {}
        changes = self._card_changes(card, params)
        for key, value in changes.items():
            if card[key] != value:
                old[key] = card[key]
                card[key] = value
        if "idMembers" in params:
            card["idMembers"] = _id_list(params["idMembers"])
        if old:
            _refresh_badges(card)
            card["dateLastActivity"] = format_date(self.clock.now())
            board = self.boards[card["idBoard"]]
            self.record(
                actor,
                "updateCard",
                board,
                lst=self.lists[card["idList"]],
                card=card,
                extra={"old": old},
            )
        return card

    def _card_changes(
        self, card: dict[str, Any], params: dict[str, Any]
    ) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        for key in _CARD_FIELDS:
            if key not in params:
                continue
            value = params[key]
            if key in ("due", "start"):
                value = parse_date(value)
            elif key in ("closed", "dueComplete"):
                value = _flag(value, default=False)
            elif key == "idList":
                target = self._get(self.lists, str(value))
                if target["idBoard"] != card["idBoard"]:
                    raise FakeTrelloError(400, "invalid value for idList")
            else:
                value = str(value)
            changes[key] = value
        return changes

    def delete_card(self, actor: str, card_id: str) -> None:
        """Delete a card for good, recording ``deleteCard``."""
        card = self.card(card_id)
        del self.cards[card_id]
        board = self.boards[card["idBoard"]]
        self.record(
            actor, "deleteCard", board, lst=self.lists[card["idList"]], card=card
        )

    def cards_of(self, board_id: str, view: str) -> list[dict[str, Any]]:
        """Return a board's cards, filtered open/closed/all/complete/incomplete."""
        found = [c for c in self.cards.values() if c["idBoard"] == board_id]
        if view == "complete":
            return [c for c in found if c["dueComplete"]]
        if view == "incomplete":
            return [c for c in found if not c["dueComplete"]]
        return _filtered(found, "open" if view == "visible" else view)

    # -- actions --------------------------------------------------------------

    def record(
        self,
        actor: str,
        kind: str,
        board: dict[str, Any],
        *,
        lst: dict[str, Any] | None = None,
        card: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Record an action on ``board`` and tell the listeners."""
        data: dict[str, Any] = {
            "board": {
                "id": board["id"],
                "name": board["name"],
                "shortLink": board["shortLink"],
            }
        }
        if lst is not None:
            data["list"] = {"id": lst["id"], "name": lst["name"]}
        if card is not None:
            data["card"] = {
                k: card[k] for k in ("id", "name", "idShort", "shortLink", "idList")
            }
        for key, value in (extra or {}).items():
            if key == "boardSource":
                data[key] = {"id": value["id"]}
            else:
                data[key] = value
        creator = self.members[actor]
        action = {
            "id": self.ids.new(),
            "idMemberCreator": actor,
            "type": kind,
            "date": format_date(self.clock.now()),
            "data": data,
            "memberCreator": {
                k: creator[k] for k in ("id", "username", "fullName", "initials")
            },
        }
        board["dateLastActivity"] = action["date"]
        self.actions.append(action)
        for listener in self.listeners:
            listener(action)
        return action

    def board_actions(
        self,
        board_id: str,
        *,
        since: str | None,
        before: str | None,
        limit: int,
        page: int,
        kinds: Iterable[str],
    ) -> list[dict[str, Any]]:
        """Return a board's actions, newest first, within ``since`` and ``before``."""
        self.board(board_id)
        wanted = set(kinds)
        found = [
            a
            for a in reversed(self.actions)
            if a["data"]["board"]["id"] == board_id
            and (not wanted or a["type"] in wanted)
            and _after(a, since)
            and _before(a, before)
        ]
        return found[page * limit : (page + 1) * limit]

    # -- helpers --------------------------------------------------------------

    def short_link(self) -> str:
        """Return a fresh eight-character short link."""
        number, text = self._short(), ""
        for _ in range(8):
            number, index = divmod(number, len(_SHORT))
            text += _SHORT[index]
        return text

    def _get(self, table: dict[str, dict[str, Any]], object_id: str) -> dict[str, Any]:
        if not is_id(object_id):
            raise FakeTrelloError(400, "invalid id")
        found = table.get(object_id)
        if found is None:
            raise FakeTrelloError(404, "The requested resource was not found.")
        return found


def _refresh_badges(card: dict[str, Any]) -> None:
    card["badges"] = {
        "votes": 0,
        "viewingMemberVoted": False,
        "subscribed": False,
        "checkItems": 0,
        "checkItemsChecked": 0,
        "comments": 0,
        "attachments": 0,
        "description": bool(card["desc"]),
        "due": card["due"],
        "start": card["start"],
        "dueComplete": card["dueComplete"],
    }


def _flag(value: Any, *, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).lower() == "true"


def _id_list(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    ids = [str(i).strip() for i in items if str(i).strip()]
    for item in ids:
        if not is_id(item):
            raise FakeTrelloError(400, "invalid id")
    return ids


def _position(value: Any, taken: list[float]) -> float:
    if value in (None, "", "bottom"):
        return (max(taken) if taken else 0.0) + 16384.0
    if value == "top":
        return (min(taken) if taken else 16384.0) / 2
    try:
        return float(value)
    except (TypeError, ValueError):
        raise FakeTrelloError(400, "invalid value for pos") from None


def _filtered(items: list[dict[str, Any]], view: str) -> list[dict[str, Any]]:
    if view == "open":
        return [i for i in items if not i["closed"]]
    if view == "closed":
        return [i for i in items if i["closed"]]
    if view == "none":
        return []
    return list(items)


def _slug(name: str) -> str:
    words = "".join(c if c.isalnum() else " " for c in name.lower()).split()
    return "-".join(words) or "board"


def _bound(value: str) -> tuple[str, str]:
    if is_id(value):
        return "id", value
    return "date", parse_date(value) or ""


def _after(action: dict[str, Any], since: str | None) -> bool:
    if not since:
        return True
    kind, bound = _bound(since)
    return bool(action[kind] > bound) if kind == "id" else bool(action[kind] >= bound)


def _before(action: dict[str, Any], before: str | None) -> bool:
    if not before:
        return True
    kind, bound = _bound(before)
    return bool(action[kind] < bound)
