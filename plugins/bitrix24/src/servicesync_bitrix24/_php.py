"""PHP-style query strings, as Bitrix24 reads and writes them.

Bitrix24 accepts nested parameters written the way PHP's ``http_build_query``
writes them (``filter[>ID]=5&select[]=ID``), both in form-encoded bodies and
inside the ``cmd`` strings of a ``batch`` call. Both the connector (to build
batch commands) and the fake portal (to read them) use these two functions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, quote

__all__ = ["build_query", "parse_query"]

_KEY_PART = re.compile(r"\[([^\]]*)\]")


def build_query(params: Mapping[str, Any]) -> str:
    """Encode nested ``params`` as a PHP-style query string.

    Example:
        >>> build_query({"filter": {">ID": 5}, "select": ["ID"]})
        'filter%5B%3EID%5D=5&select%5B0%5D=ID'
    """
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        _flatten(str(key), value, pairs)
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)


def _flatten(prefix: str, value: Any, out: list[tuple[str, str]]) -> None:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _flatten(f"{prefix}[{key}]", inner, out)
    elif isinstance(value, list | tuple):
        for index, inner in enumerate(value):
            _flatten(f"{prefix}[{index}]", inner, out)
    elif value is None:
        out.append((prefix, ""))
    elif isinstance(value, bool):
        out.append((prefix, "Y" if value else "N"))
    else:
        out.append((prefix, str(value)))


def parse_query(text: str) -> dict[str, Any]:
    """Decode a PHP-style query string into nested dicts and lists.

    Keys with only numeric or empty brackets become lists, as PHP arrays
    with sequential keys serialise to JSON lists.
    """
    root: dict[str, Any] = {}
    for raw_key, value in parse_qsl(text, keep_blank_values=True):
        _assign(root, raw_key, value)
    # The root stays a mapping: only nested arrays become lists.
    return {key: _listify(value) for key, value in root.items()}


def _assign(root: dict[str, Any], raw_key: str, value: str) -> None:
    head, _, rest = raw_key.partition("[")
    parts = [head] + (_KEY_PART.findall("[" + rest) if rest else [])
    node = root
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    last = parts[-1]
    if last == "":
        last = str(len(node))
    node[last] = value


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {key: _listify(value) for key, value in node.items()}
    keys = list(converted)
    digits = keys and all(key.isdigit() for key in keys)
    if digits and sorted(int(key) for key in keys) == list(range(len(keys))):
        return [converted[str(i)] for i in range(len(keys))]
    return converted
