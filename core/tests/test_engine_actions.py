"""An action that did only part of its work is not confirmed, and resumes."""

from __future__ import annotations

import pytest
from pydantic import BaseModel
from servicesync.contract import Action, ActionResult
from servicesync.engine._actions import perform
from servicesync.errors import ConnectorError
from servicesync.store import Store


class Items(BaseModel):
    refs: list[str]


class MakeItems(Action[Items]):
    """Makes items in a pretend service; ``refuse`` names those it turns down."""

    name = "make_items"
    params_model = Items

    def __init__(self) -> None:
        self.made: dict[str, str] = {}
        self.refuse: set[str] = set()
        self.sent: list[str] = []

    async def find(self, dedup_key: str, params: Items) -> ActionResult | None:
        if all(ref in self.made for ref in params.refs):
            return self._result()
        return None

    async def execute(self, dedup_key: str, params: Items) -> ActionResult:
        failed = {}
        for ref in params.refs:
            if ref in self.made:
                continue
            self.sent.append(ref)
            if ref in self.refuse:
                failed[ref] = "the service refused it"
            else:
                self.made[ref] = f"id-{ref}"
        return self._result(failed)

    def _result(self, failed: dict[str, str] | None = None) -> ActionResult:
        return ActionResult(
            external_id="batch", data={"made": dict(self.made)}, failed=failed or {}
        )


async def test_partly_done_action_stays_pending_and_sends_only_the_rest(
    store: Store,
) -> None:
    action = MakeItems()
    action.refuse = {"b"}
    params = Items(refs=["a", "b", "c"])

    with pytest.raises(ConnectorError, match=r"1 items failed.*b: the service"):
        await perform(store, "tool", action, "deal:1:items", params)
    entry = store.journal_find("deal:1:items")
    assert entry is not None and entry.status == "pending"

    action.refuse = set()
    result = await perform(store, "tool", action, "deal:1:items", params)

    assert result.failed == {}
    assert result.data["made"] == {"a": "id-a", "b": "id-b", "c": "id-c"}
    assert action.sent == ["a", "b", "c", "b"]
    entry = store.journal_find("deal:1:items")
    assert entry is not None and entry.status == "confirmed"
