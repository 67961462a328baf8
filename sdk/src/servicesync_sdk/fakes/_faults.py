"""Fault injection: errors, timeouts, drops and damaged answers, by rule.

A fake owns a :class:`FaultPlan` whose rules say which requests fail and how,
drawing from the fake's seeded :class:`random.Random` so a run can be
replayed. The fake applies a rule where it can (a 5xx, a damaged body), and
for failures of the connection itself it either breaks the socket (served
over loopback) or tells :class:`FaultyTransport` to raise the exception an
httpx client would see (in process, since :class:`httpx.ASGITransport` can
neither time out nor drop).
"""

from __future__ import annotations

import fnmatch
import logging
import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

import httpx
from servicesync.redaction import Redactor

__all__ = [
    "FAULT_CHANNEL_HEADER",
    "FAULT_HEADER",
    "FaultKind",
    "FaultPlan",
    "FaultRule",
    "FaultyTransport",
    "damage_body",
]

logger = logging.getLogger(__name__)

#: Request header by which :class:`FaultyTransport` asks the fake to signal
#: connection faults instead of acting them out.
FAULT_CHANNEL_HEADER = "x-servicesync-fault-channel"
#: Response header carrying the connection fault the transport must raise.
FAULT_HEADER = "x-servicesync-fault"

# Masks the secrets a path carries by its shape, whatever the fake's secrets.
_MASK_PATHS = Redactor()

_MALFORMED = b"<html><body><h1>502 Bad Gateway</h1></body></html>"


class FaultKind(StrEnum):
    """The ways a request can go wrong."""

    #: The service answers with a 5xx (its own error body) and does nothing.
    ERROR = "error"
    #: No answer arrives; the client's read times out.
    TIMEOUT = "timeout"
    #: The connection closes without an answer.
    DROP = "drop"
    #: The answer's body is cut in half (valid HTTP, broken payload).
    TRUNCATE = "truncate"
    #: The answer's body is replaced by an HTML page.
    MALFORM = "malform"


@dataclass
class FaultRule:
    """One fault and the requests it hits.

    Attributes:
        kind: what goes wrong.
        methods: HTTP methods hit (upper case); empty means any.
        path: a route template (``/notes/{note_id}``) or a glob over the
            concrete path (``/notes/*``); ``None`` means any.
        probability: the chance that a matching request is hit.
        times: how many requests this rule hits at most; ``None`` is no limit.
        status: the status of an :attr:`FaultKind.ERROR` answer.
        after_processing: for ``TIMEOUT`` and ``DROP``, let the fake process
            the request first, so the write is applied and its answer lost.
        fired: how many requests this rule has hit so far.
    """

    kind: FaultKind
    methods: frozenset[str] = frozenset()
    path: str | None = None
    probability: float = 1.0
    times: int | None = None
    status: int = 503
    after_processing: bool = False
    fired: int = field(default=0, compare=False)

    @property
    def label(self) -> str:
        """The name under which the request log records this fault."""
        if self.after_processing and self.kind in _CONNECTION_KINDS:
            return f"{self.kind.value}-after-processing"
        return self.kind.value

    @property
    def exhausted(self) -> bool:
        """Whether the rule has hit as many requests as it may."""
        return self.times is not None and self.fired >= self.times

    def matches(self, method: str, path: str, route: str) -> bool:
        """Whether a request with this method, path and route is in scope."""
        if self.methods and method.upper() not in self.methods:
            return False
        if self.path is None:
            return True
        return self.path == route or fnmatch.fnmatchcase(path, self.path)


_CONNECTION_KINDS = frozenset({FaultKind.TIMEOUT, FaultKind.DROP})


class FaultPlan:
    """The fault rules of a fake, consulted in order for each request.

    Example:
        >>> plan = FaultPlan(random.Random(7))
        >>> rule = plan.answer_lost(method="POST", path="/notes")
        >>> plan.pick("POST", "/notes", "/notes") is rule
        True
    """

    def __init__(self, rng: random.Random | None = None) -> None:
        self.rng = rng or random.Random()
        self.rules: list[FaultRule] = []
        self.injected: Counter[str] = Counter()

    def add(
        self,
        kind: FaultKind | str,
        *,
        method: str | Iterable[str] | None = None,
        path: str | None = None,
        probability: float = 1.0,
        times: int | None = None,
        status: int = 503,
        after_processing: bool = False,
    ) -> FaultRule:
        """Add a rule and return it; see :class:`FaultRule` for the fields."""
        if not 0.0 <= probability <= 1.0:
            raise ValueError(
                f"A fault probability lies in [0, 1], not {probability!r}."
            )
        kind = FaultKind(kind)
        if after_processing and kind not in _CONNECTION_KINDS:
            msg = (
                f"Only timeout and drop faults can happen after processing, not {kind}."
            )
            raise ValueError(msg)
        rule = FaultRule(
            kind=kind,
            methods=_methods(method),
            path=path,
            probability=probability,
            times=times,
            status=status,
            after_processing=after_processing,
        )
        self.rules.append(rule)
        return rule

    def answer_lost(
        self,
        *,
        method: str | Iterable[str] | None = None,
        path: str | None = None,
        times: int | None = 1,
        probability: float = 1.0,
        kind: FaultKind | str = FaultKind.DROP,
    ) -> FaultRule:
        """Apply the matching request, then lose its answer (drop by default)."""
        return self.add(
            kind,
            method=method,
            path=path,
            probability=probability,
            times=times,
            after_processing=True,
        )

    def clear(self) -> None:
        """Remove every rule."""
        self.rules.clear()

    def pick(self, method: str, path: str, route: str) -> FaultRule | None:
        """Return the rule that hits this request, counting it, or ``None``."""
        for rule in self.rules:
            if rule.exhausted or not rule.matches(method, path, route):
                continue
            # Drawing only for partial odds keeps certain rules from shifting
            # the random sequence that the uncertain ones see.
            if rule.probability < 1.0 and self.rng.random() >= rule.probability:
                continue
            rule.fired += 1
            self.injected[rule.label] += 1
            # The route template, masked: a concrete path may carry a secret,
            # such as a Bitrix24 webhook code.
            where = _MASK_PATHS.text(route)
            logger.debug("Injecting %s into %s %s", rule.label, method, where)
            return rule
        return None


def _methods(method: str | Iterable[str] | None) -> frozenset[str]:
    if method is None:
        return frozenset()
    if isinstance(method, str):
        return frozenset({method.upper()})
    return frozenset(m.upper() for m in method)


def damage_body(kind: FaultKind, body: bytes) -> bytes:
    """Return ``body`` truncated or replaced as the fault kind says."""
    if kind is FaultKind.TRUNCATE:
        return body[: len(body) // 2]
    if kind is FaultKind.MALFORM:
        return _MALFORMED
    return body


def connection_error(kind: str, request: httpx.Request) -> httpx.TransportError:
    """Return the exception an httpx client sees for a connection fault."""
    if kind == FaultKind.TIMEOUT:
        return httpx.ReadTimeout("The read operation timed out.", request=request)
    return httpx.RemoteProtocolError(
        "Server disconnected without sending a response.", request=request
    )


class FaultyTransport(httpx.AsyncBaseTransport):
    """An httpx transport that turns a fake's connection faults into exceptions.

    Wrap the :class:`httpx.ASGITransport` of a fake: the fake decides which
    requests fail (its :class:`FaultPlan`), and this transport raises
    :class:`httpx.ReadTimeout` or :class:`httpx.RemoteProtocolError` where a
    real connection would have timed out or closed. Given a ``plan`` of its
    own, it decides by itself instead, around any transport (then routes are
    the concrete paths).

    Args:
        inner: the transport that carries requests to the service.
        plan: an optional plan the transport applies itself.
    """

    def __init__(
        self, inner: httpx.AsyncBaseTransport, *, plan: FaultPlan | None = None
    ) -> None:
        self.inner = inner
        self.plan = plan

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through the inner transport, acting out faults."""
        if self.plan is not None:
            return await self._apply_own_plan(request)
        request.headers[FAULT_CHANNEL_HEADER] = "1"
        response = await self.inner.handle_async_request(request)
        fault = response.headers.get(FAULT_HEADER)
        if fault:
            await response.aclose()
            raise connection_error(fault, request)
        return response

    async def _apply_own_plan(self, request: httpx.Request) -> httpx.Response:
        assert self.plan is not None
        path = request.url.path
        rule = self.plan.pick(request.method, path, path)
        if rule is None:
            return await self.inner.handle_async_request(request)
        if rule.kind is FaultKind.ERROR:
            return httpx.Response(rule.status, request=request)
        if rule.kind in _CONNECTION_KINDS and not rule.after_processing:
            raise connection_error(rule.kind, request)
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        await response.aclose()
        if rule.kind in _CONNECTION_KINDS:
            raise connection_error(rule.kind, request)
        headers = [(k, v) for k, v in response.headers.items() if k != "content-length"]
        return httpx.Response(
            response.status_code,
            headers=headers,
            content=damage_body(rule.kind, body),
            request=request,
        )

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self.inner.aclose()
