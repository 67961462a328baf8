"""Checks exchanges with the fake against the vendor's OpenAPI description of Trello.

The description is read in place from the shared folder (never copied).
What it gets wrong or leaves out is worked around in :func:`patched`, each
with its reason; SPEC-DEFECTS.md in the plugin lists them.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import jsonschema
from servicesync_sdk.testing import shared_path

SPEC_FILE = "api-specs/trello/spec/swagger.v3.json"
REF = "#/components/schemas/"
#: Credentials travel as query parameters too; the description declares them
#: as security schemes, not as operation parameters.
CREDENTIALS = frozenset({"key", "token"})
#: Refusals Trello words as plain text, not as the JSON ``Error`` declared.
TEXT_STATUSES = frozenset({400, 401, 404, 500, 502, 503, 504})


@cache
def load_spec() -> dict[str, Any]:
    """Return the patched description, or skip (fail on CI) when it is absent."""
    path = shared_path(SPEC_FILE, what="The Trello description")
    return patched(json.loads(path.read_text()))


def _array(name: str) -> dict[str, Any]:
    return {"type": "array", "items": {"$ref": REF + name}}


#: 200 answers the description leaves without a schema, and what Trello sends.
MISSING_ANSWERS = {
    ("post", "/boards/"): {"$ref": REF + "Board"},
    ("post", "/lists"): {"$ref": REF + "TrelloList"},
    ("put", "/boards/{id}"): {"$ref": REF + "Board"},
    ("put", "/lists/{id}"): {"$ref": REF + "TrelloList"},
    ("get", "/boards/{id}/cards/{filter}"): _array("Card"),
    ("get", "/boards/{id}/cards"): _array("Card"),
    ("get", "/boards/{boardId}/actions"): _array("Action"),
    ("get", "/boards/{id}/members"): _array("Member"),
    ("put", "/boards/{id}/members"): {"$ref": REF + "BoardMembersAnswer"},
    ("put", "/boards/{id}/members/{idMember}"): {"$ref": REF + "BoardMembersAnswer"},
    ("get", "/batch"): {"type": "array", "items": {"type": "object"}},
    ("delete", "/webhooks/{id}"): {
        "type": "object",
        "required": ["_value"],
        "properties": {"_value": {"type": "null"}},
    },
}


def patched(spec: dict[str, Any]) -> dict[str, Any]:
    """Return the description with its known defects worked around."""
    spec = copy.deepcopy(spec)
    schemas = spec["components"]["schemas"]
    # permissionLevel lists "org" and "board"; boards are private, org or public.
    schemas["Prefs"]["properties"]["permissionLevel"]["enum"] = [
        "private",
        "org",
        "public",
    ]
    # Card.labels lists label ids; Trello sends label objects (or none).
    schemas["Card"]["properties"]["labels"] = {"type": "array"}
    # 429 is answered by every operation but declared by none.
    schemas["RateLimitError"] = {
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": {"enum": ["API_TOKEN_LIMIT_EXCEEDED", "API_KEY_LIMIT_EXCEEDED"]},
            "message": {"type": "string"},
        },
    }
    schemas["BoardMembersAnswer"] = {
        "type": "object",
        "required": ["id", "members", "memberships"],
        "properties": {
            "id": {"$ref": REF + "TrelloID"},
            "members": _array("Member"),
            "memberships": {"type": "array", "items": {"$ref": REF + "Membership"}},
        },
    }
    schemas["Membership"] = {
        "type": "object",
        "required": ["id", "idMember", "memberType"],
        "properties": {
            "id": {"$ref": REF + "TrelloID"},
            "idMember": {"$ref": REF + "TrelloID"},
            "memberType": {"enum": ["admin", "normal", "observer"]},
            "unconfirmed": {"type": "boolean"},
            "deactivated": {"type": "boolean"},
        },
    }
    for (method, path), schema in MISSING_ANSWERS.items():
        answer = spec["paths"][path][method]["responses"]["200"]
        answer.setdefault("content", {"application/json": {"schema": schema}})
    return _nullable(spec)


def _nullable(node: Any) -> Any:
    """Turn OpenAPI 3.0 ``nullable`` into JSON Schema's ``null`` type."""
    if isinstance(node, list):
        return [_nullable(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: _nullable(v) for k, v in node.items()}
    if node.pop("nullable", False):
        if "$ref" in node:
            return {"anyOf": [{"$ref": node.pop("$ref")}, {"type": "null"}]}
        kind = node.get("type")
        if isinstance(kind, str):
            node["type"] = [kind, "null"]
        if "enum" in node:
            node["enum"] = [*node["enum"], None]
    return node


@dataclass
class Exchange:
    """One request and its answer, as the connector or a replay saw it."""

    method: str
    path: str
    query: dict[str, str]
    request: Any
    status: int
    content_type: str
    response: Any
    #: False for requests a test changed on purpose (a bad id or token); only
    #: their answers are checked.
    ours: bool = True


@dataclass
class Recorder(httpx.AsyncBaseTransport):
    """Passes requests on and keeps each exchange, and those inside ``/batch``."""

    inner: httpx.AsyncBaseTransport
    exchanges: list[Exchange] = field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        self.exchanges += exchanges_of(request, response.status_code, response, body)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            content=body,
            request=request,
        )


def exchanges_of(
    request: httpx.Request, status: int, response: httpx.Response, body: bytes
) -> list[Exchange]:
    """Return the exchange of ``request``, and one per route of a ``/batch``."""
    kind = response.headers.get("content-type", "")
    answer = json.loads(body) if "json" in kind and body else body.decode()
    sent = json.loads(request.content) if request.content else None
    path = request.url.path.removeprefix("/1")
    query = dict(request.url.params)
    found = [Exchange(request.method, path, query, sent, status, kind, answer)]
    if path == "/batch" and status == 200:
        for url, item in zip(query["urls"].split(","), answer, strict=True):
            parts = urlsplit(url)
            inner = dict(parse_qsl(parts.query))
            if "200" in item:
                found.append(
                    Exchange("GET", parts.path, inner, None, 200, kind, item["200"])
                )
            else:
                text = "text/plain"
                status_ = int(item["statusCode"])
                found.append(
                    Exchange(
                        "GET", parts.path, inner, None, status_, text, item["message"]
                    )
                )
    return found


def operation(
    spec: dict[str, Any], method: str, path: str
) -> tuple[str, dict[str, Any]]:
    """Return the template and operation ``method path`` calls.

    Where several templates match, the one with most literal segments wins
    (``/boards/{id}/lists`` over ``/boards/{id}/{field}``).
    """
    best: tuple[int, str, dict[str, Any]] | None = None
    for template, item in spec["paths"].items():
        pattern = "^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)) + "$"
        if method.lower() in item and re.match(pattern, path):
            literal = sum(1 for s in template.split("/") if s and "{" not in s)
            if best is None or literal > best[0]:
                best = (literal, template, item)
    if best is None:
        raise AssertionError(f"{method} {path} is not in the Trello description.")
    _, template, item = best
    op = dict(item[method.lower()])
    op["parameters"] = [*item.get("parameters", []), *op.get("parameters", [])]
    return template, op


def validate(spec: dict[str, Any], schema: dict[str, Any], value: Any) -> list[str]:
    """Return every error of ``value`` against ``schema`` (formats not checked)."""
    root = {**schema, "components": spec["components"]}
    validator = jsonschema.Draft4Validator(root)
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(value)
    ]


def check(spec: dict[str, Any], exchange: Exchange) -> list[str]:
    """Validate one exchange's parameters and answer against the description."""
    template, op = operation(spec, exchange.method, exchange.path)
    where = f"{exchange.method} {template} {exchange.status}"
    problems = []
    if exchange.ours:
        problems += [
            f"{where} {p}" for p in _check_request(spec, template, op, exchange)
        ]
    return problems + [f"{where} {p}" for p in _check_answer(spec, op, exchange)]


def _check_request(
    spec: dict[str, Any], template: str, op: dict[str, Any], exchange: Exchange
) -> list[str]:
    declared = {p["name"]: p for p in op["parameters"]}
    sent = {k: v for k, v in exchange.query.items() if k not in CREDENTIALS}
    if isinstance(exchange.request, dict):
        sent.update(exchange.request)
    problems = [
        f"request lacks the required {name!r}"
        for name, p in declared.items()
        if p.get("required") and p.get("in") == "query" and name not in sent
    ]
    for name, value in sent.items():
        if name not in declared:
            problems.append(f"request sends {name!r}, which is not declared")
            continue
        schema = declared[name].get("schema", {})
        problems += [f"request {name}: {e}" for e in _check_value(spec, schema, value)]
    segments = zip(template.split("/"), exchange.path.split("/"), strict=True)
    for part, value in segments:
        if part.startswith("{") and part[1:-1] in declared:
            schema = declared[part[1:-1]].get("schema", {})
            problems += [f"path {part}: {e}" for e in validate(spec, schema, value)]
    return problems


def _check_value(spec: dict[str, Any], schema: dict[str, Any], value: Any) -> list[str]:
    """Validate a parameter; a comma-separated list is checked item by item.

    The description declares list parameters such as ``fields`` as a single
    enum value, though they take several separated by commas.
    """
    errors = validate(spec, schema, _typed(value, schema))
    if errors and isinstance(value, str) and "," in value:
        items = [validate(spec, schema, part) for part in value.split(",")]
        errors = [e for item in items for e in item]
    return errors


def _typed(value: Any, schema: dict[str, Any]) -> Any:
    """Read a query string value as the type its schema declares."""
    if not isinstance(value, str):
        return value
    kind = schema.get("type")
    if kind == "boolean" and value in ("true", "false"):
        return value == "true"
    if kind in ("number", "integer"):
        try:
            return int(value) if kind == "integer" else float(value)
        except ValueError:
            return value
    return value


def _check_answer(
    spec: dict[str, Any], op: dict[str, Any], exchange: Exchange
) -> list[str]:
    status = exchange.status
    answers = op["responses"]
    answer = answers.get(str(status))
    if "$ref" in (answer or {}):
        answer = spec["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
    if status == 429:
        answer = {
            "content": {
                "application/json": {"schema": {"$ref": REF + "RateLimitError"}}
            }
        }
    if status in TEXT_STATUSES:
        # Trello words these as plain text although the description says JSON.
        if not exchange.content_type.startswith("text/plain") or not exchange.response:
            return ["answer is not Trello's plain-text refusal"]
        return []
    if answer is None:
        return [f"status {status} is not declared"]
    schema = ((answer.get("content") or {}).get("application/json") or {}).get("schema")
    if schema is None:
        return ["answer has no schema to check"]
    return [f"answer {p}" for p in validate(spec, schema, exchange.response)]
