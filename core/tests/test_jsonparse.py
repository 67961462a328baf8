"""JSON texts parse to what the json module gives, whichever parser ran."""

from __future__ import annotations

import contextlib
import gc
import json
import math

import pytest
from servicesync.jsonparse import parse_json

BODIES = [
    pytest.param(b'{"ID": "7", "rows": [1, 2.5, -0.0, null, true]}', id="plain"),
    pytest.param(b'{"id": 18446744073709551615}', id="largest-64-bit"),
    pytest.param(b'{"id": 123456789012345678901234567890}', id="past-64-bits"),
    pytest.param(b'{"id": -9223372036854775809}', id="below-64-bits"),
    pytest.param(b'{"phone": "0049123456789012345678"}', id="digits-in-a-string"),
    pytest.param(b'{"a": 1, "a": 2}', id="repeated-key"),
    pytest.param(b'{"tiny": 1.5e-320, "e": 1E5}', id="subnormal"),
    pytest.param(b'{"text": "caf\\u00e9 \\ud83d\\ude00"}', id="escapes"),
    pytest.param('{"text": "café"}'.encode(), id="utf-8"),
    pytest.param('{"text": "café"}'.encode("utf-16"), id="utf-16"),
    pytest.param(b'\xef\xbb\xbf{"bom": true}', id="utf-8-bom"),
    pytest.param(b'{"lone": "\\ud800"}', id="lone-surrogate"),
    pytest.param(b'{"big": 1e400}', id="overflow-to-infinity"),
]


@pytest.mark.parametrize(
    "body", [*BODIES, pytest.param(b"[" + b'{"n": 1.25e-3},' * 10_000 + b"0]")]
)
def test_parse_json_gives_what_json_loads_gives(body: bytes) -> None:
    parsed = parse_json(body)

    assert parsed == json.loads(body)
    assert repr(parsed) == repr(json.loads(body))


def test_parse_json_keeps_integers_past_64_bits_exact() -> None:
    parsed = parse_json(b'{"id": 123456789012345678901234567890}')

    assert parsed["id"] == 123456789012345678901234567890
    assert isinstance(parsed["id"], int)


def test_parse_json_reads_nan_as_the_json_module_does() -> None:
    parsed = parse_json(b'{"x": NaN}')

    assert math.isnan(parsed["x"])


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"<html>Bad gateway</html>", id="html"),
        pytest.param(b'{"a": 1', id="truncated"),
        pytest.param(b'{"a": "\xff"}', id="invalid-utf-8"),
    ],
)
def test_parse_json_refuses_what_json_loads_refuses(body: bytes) -> None:
    with pytest.raises(ValueError):
        json.loads(body)
    with pytest.raises(ValueError):
        parse_json(body)


LONG = b"[" + b'{"a": [1, 2]},' * 10_000 + b"{}]"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"a": [1, 2]}', id="short"),
        pytest.param(b"<html>Bad gateway</html>", id="short-not-json"),
        pytest.param(LONG, id="long"),
        pytest.param(LONG[:-1], id="long-truncated"),
    ],
)
def test_parse_json_leaves_the_collector_as_it_found_it(body: bytes) -> None:
    was_enabled = gc.isenabled()
    try:
        for enabled in (True, False):
            (gc.enable if enabled else gc.disable)()
            with contextlib.suppress(ValueError):
                parse_json(body)
            assert gc.isenabled() is enabled
    finally:
        (gc.enable if was_enabled else gc.disable)()
