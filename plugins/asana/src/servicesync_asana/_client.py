"""Calls to Asana's REST API: single requests, paged lists and ``/batch``.

Everything goes through the SDK's :class:`~servicesync_sdk.http.ServiceClient`:
its window limiter models the per-token budget of requests a minute (each
``/batch`` action counts, so a batch passes ``cost=len(actions)``), and a 429
is waited out for its ``Retry-After``. A write is sent again only when Asana
certainly did not apply it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from servicesync.contract import ConnectorContext
from servicesync.errors import MalformedResponse, RecordError
from servicesync.redaction import Redactor
from servicesync_sdk.http import RetryPolicy, ServiceClient, WindowLimiter, fingerprint

from servicesync_asana._config import AsanaConfig
from servicesync_asana._errors import error_text, raise_for_status, refusal
from servicesync_asana._oauth import BearerAuth, TokenKeeper

__all__ = [
    "BATCH_SIZE",
    "AsanaApi",
    "BatchAnswer",
    "OffsetExpired",
    "batch_refusal",
    "fields",
]

logger = logging.getLogger(__name__)

#: Actions one ``/batch`` call carries at most.
BATCH_SIZE = 10
_MAX_PAGES = 10_000


class OffsetExpired(RecordError):
    """Asana no longer honours a page's offset token; start the list again."""


@dataclass(frozen=True, slots=True)
class BatchAnswer:
    """What one action of a ``/batch`` call answered.

    Attributes:
        status: the action's own HTTP status.
        body: its JSON body (``{"data": ...}`` or ``{"errors": [...]}``).
    """

    status: int
    body: Mapping[str, Any]

    @property
    def ok(self) -> bool:
        """Whether the action succeeded."""
        return 200 <= self.status < 300

    @property
    def data(self) -> Any:
        """The ``data`` of a successful answer."""
        return self.body.get("data")

    @property
    def error(self) -> str:
        """The error messages of a failed answer."""
        return error_text(self.body, self.status)


def fields(names: Sequence[str]) -> str:
    """Return ``opt_fields`` as Asana reads it: the names joined by commas."""
    return ",".join(names)


def _secrets(config: AsanaConfig) -> list[str]:
    values = [config.access_token, config.client_secret, config.refresh_token,
              config.webhook_secret]  # fmt: skip
    return [v for v in values if v]


def _budget_key(config: AsanaConfig, connection: str) -> str:
    # Asana counts per token; an OAuth token changes hourly, its app does not.
    owner = config.client_id or config.access_token or connection
    return f"asana:{fingerprint(owner)}"


class AsanaApi:
    """One connection's view of the API, paced by the plan's budget."""

    def __init__(self, config: AsanaConfig, context: ConnectorContext) -> None:
        self.config = config
        self.redactor = Redactor(_secrets(config))
        self._token_http = httpx.AsyncClient(transport=context.transport)
        self.tokens = TokenKeeper(config, context, self._token_http, self.redactor)
        limiter = WindowLimiter(
            _budget_key(config, context.connection),
            config.requests_per_minute,
            60.0,
            counts="cost",
            budgets=context.budgets if config.shared_budget else None,
        )
        self.http = ServiceClient(
            config.base_url.rstrip("/"),
            clock=context.clock,
            service="asana",
            transport=context.transport,
            headers={"Accept": "application/json"},
            auth=BearerAuth(self.tokens),
            redactor=self.redactor,
            limiters=[limiter],
            retry=RetryPolicy(max_attempts=6, max_elapsed=600.0),
        )

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self.http.aclose()
        await self._token_http.aclose()

    async def read(
        self, path: str, what: str, params: Mapping[str, Any] | None = None
    ) -> Any:
        """``GET`` one resource and return its ``data``."""
        response = await self.http.get(path, params=params)
        return self.data(response, what)

    async def write(
        self,
        method: str,
        path: str,
        what: str,
        data: Mapping[str, Any],
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        """Send ``{"data": data}`` with ``method`` and return the answer's ``data``."""
        response = await self.http.request(
            method, path, json={"data": dict(data)}, params=params
        )
        return self.data(response, what)

    def data(self, response: httpx.Response, what: str) -> Any:
        """Return the ``data`` of a successful answer, or raise what it means."""
        raise_for_status(response, what)
        body = self.http.json(response)
        if not isinstance(body, dict) or "data" not in body:
            msg = f"Asana answered the call to {what} without a data field."
            raise MalformedResponse(msg, service="asana")
        return body["data"]

    async def page(
        self,
        path: str,
        what: str,
        params: Mapping[str, Any],
        offset: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Read one page of a list; return its rows and the next page's offset.

        Raises:
            OffsetExpired: ``offset`` is no longer valid.
        """
        query = {**params, "limit": self.config.page_size}
        if offset:
            query["offset"] = offset
        response = await self.http.get(path, params=query)
        if offset and response.status_code == 400:
            body = self.http.json(response)
            if "offset" in error_text(body, 400).lower():
                raise OffsetExpired(f"The page token of {what} expired.")
        rows = self.data(response, what)
        if not isinstance(rows, list):
            msg = f"Asana listed {what} without a list."
            raise MalformedResponse(msg, service="asana")
        next_page = self.http.json(response).get("next_page") or {}
        following = next_page.get("offset") if isinstance(next_page, dict) else None
        return rows, (str(following) if following else None)

    async def walk(
        self, path: str, what: str, params: Mapping[str, Any]
    ) -> AsyncIterator[dict[str, Any]]:
        """Yield every row of a paged list, following the offset tokens."""
        offset: str | None = None
        for _ in range(_MAX_PAGES):
            rows, offset = await self.page(path, what, params, offset)
            for row in rows:
                yield row
            if offset is None:
                return
        msg = f"Listing {what} did not end after {_MAX_PAGES} pages."
        raise MalformedResponse(msg, service="asana")

    async def batch(self, actions: Sequence[Mapping[str, Any]]) -> list[BatchAnswer]:
        """Run up to ten actions in one ``/batch`` call, in parallel.

        Each action counts against the budget on its own. The call is sent
        again after a failure only when every action only reads.
        """
        if not 0 < len(actions) <= BATCH_SIZE:
            msg = f"A batch holds 1 to {BATCH_SIZE} actions, not {len(actions)}."
            raise ValueError(msg)
        reads_only = all(a.get("method") == "get" for a in actions)
        response = await self.http.post(
            "/batch",
            json={"data": {"actions": list(actions)}},
            cost=float(len(actions)),
            idempotent=reads_only,
        )
        answers = self.data(response, "run a batch")
        if not isinstance(answers, list) or len(answers) != len(actions):
            msg = "Asana answered a batch with a different number of results."
            raise MalformedResponse(msg, service="asana", endpoint="POST /batch")
        return [_answer(a) for a in answers]


def _answer(raw: Any) -> BatchAnswer:
    if not isinstance(raw, dict):
        raise MalformedResponse("A batch result is not an object.", service="asana")
    body = raw.get("body")
    return BatchAnswer(
        int(raw.get("status_code", 0)), body if isinstance(body, dict) else {}
    )


def batch_refusal(answer: BatchAnswer, what: str) -> Exception:
    """Return the error a failed batch action stands for."""
    return refusal(answer.status, answer.body, what, "POST /batch")
