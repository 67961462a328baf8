"""Writes to a portal, each safe to attempt again with the same key.

Each action can find what an earlier attempt did: the deal already holds
the fields or stage, the comment carries the marker
``[servicesync:<token>]``, the invoice carries the token as its ``xmlId``.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from servicesync.contract import Action, ActionResult

from servicesync_bitrix24._client import Bitrix24Client, MethodFailed

__all__ = ["ACTIONS", "build_actions", "marker"]


def marker(dedup_key: str) -> str:
    """The text that marks what an attempt with ``dedup_key`` wrote."""
    token = hashlib.sha256(dedup_key.encode()).hexdigest()[:16]
    return f"[servicesync:{token}]"


class DealFieldsParams(BaseModel):
    """Custom fields to set on one deal."""

    deal_id: str
    fields: dict[str, str]


class CommentParams(BaseModel):
    """A timeline comment on one deal."""

    deal_id: str
    text: str


class StageParams(BaseModel):
    """A stage to move one deal to."""

    deal_id: str
    stage_id: str


class InvoiceParams(BaseModel):
    """A new invoice linked to one deal."""

    deal_id: str
    title: str
    amount: Decimal
    currency: str = "USD"


class _DealAction(Action[Any]):
    def __init__(self, client: Bitrix24Client) -> None:
        self.client = client

    async def deal(self, deal_id: str) -> dict[str, Any] | None:
        try:
            answer = await self.client.call("crm.deal.get", {"id": deal_id})
        except MethodFailed:
            return None
        return dict(answer["result"])


class SetDealFields(_DealAction):
    """Write the project link, status or progress fields of a deal."""

    name = "set_deal_fields"
    params_model = DealFieldsParams

    async def find(
        self, dedup_key: str, params: DealFieldsParams
    ) -> ActionResult | None:
        """The deal already holds every value."""
        deal = await self.deal(params.deal_id)
        if deal and all(str(deal.get(k)) == v for k, v in params.fields.items()):
            return ActionResult(external_id=params.deal_id)
        return None

    async def execute(self, dedup_key: str, params: DealFieldsParams) -> ActionResult:
        """Update the deal."""
        body = {"id": params.deal_id, "fields": params.fields}
        await self.client.call("crm.deal.update", body, write=True)
        return ActionResult(external_id=params.deal_id)


class MoveDealStage(_DealAction):
    """Move a deal to another stage of its pipeline."""

    name = "move_deal_stage"
    params_model = StageParams

    async def find(self, dedup_key: str, params: StageParams) -> ActionResult | None:
        """The deal already stands in the stage."""
        deal = await self.deal(params.deal_id)
        if deal and deal.get("STAGE_ID") == params.stage_id:
            return ActionResult(external_id=params.deal_id)
        return None

    async def execute(self, dedup_key: str, params: StageParams) -> ActionResult:
        """Update the deal's stage."""
        body = {"id": params.deal_id, "fields": {"STAGE_ID": params.stage_id}}
        await self.client.call("crm.deal.update", body, write=True)
        return ActionResult(external_id=params.deal_id)


class AddDealComment(_DealAction):
    """Add a timeline comment to a deal, marked with the attempt's token."""

    name = "add_deal_comment"
    params_model = CommentParams

    async def find(self, dedup_key: str, params: CommentParams) -> ActionResult | None:
        """A comment of the deal carries the marker."""
        body = {"filter": {"ENTITY_ID": params.deal_id, "ENTITY_TYPE": "deal"}}
        start: int | None = 0
        while start is not None:
            answer = await self.client.call(
                "crm.timeline.comment.list", {**body, "start": start}
            )
            for row in answer["result"]:
                if marker(dedup_key) in str(row.get("COMMENT", "")):
                    return ActionResult(external_id=str(row["ID"]))
            start = answer.get("next")
        return None

    async def execute(self, dedup_key: str, params: CommentParams) -> ActionResult:
        """Add the comment with the marker on its last line."""
        fields = {"ENTITY_ID": params.deal_id, "ENTITY_TYPE": "deal",
                  "COMMENT": f"{params.text}\n{marker(dedup_key)}"}  # fmt: skip
        answer = await self.client.call(
            "crm.timeline.comment.add", {"fields": fields}, write=True
        )
        return ActionResult(external_id=str(answer["result"]))


class CreateInvoice(_DealAction):
    """Create a new invoice (``entityTypeId=31``) linked to a deal."""

    name = "create_invoice"
    params_model = InvoiceParams

    async def find(self, dedup_key: str, params: InvoiceParams) -> ActionResult | None:
        """An invoice carries the attempt's token as ``xmlId``."""
        answer = await self.client.call(
            "crm.item.list",
            {"entityTypeId": 31, "filter": {"xmlId": marker(dedup_key)}},
        )
        items = answer["result"]["items"]
        return _invoice_result(items[0]) if items else None

    async def execute(self, dedup_key: str, params: InvoiceParams) -> ActionResult:
        """Add the invoice."""
        fields = {"title": params.title, "opportunity": str(params.amount),
                  "currencyId": params.currency, "parentId2": params.deal_id,
                  "xmlId": marker(dedup_key)}  # fmt: skip
        answer = await self.client.call(
            "crm.item.add", {"entityTypeId": 31, "fields": fields}, write=True
        )
        return _invoice_result(answer["result"]["item"])


def _invoice_result(item: dict[str, Any]) -> ActionResult:
    return ActionResult(
        external_id=str(item["id"]),
        data={
            "stage_id": item.get("stageId"),
            "paid": item.get("stageSemanticId") == "S",
        },
    )


async def invoice_paid(client: Bitrix24Client, invoice_id: str) -> bool:
    """Tell whether an invoice stands in a success (paid) stage."""
    answer = await client.call("crm.item.get", {"entityTypeId": 31, "id": invoice_id})
    return bool(answer["result"]["item"].get("stageSemanticId") == "S")


ACTIONS = (SetDealFields, MoveDealStage, AddDealComment, CreateInvoice)


def build_actions(client: Bitrix24Client) -> dict[str, Action[Any]]:
    """Return every action of one connection, by name."""
    return {cls.name: cls(client) for cls in ACTIONS}
