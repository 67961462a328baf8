"""Records: made from a parsed payload or from the JSON text a service sent."""

from __future__ import annotations

import pytest
from servicesync.contract import Record, payload_hash, text_hash


def test_a_record_from_json_text_hashes_the_text_and_parses_it_when_asked() -> None:
    text = b'{"ID": "7", "TITLE": "Data audit", "OPPORTUNITY": 123456789012345678901}'

    record = Record.from_json(7, text)

    assert record.external_id == "7"
    assert record.text == text
    assert record.hash == text_hash(text)
    assert record.payload == {
        "ID": "7",
        "TITLE": "Data audit",
        "OPPORTUNITY": 123456789012345678901,
    }
    assert record.payload is record.payload
    assert not record.deleted


def test_the_text_hash_tells_apart_texts_that_parse_alike() -> None:
    spaced = Record.from_json("7", b'{"ID": "7", "TITLE": "A"}')
    compact = Record.from_json("7", b'{"ID":"7","TITLE":"A"}')
    changed = Record.from_json("7", b'{"ID": "7", "TITLE": "B"}')

    assert spaced.payload == compact.payload
    assert len({spaced.hash, compact.hash, changed.hash}) == 3


def test_a_record_of_a_payload_keeps_the_payload_hash() -> None:
    payload = {"TITLE": "A", "ID": "7"}

    record = Record.of("7", payload)

    assert record.payload is payload
    assert record.text is None
    assert record.hash == payload_hash({"ID": "7", "TITLE": "A"})
    assert record == Record("7", {"ID": "7", "TITLE": "A"}, record.hash)
    assert record != Record("7", payload, record.hash, deleted=True)
    assert "7" in repr(record)


def test_a_record_needs_its_payload_or_its_text() -> None:
    with pytest.raises(TypeError, match="payload or the JSON text"):
        Record("7", None, "")
