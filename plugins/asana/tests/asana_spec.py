"""Checks recorded exchanges against Asana's official OpenAPI description.

The description is read in place from the shared folder (never copied).
What the description gets wrong is worked around in :func:`patched`, each
with its reason; SPEC-DEFECTS.md in the plugin lists them.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import parse_qsl

import httpx
import jsonschema
import yaml
from servicesync_sdk.testing import shared_path

SPEC_FILE = "api-specs/asana/spec/asana_oas.yaml"
API = "/api/1.0"


@cache
def load_spec() -> dict[str, Any]:
    """Return the patched description, or skip (fail on CI) when it is absent."""
    path = shared_path(SPEC_FILE, what="The Asana description")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open() as handle:
        spec: dict[str, Any] = yaml.load(handle, Loader=loader)
    return patched(spec)


def patched(spec: dict[str, Any]) -> dict[str, Any]:
    """Return the description with its known defects worked around."""
    spec = copy.deepcopy(spec)
    schemas = spec["components"]["schemas"]
    # TaskBase.memberships is declared read-only with compact objects, yet
    # its own text says it is set on creation, where Asana takes gids.
    items = _property(schemas["TaskBase"], "memberships")["items"]["properties"]
    for name in ("project", "section"):
        items[name] = {"anyOf": [{"type": "string"}, items[name]]}
    # EventResponse's text says system events have a null user and most
    # changes a null parent, but neither property is declared nullable.
    event = schemas["EventResponse"]["properties"]
    for name in ("user", "parent"):
        event[name] = {**event[name], "nullable": True}
    # WebhookResponse's times of the last success and failure are null on
    # a new webhook (the description's own example of POST /webhooks shows
    # it), but they are declared plain strings.
    webhook = schemas["WebhookResponse"]["allOf"][1]["properties"]
    for name in ("last_success_at", "last_failure_at", "last_failure_content"):
        webhook[name] = {**webhook[name], "nullable": True}
    return _nullable(spec)


def _property(schema: dict[str, Any], name: str) -> dict[str, Any]:
    for part in [schema, *schema.get("allOf", [])]:
        if name in part.get("properties", {}):
            found: dict[str, Any] = part["properties"][name]
            return found
    raise KeyError(name)


def _nullable(node: Any) -> Any:
    """Turn OpenAPI 3.0's ``nullable`` into JSON Schema a validator reads."""
    if isinstance(node, list):
        return [_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    members = node.get("allOf") or []
    nullable = bool(node.get("nullable")) or any(
        isinstance(m, dict) and m.get("nullable") for m in members
    )
    converted = {k: _nullable(v) for k, v in node.items() if k != "nullable"}
    if nullable:
        return {"anyOf": [{"type": "null"}, converted]}
    return converted


@dataclass
class Exchange:
    """One request and its answer, as seen on the wire."""

    method: str
    path: str
    query: list[tuple[str, str]]
    request: Any
    status: int
    response: Any


@dataclass
class Recorder(httpx.AsyncBaseTransport):
    """Passes requests on and keeps each JSON exchange with the API."""

    inner: httpx.AsyncBaseTransport
    exchanges: list[Exchange] = field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        if request.url.path.startswith(API):
            sent = json.loads(request.content) if request.content else None
            got = json.loads(body) if body else None
            self.exchanges.append(
                Exchange(
                    request.method,
                    request.url.path.removeprefix(API),
                    parse_qsl(request.url.query.decode()),
                    sent,
                    response.status_code,
                    got,
                )
            )
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            content=body,
            request=request,
        )


def operation(
    spec: dict[str, Any], method: str, path: str
) -> tuple[str, dict[str, Any]]:
    """Return the template and operation that ``method path`` calls.

    A template with fixed text where another has a parameter wins, as
    ``/users/me`` would over ``/users/{user_gid}`` if both existed.
    """
    found: list[tuple[int, str]] = []
    for template, item in spec["paths"].items():
        pattern = "^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in item:
            found.append((template.count("{"), template))
    if not found:
        raise AssertionError(f"{method} {path} is not in the Asana description.")
    template = min(found)[1]
    return template, spec["paths"][template][method.lower()]


def parameters(
    spec: dict[str, Any], template: str, op: dict[str, Any]
) -> dict[str, Any]:
    """Return the declared parameters of an operation by name."""
    declared = [
        *spec["paths"][template].get("parameters", []),
        *op.get("parameters", []),
    ]
    return {p["name"]: p for p in (_resolve(spec, d) for d in declared)}


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def validate(spec: dict[str, Any], schema: dict[str, Any], value: Any) -> list[str]:
    """Return every error of ``value`` against ``schema`` (formats not checked)."""
    root = {**schema, "components": spec["components"]}
    validator = jsonschema.Draft4Validator(root)
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
        for e in validator.iter_errors(value)
    ]


def _response_schema(
    spec: dict[str, Any], op: dict[str, Any], status: int
) -> dict[str, Any]:
    responses = op["responses"]
    # YAML reads the status keys as numbers.
    declared = responses.get(status, responses.get(str(status)))
    if declared is None:
        # Undeclared statuses (429 everywhere, 412 on most lists, 503) are
        # answered with the generic error body the description defines.
        return {"$ref": "#/components/schemas/ErrorResponse"}
    content = (_resolve(spec, declared).get("content") or {}).get("application/json")
    return content["schema"] if content else {}


def check_call(
    spec: dict[str, Any],
    method: str,
    path: str,
    query: list[tuple[str, str]],
    request: Any,
    status: int,
    response: Any,
    requests: bool = True,
) -> list[str]:
    """Validate one call's answer and, unless ``requests`` is false, its request."""
    template, op = operation(spec, method, path)
    where = f"{method} {template} {status}"
    if not requests:
        query, request = [], None
    problems = [f"{where} {p}" for p in _check_query(spec, template, op, query)]
    content = (_resolve(spec, op.get("requestBody", {})).get("content") or {}).get(
        "application/json"
    )
    if request is not None and content:
        problems += [
            f"{where} request {p}" for p in validate(spec, content["schema"], request)
        ]
    schema = _response_schema(spec, op, status)
    if response is not None:
        problems += [f"{where} response {p}" for p in validate(spec, schema, response)]
    return problems


def _check_query(
    spec: dict[str, Any],
    template: str,
    op: dict[str, Any],
    query: list[tuple[str, str]],
) -> list[str]:
    declared = parameters(spec, template, op)
    problems = []
    for name, value in query:
        param = declared.get(name)
        if param is None or param.get("in") != "query":
            problems.append(f"query parameter {name!r} is not declared")
            continue
        schema = param.get("schema") or {}
        if name == "opt_fields":
            allowed = set(schema["items"]["enum"])
            unknown = [f for f in value.split(",") if f not in allowed]
            if unknown:
                problems.append(f"opt_fields {unknown} are not in the enum")
        elif schema.get("type") == "integer":
            number = int(value)
            if (
                not schema.get("minimum", number)
                <= number
                <= schema.get("maximum", number)
            ):
                problems.append(f"{name}={value} is out of range")
    return problems


def check(spec: dict[str, Any], exchange: Exchange, requests: bool = True) -> list[str]:
    """Validate one exchange; a ``/batch`` call's actions are checked one by one.

    With ``requests`` false only the answers are checked, for requests that
    are wrong on purpose.
    """
    problems = check_call(
        spec,
        exchange.method,
        exchange.path,
        exchange.query,
        exchange.request,
        exchange.status,
        exchange.response,
        requests,
    )
    if exchange.path == "/batch" and exchange.status == 200:
        actions = exchange.request["data"]["actions"]
        results = exchange.response["data"]
        for action, result in zip(actions, results, strict=True):
            problems += check_action(spec, action, result)
    return problems


def check_action(
    spec: dict[str, Any], action: dict[str, Any], result: dict[str, Any]
) -> list[str]:
    """Validate one ``/batch`` action as the call it stands for."""
    method = str(action["method"]).upper()
    data = action.get("data") or {}
    options = action.get("options") or {}
    query = [(k, str(v)) for k, v in data.items()] if method == "GET" else []
    if options.get("fields"):
        query.append(("opt_fields", ",".join(options["fields"])))
    request = {"data": data} if method not in ("GET", "DELETE") else None
    return check_call(
        spec,
        method,
        action["relative_path"],
        query,
        request,
        int(result["status_code"]),
        result.get("body"),
    )


def seen(exchanges: list[Exchange], spec: dict[str, Any]) -> set[tuple[str, str, int]]:
    """Return every ``(method, template, status)`` called, batch actions included."""
    found = set()
    for exchange in exchanges:
        template, _ = operation(spec, exchange.method, exchange.path)
        found.add((exchange.method, template, exchange.status))
        if exchange.path == "/batch" and exchange.status == 200:
            for action, result in zip(
                exchange.request["data"]["actions"],
                exchange.response["data"],
                strict=True,
            ):
                method = str(action["method"]).upper()
                inner, _ = operation(spec, method, action["relative_path"])
                found.add((method, inner, int(result["status_code"])))
    return found
