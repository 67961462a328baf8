"""The fake portal's data: CRM entities, pipelines, users, tasks, comments.

Classic CRM entities (deals, companies, contacts) are kept as the portal
prints them: every scalar a string, dates with the portal's offset. Smart
process items (new invoices, ``entityTypeId=31``) are kept in the
``crm.item.*`` shape: camelCase names, numbers as numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from servicesync_bitrix24.fake._filters import moment_text

__all__ = ["DEAL_STANDARD", "PortalData", "RestError"]

EventSink = Callable[[str, Mapping[str, Any]], None]

DEAL_STANDARD: tuple[str, ...] = (
    "ID", "TITLE", "TYPE_ID", "STAGE_ID", "PROBABILITY", "CURRENCY_ID",
    "OPPORTUNITY", "IS_MANUAL_OPPORTUNITY", "TAX_VALUE", "LEAD_ID", "COMPANY_ID",
    "CONTACT_ID", "QUOTE_ID", "BEGINDATE", "CLOSEDATE", "ASSIGNED_BY_ID",
    "CREATED_BY_ID", "MODIFY_BY_ID", "DATE_CREATE", "DATE_MODIFY", "OPENED",
    "CLOSED", "COMMENTS", "ADDITIONAL_INFO", "LOCATION_ID", "CATEGORY_ID",
    "STAGE_SEMANTIC_ID", "IS_NEW", "IS_RECURRING", "IS_RETURN_CUSTOMER",
    "IS_REPEATED_APPROACH", "SOURCE_ID", "SOURCE_DESCRIPTION", "ORIGINATOR_ID",
    "ORIGIN_ID", "MOVED_BY_ID", "MOVED_TIME", "LAST_ACTIVITY_TIME", "UTM_SOURCE",
    "UTM_MEDIUM", "UTM_CAMPAIGN", "UTM_CONTENT", "UTM_TERM", "LAST_ACTIVITY_BY",
)  # fmt: skip

COMPANY_STANDARD: tuple[str, ...] = (
    "ID", "TITLE", "COMPANY_TYPE", "INDUSTRY", "CURRENCY_ID", "REVENUE",
    "ASSIGNED_BY_ID", "CREATED_BY_ID", "MODIFY_BY_ID", "DATE_CREATE",
    "DATE_MODIFY", "OPENED", "COMMENTS", "ORIGINATOR_ID", "ORIGIN_ID",
)  # fmt: skip

CONTACT_STANDARD: tuple[str, ...] = (
    "ID", "NAME", "SECOND_NAME", "LAST_NAME", "POST", "COMPANY_ID", "TYPE_ID",
    "SOURCE_ID", "ASSIGNED_BY_ID", "CREATED_BY_ID", "MODIFY_BY_ID",
    "DATE_CREATE", "DATE_MODIFY", "OPENED", "COMMENTS", "ORIGINATOR_ID",
    "ORIGIN_ID",
)  # fmt: skip

_SEMANTIC_LETTER = {"process": "P", "success": "S", "failure": "F", "apology": "F"}
_DEFAULT_STAGES = (
    ("NEW", "New", "process", "#39A8EF"),
    ("PREPARATION", "Document preparation", "process", "#2FC6F6"),
    ("PREPAYMENT_INVOICE", "Prepayment invoice", "process", "#55D0E0"),
    ("EXECUTING", "In progress", "process", "#47E4C2"),
    ("FINAL_INVOICE", "Final invoice", "process", "#FFA900"),
    ("WON", "Deal successful", "success", "#7BD500"),
    ("LOSE", "Deal failed", "failure", "#FF5752"),
    ("APOLOGY", "Failure reason analysis", "apology", "#FF5752"),
)
INVOICE_CATEGORY = 2
_INVOICE_STAGES = (
    ("N", "New", "process"),
    ("S", "Sent", "process"),
    ("P", "Paid", "success"),
    ("D", "Declined", "failure"),
)


class RestError(Exception):
    """A method failed; the portal answers ``{"error", "error_description"}``."""

    def __init__(self, status: int, code: str, description: str = "") -> None:
        super().__init__(f"{code}: {description}")
        self.status = status
        self.code = code
        self.description = description


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


@dataclass
class PortalData:
    """Everything stored on one fake portal.

    Attributes:
        tz: the portal's time zone; every date it prints carries its offset.
        now: returns the portal's current time.
        emit: called with an event name and its ``data`` on every change.
    """

    tz: timezone
    now: Callable[[], datetime]
    emit: EventSink = lambda name, data: None
    deals: dict[int, dict[str, Any]] = field(default_factory=dict)
    companies: dict[int, dict[str, Any]] = field(default_factory=dict)
    contacts: dict[int, dict[str, Any]] = field(default_factory=dict)
    items: dict[int, dict[int, dict[str, Any]]] = field(default_factory=dict)
    categories: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    stage_history: list[dict[str, Any]] = field(default_factory=list)
    users: dict[int, dict[str, Any]] = field(default_factory=dict)
    tasks: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: list[dict[str, Any]] = field(default_factory=list)
    deal_userfields: dict[str, str] = field(default_factory=dict)
    _ids: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.categories.append(
            {"id": 0, "name": "General", "sort": 300, "entityTypeId": 2,
             "isDefault": "Y"}
        )  # fmt: skip
        self.categories.append(
            {"id": INVOICE_CATEGORY, "name": "Invoices", "sort": 100,
             "entityTypeId": 31, "isDefault": "Y", "originId": "",
             "originatorId": ""}
        )  # fmt: skip
        for index, (code, name, semantics, color) in enumerate(_DEFAULT_STAGES):
            self.add_status("DEAL_STAGE", code, name, semantics, color, index, None)
        for index, (letter, name, semantics) in enumerate(_INVOICE_STAGES):
            code = f"DT31_{INVOICE_CATEGORY}:{letter}"
            entity = f"SMART_INVOICE_STAGE_{INVOICE_CATEGORY}"
            self.add_status(entity, code, name, semantics, "#AAAAAA", index, 2)
        self.add_user("Admin", "Portal", "admin@example.com")

    # -- helpers -----------------------------------------------------------

    def next_id(self, table: str) -> int:
        """Return the next id of ``table``, starting at 1."""
        self._ids[table] = self._ids.get(table, 0) + 1
        return self._ids[table]

    def stamp(self) -> str:
        """Return the portal's current time as it prints dates."""
        return moment_text(self.now(), self.tz)

    # -- pipelines and stages ----------------------------------------------

    def add_category(self, name: str, sort: int = 200) -> int:
        """Add a deal pipeline with the default stages; return its id."""
        cat_id = int(max(c["id"] for c in self.categories)) + 1
        self.categories.append(
            {"id": cat_id, "name": name, "sort": sort, "entityTypeId": 2,
             "isDefault": "N", "originId": "", "originatorId": ""}
        )  # fmt: skip
        for index, (code, title, semantics, color) in enumerate(_DEFAULT_STAGES):
            self.add_status(
                f"DEAL_STAGE_{cat_id}", f"C{cat_id}:{code}", title, semantics,
                color, index, cat_id,
            )  # fmt: skip
        return cat_id

    def add_status(
        self,
        entity: str,
        code: str,
        name: str,
        semantics: str,
        color: str,
        index: int,
        category: int | None,
    ) -> None:
        """Add one stage row as ``crm.status.list`` prints it."""
        letter = _SEMANTIC_LETTER[semantics]
        self.statuses.append(
            {
                "ID": str(self.next_id("status")),
                "ENTITY_ID": entity,
                "STATUS_ID": code,
                "NAME": name,
                "NAME_INIT": name if index == 0 else "",
                "SORT": str((index + 1) * 10),
                "SYSTEM": "Y" if semantics in ("success", "failure") else "N",
                "CATEGORY_ID": None if category is None else str(category),
                "COLOR": color,
                "SEMANTICS": None if letter == "P" else letter,
                "EXTRA": {"SEMANTICS": semantics, "COLOR": color},
            }
        )

    def stage_semantic(self, stage_id: str) -> str:
        """Return ``P``, ``S`` or ``F`` for a stage id."""
        for row in self.statuses:
            if row["STATUS_ID"] == stage_id:
                return _SEMANTIC_LETTER[row["EXTRA"]["SEMANTICS"]]
        raise RestError(400, "", f"Stage '{stage_id}' does not exist.")

    def category_of(self, stage_id: str) -> int:
        """Return the pipeline a deal stage id belongs to."""
        if stage_id.startswith("C") and ":" in stage_id:
            return int(stage_id[1:].split(":", 1)[0])
        return 0

    def first_stage(self, category: int) -> str:
        """Return the first stage of a deal pipeline."""
        return "NEW" if category == 0 else f"C{category}:NEW"

    # -- users -------------------------------------------------------------

    def add_user(self, name: str, last_name: str, email: str) -> int:
        """Add an active user; return its id."""
        user_id = self.next_id("user")
        self.users[user_id] = {
            "ID": str(user_id),
            "ACTIVE": True,
            "NAME": name,
            "LAST_NAME": last_name,
            "EMAIL": email,
            "LAST_LOGIN": self.stamp(),
            "DATE_REGISTER": self.stamp(),
            "IS_ONLINE": "N",
            "UF_DEPARTMENT": [1],
        }
        return user_id

    # -- deals, companies, contacts ------------------------------------------

    def add_deal(self, fields: Mapping[str, Any], user_id: int = 1) -> int:
        """Create a deal from ``fields``; return its id."""
        deal_id = self.next_id("deal")
        now = self.stamp()
        category = int(fields.get("CATEGORY_ID") or 0)
        stage = str(fields.get("STAGE_ID") or self.first_stage(category))
        row: dict[str, Any] = dict.fromkeys(DEAL_STANDARD)
        row.update(
            ID=str(deal_id), TITLE=f"Deal #{deal_id}", TYPE_ID="SALE",
            CURRENCY_ID="USD", OPPORTUNITY="0.00", IS_MANUAL_OPPORTUNITY="N",
            TAX_VALUE="0.00", ASSIGNED_BY_ID=str(user_id),
            CREATED_BY_ID=str(user_id), MODIFY_BY_ID=str(user_id),
            DATE_CREATE=now, DATE_MODIFY=now, OPENED="Y", CLOSED="N",
            IS_NEW="Y", IS_RECURRING="N", IS_RETURN_CUSTOMER="N",
            IS_REPEATED_APPROACH="N", MOVED_BY_ID=str(user_id), MOVED_TIME=now,
            LAST_ACTIVITY_TIME=now, LAST_ACTIVITY_BY=str(user_id),
        )  # fmt: skip
        for name in self.deal_userfields:
            row[name] = None
        self._write(row, fields, protected={"ID", "DATE_CREATE", "DATE_MODIFY"})
        row["CATEGORY_ID"] = str(category)
        row["STAGE_ID"] = stage
        row["STAGE_SEMANTIC_ID"] = self.stage_semantic(stage)
        self.deals[deal_id] = row
        self._history(deal_id, stage, category, type_id=1)
        self.emit("ONCRMDEALADD", {"FIELDS": {"ID": str(deal_id)}})
        return deal_id

    def update_deal(
        self, deal_id: int, fields: Mapping[str, Any], user_id: int = 1
    ) -> None:
        """Change a deal's fields, recording a stage move in the history."""
        row = self.deals.get(deal_id)
        if row is None:
            raise RestError(400, "", "Not found")
        old_stage = row["STAGE_ID"]
        self._write(row, fields, protected={"ID", "DATE_CREATE", "CATEGORY_ID"})
        row["DATE_MODIFY"] = self.stamp()
        row["MODIFY_BY_ID"] = str(user_id)
        if row["STAGE_ID"] != old_stage:
            semantic = self.stage_semantic(row["STAGE_ID"])
            row["STAGE_SEMANTIC_ID"] = semantic
            row["CLOSED"] = "N" if semantic == "P" else "Y"
            row["MOVED_TIME"] = row["DATE_MODIFY"]
            kind = 2 if semantic == "P" else 3
            self._history(deal_id, row["STAGE_ID"], int(row["CATEGORY_ID"]), kind)
        self.emit("ONCRMDEALUPDATE", {"FIELDS": {"ID": str(deal_id)}})

    def delete_deal(self, deal_id: int) -> None:
        """Remove a deal."""
        if self.deals.pop(deal_id, None) is None:
            raise RestError(400, "", "Not found")
        self.emit("ONCRMDEALDELETE", {"FIELDS": {"ID": str(deal_id)}})

    def add_party(self, kind: str, fields: Mapping[str, Any], user_id: int = 1) -> int:
        """Create a company (``kind="company"``) or contact; return its id."""
        table = self.companies if kind == "company" else self.contacts
        names = COMPANY_STANDARD if kind == "company" else CONTACT_STANDARD
        new_id = self.next_id(kind)
        now = self.stamp()
        row: dict[str, Any] = dict.fromkeys(names)
        row.update(
            ID=str(new_id), ASSIGNED_BY_ID=str(user_id), CREATED_BY_ID=str(user_id),
            MODIFY_BY_ID=str(user_id), DATE_CREATE=now, DATE_MODIFY=now, OPENED="Y",
        )  # fmt: skip
        self._write(row, fields, protected={"ID", "DATE_CREATE", "DATE_MODIFY"})
        table[new_id] = row
        self.emit(f"ONCRM{kind.upper()}ADD", {"FIELDS": {"ID": str(new_id)}})
        return new_id

    def _write(
        self, row: dict[str, Any], fields: Mapping[str, Any], protected: set[str]
    ) -> None:
        for key, value in fields.items():
            name = str(key).upper()
            if name in protected:
                continue
            if name in row or name.startswith("UF_"):
                row[name] = value if isinstance(value, list) else _text(value)
        if row.get("OPPORTUNITY") not in (None, ""):
            row["OPPORTUNITY"] = f"{float(row['OPPORTUNITY']):.2f}"

    def _history(self, owner: int, stage: str, category: int, type_id: int) -> None:
        self.stage_history.append(
            {
                "ID": self.next_id("history"),
                "TYPE_ID": type_id,
                "OWNER_ID": owner,
                "CREATED_TIME": self.stamp(),
                "CATEGORY_ID": category,
                "STAGE_SEMANTIC_ID": self.stage_semantic(stage),
                "STAGE_ID": stage,
            }
        )
