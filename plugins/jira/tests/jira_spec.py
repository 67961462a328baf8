"""Checks recorded exchanges against the vendor's OpenAPI description of Jira.

The description is read in place from the shared folder (never copied).
Schema checks the description itself gets wrong are switched off here, each
with its reason; SPEC-DEFECTS.md in the plugin lists them.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import httpx
import jsonschema
from servicesync_sdk.testing import shared_path

SPEC_FILE = "api-specs/jira/spec/swagger-v3.v3.json"


@cache
def load_spec() -> dict[str, Any]:
    """Return the patched description, or skip (fail on CI) when it is absent."""
    path = shared_path(SPEC_FILE, what="The Jira description")
    spec: dict[str, Any] = json.loads(path.read_text())
    return patched(spec)


def patched(spec: dict[str, Any]) -> dict[str, Any]:
    """Return the description with its known defects worked around."""
    spec = copy.deepcopy(spec)
    schemas = spec["components"]["schemas"]
    # Webhook.expirationDate and WebhooksExpirationDate.expirationDate are
    # declared int64, but Jira (and the description's own examples) sends a
    # Jira date-time string.
    for name in ("Webhook", "WebhooksExpirationDate"):
        schemas[name]["properties"]["expirationDate"] = {"type": ["integer", "string"]}
    return spec


@dataclass
class Exchange:
    method: str
    path: str
    request: Any
    status: int
    response: Any


@dataclass
class Recorder(httpx.AsyncBaseTransport):
    """Passes requests on and keeps each JSON exchange."""

    inner: httpx.AsyncBaseTransport
    exchanges: list[Exchange] = field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        sent = json.loads(request.content) if request.content else None
        got = json.loads(body) if body else None
        path = re.sub(r"^/ex/jira/[^/]+", "", request.url.path)
        self.exchanges.append(
            Exchange(request.method, path, sent, response.status_code, got)
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
    """Return the template and operation that ``method path`` calls."""
    for template, item in spec["paths"].items():
        pattern = "^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in item:
            if "{" in template and any(
                t == path for t in spec["paths"] if method.lower() in spec["paths"][t]
            ):
                continue
            return template, item[method.lower()]
    raise AssertionError(f"{method} {path} is not in the Jira description.")


def validate(spec: dict[str, Any], schema: dict[str, Any], value: Any) -> list[str]:
    """Return every error of ``value`` against ``schema`` (formats not checked)."""
    root = {**schema, "components": spec["components"]}
    validator = jsonschema.Draft4Validator(root)
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(value)
    ]


def check(spec: dict[str, Any], exchange: Exchange) -> list[str]:
    """Validate one exchange's request and response bodies."""
    template, op = operation(spec, exchange.method, exchange.path)
    problems = []
    where = f"{exchange.method} {template} {exchange.status}"
    content = op.get("requestBody", {}).get("content", {}).get("application/json")
    if exchange.request is not None and content:
        problems += [
            f"{where} request {p}"
            for p in validate(spec, content["schema"], exchange.request)
        ]
    answer = op["responses"].get(str(exchange.status))
    schema = (
        ((answer or {}).get("content") or {}).get("application/json", {}).get("schema")
    )
    if schema is None and exchange.status >= 400:
        # Defect: most error answers, and every 429/410, have no schema.
        schema = {"$ref": "#/components/schemas/ErrorCollection"}
    if schema is not None and exchange.response is not None:
        problems += [
            f"{where} response {p}" for p in validate(spec, schema, exchange.response)
        ]
    return problems
