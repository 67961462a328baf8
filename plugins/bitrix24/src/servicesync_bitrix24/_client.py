"""Calls to a Bitrix24 portal: single methods, batches and fast listing.

Built on the SDK's :class:`~servicesync_sdk.http.ServiceClient`, which paces
calls with the portal's leaky bucket, waits out ``503 QUERY_LIMIT_EXCEEDED``
and blocks only the method a ``429 OPERATION_TIME_LIMIT`` names. Inside a
batch those two come back per sub-call in ``result_error``; :meth:`fast_list`
waits them out itself and goes on from the last row it kept, so no row is
lost and none is read twice.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import httpx
import msgspec
from servicesync.contract import ConnectorContext, Record
from servicesync.errors import AuthenticationError, FatalError, MalformedResponse
from servicesync.gcpause import collector_paused
from servicesync.redaction import Redactor
from servicesync_sdk.http import (
    LeakyBucket,
    RetryPolicy,
    ServiceClient,
    SlowedDown,
    bitrix24_slow_down,
)

from servicesync_bitrix24._config import Bitrix24Config
from servicesync_bitrix24._oauth import TokenKeeper
from servicesync_bitrix24._php import build_query

__all__ = ["BatchAnswer", "Bitrix24Client", "ListSpec", "MethodFailed"]

logger = logging.getLogger(__name__)

PAGE = 50
BATCH = 50
_OPERATING_SPAN = 660.0
_SLOW = {"QUERY_LIMIT_EXCEEDED", "OPERATION_TIME_LIMIT"}


class MethodFailed(FatalError):
    """A method answered with an error that waiting will not cure.

    Attributes:
        code: the portal's error code, such as ``ERROR_METHOD_NOT_FOUND``.
    """

    def __init__(self, message: str, *, code: str, endpoint: str = "") -> None:
        self.code = code
        super().__init__(message, service="bitrix24", endpoint=endpoint)


@dataclass(frozen=True, slots=True)
class BatchAnswer:
    """The parts of a batch answer, each keyed by command."""

    result: Mapping[str, Any]
    errors: Mapping[str, Mapping[str, Any]]
    totals: Mapping[str, Any]
    time: Mapping[str, Any]

    @classmethod
    def of(cls, answer: Mapping[str, Any]) -> BatchAnswer:
        """Split a batch's whole answer into its parts."""
        outer = answer.get("result")
        if not isinstance(outer, Mapping):
            raise MalformedResponse(
                "batch answered without a result object.",
                service="bitrix24",
                endpoint="batch",
            )

        def part(name: str) -> Mapping[str, Any]:
            value = outer.get(name)
            return value if isinstance(value, Mapping) else {}

        return cls(
            part("result"),
            part("result_error"),
            part("result_total"),
            answer.get("time", {}),
        )


@dataclass(frozen=True, slots=True)
class ListSpec:
    """How one list method pages by id.

    Attributes:
        method: such as ``crm.deal.list``.
        id_filter: the filter field of the id (``ID``).
        id_out: the id's key in the rows (``ID`` or ``id``).
        rows_key: where the rows sit in ``result`` (``items``, ``tasks``), if
            not at the top.
        extra: further parameters, such as ``entityTypeId``.
    """

    method: str
    id_filter: str = "ID"
    id_out: str = "ID"
    rows_key: str | None = None
    extra: Mapping[str, Any] | None = None


class _ListingBatch(msgspec.Struct):
    """A fast listing's batch ``result``: each command's rows as JSON texts.

    PHP writes an empty map as ``[]``, so every part may be a list too.
    """

    result: dict[str, list[msgspec.Raw] | dict[str, msgspec.Raw]] | list[Any] = {}
    result_error: dict[str, Any] | list[Any] = {}
    result_total: dict[str, Any] | list[Any] = {}


class _ListingAnswer(msgspec.Struct):
    """A fast listing's whole answer, or the error it is instead."""

    result: _ListingBatch | None = None
    time: Any = None
    error: Any = None
    error_description: Any = None


_LISTING = msgspec.json.Decoder(_ListingAnswer)
_RAW_ROWS = msgspec.json.Decoder(list[msgspec.Raw])


@cache
def _id_reader(field: str) -> Callable[[msgspec.Raw], Any]:
    """Read the id at ``field`` of a row's JSON text, skipping the rest."""
    row = msgspec.defstruct("Row", [(field, str | int)])
    decode = msgspec.json.Decoder(row).decode
    return lambda text: getattr(decode(text), field)


def _secrets(config: Bitrix24Config) -> list[str]:
    values = [config.client_secret, config.access_token, config.refresh_token,
              config.application_token]  # fmt: skip
    if config.webhook_url:
        values.append(config.webhook_url.rstrip("/").rsplit("/", 1)[-1])
    return [v for v in values if v]


#: Requests kept in reserve below the portal's burst, against send-time jitter.
BURST_HEADROOM = 5.0


class Bitrix24Client:
    """One portal's REST API, paced by the plan's limits."""

    def __init__(self, config: Bitrix24Config, context: ConnectorContext) -> None:
        rate, burst = (5.0, 250.0) if config.plan == "enterprise" else (2.0, 50.0)
        # Requests leave a little later than booked (a busy process, the
        # network); at a full bucket that lateness bunches them up. A few
        # requests of headroom absorb it, so the portal never refuses one.
        burst -= BURST_HEADROOM
        host = urlsplit(config.portal_url).netloc
        self.config = config
        self.context = context
        self.redactor = Redactor(_secrets(config))
        self.http = ServiceClient(
            config.rest_base,
            clock=context.clock,
            service="bitrix24",
            transport=context.transport,
            redactor=self.redactor,
            limiters=[LeakyBucket(f"bitrix24:{host}", rate, burst,
                                  budgets=context.budgets)],
            retry=RetryPolicy(max_elapsed=900.0, jitter=0.0),
            slow_down=bitrix24_slow_down,
            max_concurrency=1,
        )  # fmt: skip
        self._oauth_http = httpx.AsyncClient(transport=context.transport)
        self.tokens = (
            TokenKeeper(config, context, self._oauth_http)
            if config.uses_oauth
            else None
        )
        self.operating: dict[str, float] = {}

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self.http.aclose()
        await self._oauth_http.aclose()

    async def call(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        write: bool = False,
        decode: Callable[[httpx.Response], Any] | None = None,
    ) -> dict[str, Any]:
        """Call ``method``; return the whole answer (``result``, ``time``...).

        ``decode`` parses the answer instead of the HTTP client's JSON parse.

        A ``429 OPERATION_TIME_LIMIT`` carries no reset time, so the call
        waits for the ``operating_reset_at`` of the method's last good answer
        (or a minute) and tries again, for at most eleven minutes: by then
        every one-minute basket of the ten has dropped out.
        """
        waited = 0.0
        while True:
            try:
                return await self._call_once(method, dict(params or {}), write, decode)
            except SlowedDown as exc:
                if exc.reason != "OPERATION_TIME_LIMIT" or waited > _OPERATING_SPAN:
                    raise
                waited += await self._wait_out(method, {"error": exc.reason})

    async def _call_once(
        self,
        method: str,
        params: dict[str, Any],
        write: bool,
        decode: Callable[[httpx.Response], Any] | None,
    ) -> dict[str, Any]:
        try:
            return await self._call(method, dict(params), write, decode)
        except AuthenticationError:
            if self.tokens is None:
                raise
            # An access token can die early (revoked, clock skew): renew once.
            await self.tokens.refresh()
            return await self._call(method, dict(params), write, decode)

    async def _call(
        self,
        method: str,
        body: dict[str, Any],
        write: bool,
        decode: Callable[[httpx.Response], Any] | None,
    ) -> dict[str, Any]:
        if self.tokens is not None:
            body["auth"] = await self.tokens.token()
        response = await self.http.post(
            method, json=body, endpoint=method, idempotent=not write
        )
        answer = decode(response) if decode else self.http.json(response, method)
        if not isinstance(answer, dict):
            raise MalformedResponse(
                f"{method} answered with a non-object.",
                service="bitrix24",
                endpoint=method,
            )
        if response.status_code >= 400 or "error" in answer:
            code = str(answer.get("error", response.status_code))
            detail = self.redactor.text(str(answer.get("error_description", "")))
            msg = f"Bitrix24 method {method!r} failed with {code!r}: {detail}"
            raise MethodFailed(msg, code=code, endpoint=method)
        self._note_time(method, answer.get("time"))
        return answer

    def _note_time(self, method: str, time: Any) -> None:
        if isinstance(time, Mapping) and "operating_reset_at" in time:
            self.operating[method] = float(time["operating_reset_at"])

    async def batch(
        self,
        cmd: Mapping[str, str],
        *,
        write: bool = False,
        decode: Callable[[httpx.Response], Any] | None = None,
    ) -> BatchAnswer:
        """Run up to 50 commands in one request; errors stay per command.

        ``decode`` parses the answer, as in :meth:`call`.
        """
        body = {"halt": 0, "cmd": dict(cmd)}
        return BatchAnswer.of(
            await self.call("batch", body, write=write, decode=decode)
        )

    def parse_listing(self, response: httpx.Response) -> Any:
        """Parse a fast listing's answer, keeping each row as its JSON text.

        A row's text is what its record is hashed by, so an unchanged row
        is never parsed (see :meth:`Record.from_json`). An answer of the
        wrong shape is refused with the place msgspec names; one that
        msgspec cannot read at all is left to the HTTP client's parse.
        """
        try:
            answer = _LISTING.decode(response.content)
        except msgspec.ValidationError as exc:
            raise MalformedResponse(
                f"batch answered in a shape a fast listing cannot read: {exc}",
                service="bitrix24",
                endpoint="batch",
            ) from exc
        except msgspec.DecodeError:
            return self.http.json(response, "batch")
        parts = msgspec.structs.asdict(answer)
        if answer.result is not None:
            parts["result"] = msgspec.structs.asdict(answer.result)
        return {key: value for key, value in parts.items() if value is not None}

    def portal_time(self, time: Mapping[str, Any]) -> datetime:
        """Return the portal's clock reading carried by a ``time`` object."""
        return datetime.fromtimestamp(float(time["start"]), UTC)

    async def fast_list(
        self,
        spec: ListSpec,
        *,
        filters: Mapping[str, Any],
        select: list[str],
        after: int = 0,
    ) -> AsyncIterator[tuple[list[Record], BatchAnswer]]:
        """Yield rows with id above ``after`` in id order, up to 2,500 per request.

        Each request chains 50 ``start=-1`` pages, page ``k`` asking for ids
        above the last id of page ``k-1``. Everything after the first short
        page is ignored, whatever the portal put there. Each row comes as a
        record of its JSON text, keyed by its id.
        """
        while True:
            cmd = self._chain(spec, filters, select, after)
            answer = await self.batch(cmd, decode=self.parse_listing)
            rows, finished, error = self.collect_rows(spec, answer)
            if rows:
                after = int(rows[-1].external_id)
            yield rows, answer
            if finished:
                return
            if error is not None:
                await self._wait_out(spec.method, error)

    def _chain(
        self, spec: ListSpec, filters: Mapping[str, Any], select: list[str], after: int
    ) -> dict[str, str]:
        cmd: dict[str, str] = {}
        path = f"[{spec.rows_key}]" if spec.rows_key else ""
        for k in range(BATCH):
            last = (
                after
                if k == 0
                else f"$result[p{k - 1}]{path}[{PAGE - 1}][{spec.id_out}]"
            )
            params = {
                **(spec.extra or {}),
                "order": {spec.id_filter: "ASC"},
                "filter": {**filters, f">{spec.id_filter}": last},
                "select": select,
                "start": -1,
            }
            cmd[f"p{k}"] = f"{spec.method}?{build_query(params)}"
        return cmd

    def collect_rows(
        self, spec: ListSpec, answer: BatchAnswer
    ) -> tuple[list[Record], bool, Mapping[str, Any] | None]:
        """Return a listing's rows up to its first short page, whether that ended
        the listing, and the error of a command the portal asked to wait out.
        """
        rows: list[Record] = []
        for k in range(BATCH):
            key = f"p{k}"
            if key in answer.errors:
                error = answer.errors[key]
                if str(error.get("error")) in _SLOW:
                    return rows, False, error
                code = str(error.get("error"))
                msg = f"{spec.method} failed inside a batch with {code!r}."
                raise MethodFailed(msg, code=code, endpoint=spec.method)
            page = _rows_of(spec, answer.result.get(key))
            rows.extend(page)
            if len(page) < PAGE:
                return rows, True, None
        return rows, False, None

    async def _wait_out(self, method: str, error: Mapping[str, Any]) -> float:
        now = self.context.clock.now().timestamp()
        wait = 1.0
        if error.get("error") == "OPERATION_TIME_LIMIT":
            reset = self.operating.get(method, 0.0)
            wait = reset - now if reset > now else 60.0
        logger.info("Bitrix24 asked to slow down %s; waiting %.0fs", method, wait)
        await self.context.clock.sleep(wait)
        return wait


def _rows_of(spec: ListSpec, page: Any) -> list[Record]:
    """Return one listed page's rows as records, refusing a page of another shape."""
    if spec.rows_key and isinstance(page, Mapping):
        page = page.get(spec.rows_key)
        if isinstance(page, msgspec.Raw):
            try:
                page = _RAW_ROWS.decode(page)
            except msgspec.ValidationError:
                page = None
    if not isinstance(page, list):
        raise MalformedResponse(
            f"{spec.method} returned no list in a batch.",
            service="bitrix24",
            endpoint=spec.method,
        )
    read_id = _id_reader(spec.id_out)
    with collector_paused():
        try:
            return [
                Record.from_json(read_id(row), bytes(row))
                if isinstance(row, msgspec.Raw)
                else Record.of(row[spec.id_out], row)
                for row in page
            ]
        except (msgspec.ValidationError, KeyError, TypeError) as exc:
            raise MalformedResponse(
                f"{spec.method} returned a row without its {spec.id_out}: {exc}",
                service="bitrix24",
                endpoint=spec.method,
            ) from exc
