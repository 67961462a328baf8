from __future__ import annotations

import pytest
from servicesync.errors import MappingError
from servicesync_bitrix24.mapping import funnel_stage, map_deal


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
