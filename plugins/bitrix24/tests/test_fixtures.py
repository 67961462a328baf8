"""Every documented example parses, and the fake answers in the same shape."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from servicesync_bitrix24 import Bitrix24Connector
from servicesync_bitrix24.fake import FakePortal
from servicesync_bitrix24.mapping import map_deal

EXAMPLES = (
    "batch.json", "crm.category.list.json", "crm.deal.fields.json",
    "crm.deal.get.json", "crm.deal.list.json", "crm.deal.update.json",
    "crm.deal.userfield.list.json", "crm.item.list.json",
    "crm.stagehistory.list.json", "crm.status.list.json",
    "event.ONCRMDEALADD.to-application.json",
    "event.ONCRMDEALADD.to-outgoing-webhook.json", "event.offline.get.json",
    "task.elapseditem.add.json", "task.elapseditem.getlist.json",
    "tasks.task.list.json",
)  # fmt: skip


def _load(folder: Path, name: str) -> Any:
    return json.loads((folder / name).read_text())


def test_examples_folder_holds_every_listed_example(examples: Path) -> None:
    assert sorted(p.name for p in examples.glob("*.json")) == sorted(EXAMPLES)


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_parses_as_an_answer_or_event(examples: Path, name: str) -> None:
    body = _load(examples, name)

    if name.startswith("event.ONCRM"):
        assert body["data"]["FIELDS"]["ID"] and body["auth"]["application_token"]
    else:
        assert "result" in body and {"start", "duration"} <= set(body["time"])


def test_example_deal_maps_to_domain_fields(examples: Path) -> None:
    deal = _load(examples, "crm.deal.get.json")["result"]

    mapped = map_deal(deal)

    assert mapped["amount"] == "1000000.00"
    assert mapped["created_at"] == "2024-08-30T14:29:00+02:00"
    assert mapped["custom"] == {"UF_CRM_1721244482250": "Hello world!"}


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return type(value).__name__


def _same_shape(example: dict[str, Any], answer: dict[str, Any]) -> list[str]:
    """Keys of ``example`` missing from ``answer`` or holding another type."""
    problems = []
    for key, value in example.items():
        if key not in answer:
            problems.append(f"missing {key}")
        elif None not in (value, answer[key]) and _kind(value) != _kind(answer[key]):
            problems.append(f"{key}: {_kind(value)} != {_kind(answer[key])}")
    return problems


def _time_keys(answer: dict[str, Any]) -> set[str]:
    return set(answer["time"]) - {"operating_reset_at"}


CASES = {
    "crm.deal.get.json": ("crm.deal.get", {"id": 1}, lambda r: r),
    "crm.deal.list.json": ("crm.deal.list", {}, lambda r: r[0]),
    "crm.status.list.json": ("crm.status.list", {}, lambda r: r[0]),
    "crm.category.list.json": (
        "crm.category.list", {"entityTypeId": 2}, lambda r: r["categories"][-1]),
    "crm.stagehistory.list.json": (
        "crm.stagehistory.list", {"entityTypeId": 2}, lambda r: r["items"][0]),
    "crm.deal.fields.json": ("crm.deal.fields", {}, lambda r: r["TITLE"]),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
async def test_fake_answer_has_the_example_shape(
    examples: Path, portal: FakePortal, connector: Bitrix24Connector, name: str
) -> None:
    portal.seed(deals=[{"TITLE": "One", "OPPORTUNITY": 10}])
    method, params, pick = CASES[name]
    example = _load(examples, name)

    answer = await connector.client.call(method, params)

    example_row = pick(example["result"])
    if name == "crm.deal.get.json":
        example_row = {
            k: v
            for k, v in example_row.items()
            if not k.startswith(("UF_", "PARENT_ID"))
        }
    assert _same_shape(example_row, pick(answer["result"])) == []
    assert set(example) - {"next"} <= set(answer)
    assert _time_keys(example) <= set(answer["time"])


async def test_fake_batch_answer_has_the_example_shape(
    examples: Path, connector: Bitrix24Connector
) -> None:
    example = _load(examples, "batch.json")
    cmd = {"u": "user.get?ID=1", "c": "crm.category.list?entityTypeId=2"}

    answer = await connector.client.call("batch", {"halt": 0, "cmd": cmd})

    assert set(example["result"]) == set(answer["result"])
    assert set(example["time"]) == set(answer["time"])
    assert set(example["result"]["result_time"]["get_user"]) == set(
        answer["result"]["result_time"]["u"]
    )


async def test_fake_item_and_task_answers_have_the_example_shape(
    examples: Path, connector: Bitrix24Connector
) -> None:
    await connector.client.call("tasks.task.add", {"fields": {"TITLE": "T"}})
    tasks = _load(examples, "tasks.task.list.json")

    answer = await connector.client.call("tasks.task.list", {})

    assert list(answer["result"]) == list(tasks["result"])
    for key in ("id", "title", "createdDate", "responsibleId", "status"):
        assert _kind(tasks["result"]["tasks"][0][key]) == _kind(
            answer["result"]["tasks"][0][key]
        )
