from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from servicesync.errors import MappingError
from servicesync_bitrix24.mapping import deal_fields, funnel_stage, map_deal


def test_map_deal_writes_amount_as_decimal_string() -> None:
    mapped = map_deal({"ID": "5", "OPPORTUNITY": "19999.9", "STAGE_SEMANTIC_ID": "S"})

    assert (mapped["amount"], mapped["stage_semantics"]) == ("19999.90", "success")


def test_map_deal_refuses_a_date_without_offset() -> None:
    with pytest.raises(MappingError):
        map_deal({"ID": "5", "DATE_CREATE": "2024-05-21 10:00:00"})


@pytest.mark.parametrize(
    ("semantics", "position", "expected"),
    [
        pytest.param("success", 0, "won", id="success"),
        pytest.param("apology", 0, "lost", id="apology"),
        pytest.param("process", 0, "acquaintance", id="first"),
        pytest.param("process", 4, "contract_signed", id="last-open"),
    ],
)
def test_funnel_stage_follows_semantics(
    semantics: str, position: int, expected: str
) -> None:
    stage = {"STATUS_ID": "X", "EXTRA": {"SEMANTICS": semantics}}

    assert funnel_stage(stage, position, 5) == expected


def test_plugin_registers_the_connector() -> None:
    from servicesync_bitrix24 import plugin
    from servicesync_bitrix24.connector import Bitrix24Connector

    found: list[type] = []
    plugin.register_connectors(found.append)

    assert found == [Bitrix24Connector]


def mapped_through_map_deal(deal: dict[str, Any]) -> dict[str, Any]:
    """The engine's deal fields, derived from map_deal's documented output."""
    mapped = map_deal(deal)
    semantics = mapped["stage_semantics"]
    return {
        "title": mapped["title"],
        "stage": {"success": "won", "failure": "lost"}.get(semantics),
        "stage_source": mapped["stage_id"],
        "amount": mapped["amount"],
        "currency": mapped["currency"],
        "client": mapped["company_id"],
        "owner": mapped["owner_id"],
        "created_at": mapped["created_at"],
        "closed_at": mapped["closes_on"] if semantics != "process" else None,
        **mapped["custom"],
    }


BASE_DEAL = {
    "ID": "41",
    "TITLE": "Audit",
    "STAGE_ID": "C1:NEW",
    "STAGE_SEMANTIC_ID": "P",
    "OPPORTUNITY": "1200.5",
    "CURRENCY_ID": "EUR",
    "COMPANY_ID": "9",
    "ASSIGNED_BY_ID": "0",
    "DATE_CREATE": "2024-05-21 10:00:00+02:00",
    "DATE_MODIFY": "2024-05-22T10:00:00+02:00",
    "BEGINDATE": "",
    "CLOSEDATE": "2024-06-30T00:00:00+03:00",
    "UF_CRM_SERVICE": "audit",
}

DEALS = [
    pytest.param(BASE_DEAL, id="process"),
    pytest.param({**BASE_DEAL, "STAGE_SEMANTIC_ID": "S"}, id="won"),
    pytest.param({**BASE_DEAL, "STAGE_SEMANTIC_ID": "apology"}, id="apology"),
    pytest.param({**BASE_DEAL, "STAGE_SEMANTIC_ID": "F", "CLOSEDATE": None}, id="lost"),
    pytest.param(
        {"UF_CRM_FIRST": 1, **BASE_DEAL, "UF_CRM_LAST": [2], "UF_OTHER": 3},
        id="custom-fields",
    ),
    pytest.param({"ID": 7}, id="bare"),
]

REFUSED = [
    pytest.param({**BASE_DEAL, "ID": ""}, id="no-id"),
    pytest.param({**BASE_DEAL, "STAGE_SEMANTIC_ID": "X"}, id="semantics"),
    pytest.param({**BASE_DEAL, "OPPORTUNITY": "lots"}, id="amount"),
    pytest.param({**BASE_DEAL, "DATE_MODIFY": "yesterday"}, id="modified"),
    pytest.param({**BASE_DEAL, "BEGINDATE": "2024-05-21 10:00:00"}, id="naive-begin"),
    pytest.param(
        {**BASE_DEAL, "DATE_CREATE": "soon", "CLOSEDATE": "later"}, id="first-wins"
    ),
]


@pytest.mark.parametrize("deal", DEALS)
def test_deal_fields_agree_with_map_deal(deal: dict[str, Any]) -> None:
    assert deal_fields(deal) == mapped_through_map_deal(deal)
    assert list(deal_fields(deal)) == list(mapped_through_map_deal(deal))


@pytest.mark.parametrize("deal", REFUSED)
def test_deal_fields_refuse_what_map_deal_refuses(deal: dict[str, Any]) -> None:
    with pytest.raises(MappingError) as expected:
        map_deal(deal)
    with pytest.raises(MappingError) as refused:
        deal_fields(deal)

    assert str(refused.value) == str(expected.value)


def test_deal_fields_find_custom_fields_of_each_key_set() -> None:
    first = deal_fields({**BASE_DEAL, "UF_CRM_A": "a"})
    second = deal_fields({**BASE_DEAL, "UF_CRM_B": "b"})
    again = deal_fields({**BASE_DEAL, "UF_CRM_A": "a2"})

    assert (first["UF_CRM_A"], "UF_CRM_B" in first) == ("a", False)
    assert (second["UF_CRM_B"], "UF_CRM_A" in second) == ("b", False)
    assert again["UF_CRM_A"] == "a2"


@pytest.mark.parametrize(
    "written",
    [
        "2024-05-21T10:00:00+02:00",
        "2024-05-21T10:00:00-05:30",
        "2024-05-21T10:00:00-00:00",
        "2024-05-21 10:00:00+02:00",
        "2024-05-21T10:00:00.250+02:00",
        "2024-05-21T10:00:00Z",
        "2024-W21-2T10:00:00+02:00",
    ],
)
def test_deal_dates_are_written_as_isoformat_writes_them(written: str) -> None:
    deal = {**BASE_DEAL, "STAGE_SEMANTIC_ID": "S"}
    fields = deal_fields({**deal, "DATE_CREATE": written, "CLOSEDATE": written})

    expected = datetime.fromisoformat(written).isoformat()
    assert fields["created_at"] == fields["closed_at"] == expected
    assert map_deal({**deal, "DATE_CREATE": written})["created_at"] == expected
