"""What a connector's author tells the conformance suite about the connector."""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar, Literal

from pydantic import BaseModel
from servicesync import Clock, VirtualClock
from servicesync.contract import (
    Connector,
    ConnectorContext,
    Stream,
    WebhookRequest,
)

from servicesync_sdk.fakes import FakeService, FaultRule
from servicesync_sdk.testing._memory import memory_context

__all__ = ["ConformanceHarness", "ConformanceKit", "LimitWorkload", "PublishedLimit"]

#: How the rate-limit part keeps the connector busy: ``"one_read"`` fills
#: the fake with enough pages for one long read; ``"repeated_reads"`` reads
#: one record again and again with the same connector.
LimitWorkload = Literal["one_read", "repeated_reads"]


@dataclass(frozen=True)
class PublishedLimit:
    """A rate limit the service documents, which its fake enforces.

    Attributes:
        rate: requests per second allowed over time.
        burst: requests allowed at once before the rate applies.
        refusal_status: the status of the service's refusal (429, or 503
            for Bitrix24).
    """

    rate: float
    burst: int = 1
    refusal_status: int = 429


class ConformanceHarness(ABC):
    """How the conformance suite builds and drives one connector and its fake.

    Required: :attr:`stream`, :attr:`page_size`, :meth:`make_fake`,
    :meth:`make_connector`, :meth:`insert`, :meth:`update`,
    :meth:`snapshot`. The action and webhook parts need their methods too,
    unless :attr:`skip` names the part with a reason.

    Attributes:
        stream: the name of the incremental stream to check.
        page_size: how many records that stream reads per page.
        action: the name of the action to repeat, or ``None``.
        limit: the rate limit the service publishes and its fake enforces,
            or ``None`` when it publishes none.
        seed: the seed of the fake's random source.
        settle: seconds by which the stream's reads trail the service's
            clock, such as a window that ends a minute before now because
            a search index shows writes late; the suite lets this much time
            and one second more pass between changing the fake and reading.
        read_method: the HTTP method of the requests that read the stream
            (``POST`` where reads are searches or batches); the ``faults``
            and ``malformed`` parts aim timeouts, lost answers and damaged
            bodies at these requests.
        read_path: a route template or a glob over the path (such as
            ``/rest/*/batch``) narrowing those requests, or ``None`` for
            every request with ``read_method``.
        limit_workload: how the ``rate_limit`` part makes the connector send
            more requests than the limit allows at once: ``"one_read"``
            (the default) reads enough full pages in one run;
            ``"repeated_reads"`` reads the stream again and again with one
            connector, for services whose pages are too large for a fake to
            hold that many.
        skip: parts of the suite not to run, each with its reason; the
            parts are ``stream``, ``resume``, ``faults``, ``action``,
            ``rate_limit``, ``retry_after``, ``secrets``, ``webhooks`` and
            ``malformed``.
    """

    stream: ClassVar[str]
    page_size: ClassVar[int]
    action: ClassVar[str | None] = None
    limit: ClassVar[PublishedLimit | None] = None
    seed: ClassVar[int] = 7
    settle: ClassVar[float] = 0.0
    read_method: ClassVar[str] = "GET"
    read_path: ClassVar[str | None] = None
    limit_workload: ClassVar[LimitWorkload] = "one_read"
    skip: ClassVar[Mapping[str, str]] = {}

    @abstractmethod
    def make_fake(self, clock: Clock, seed: int) -> FakeService:
        """Build the connector's fake on ``clock``, seeded with ``seed``."""

    @abstractmethod
    def make_connector(
        self, fake: FakeService, context: ConnectorContext
    ) -> Connector[Any]:
        """Build a connector for ``fake``; ``context.transport`` reaches it."""

    @abstractmethod
    async def insert(self, fake: FakeService, count: int) -> list[str]:
        """Create ``count`` records in the fake; return their external ids.

        Use the fake's own API (its methods or its HTTP endpoints), never the
        connector. Each call must leave the records with a change time of
        the fake's clock now.
        """

    @abstractmethod
    async def update(self, fake: FakeService, external_id: str) -> None:
        """Change the record ``external_id`` in the fake, moving its change time."""

    @abstractmethod
    def snapshot(self, fake: FakeService) -> Mapping[str, Mapping[str, Any]]:
        """Return every record the stream should hold, as the stream reads them."""

    def action_params(self, fake: FakeService) -> BaseModel:
        """Return the parameters the action is repeated with."""
        raise NotImplementedError(f"{type(self).__name__} gives no action params.")

    def count_objects(self, fake: FakeService, params: BaseModel) -> int:
        """Return how many objects in the fake the action made for ``params``."""
        raise NotImplementedError(f"{type(self).__name__} cannot count objects.")

    def lose_create_answer(self, fake: FakeService) -> FaultRule:
        """Make the fake apply the action's next write and lose its answer."""
        return fake.faults.answer_lost(method="POST")

    async def valid_webhook(
        self, fake: FakeService, connector: Connector[Any]
    ) -> WebhookRequest:
        """Return a delivery the fake signed, as the handler would receive it."""
        raise NotImplementedError(f"{type(self).__name__} makes no webhooks.")

    async def forged_webhook(
        self, fake: FakeService, connector: Connector[Any]
    ) -> WebhookRequest:
        """Return a forged delivery; by default a valid one with its body altered.

        Override it for schemes where the proof does not cover the body,
        such as a shared token.
        """
        valid = await self.valid_webhook(fake, connector)
        return dataclasses.replace(valid, body=valid.body + b" ")

    def secrets(self, fake: FakeService) -> Sequence[str]:
        """Return the values that must never appear in logs or errors."""
        return list(fake.secrets())


class ConformanceKit:
    """One clock, one fake and the connectors built on it, for one test.

    Attributes:
        harness: the harness in use.
        clock: the virtual clock shared by the fake and every connector.
        fake: the fake service.
    """

    def __init__(self, harness: ConformanceHarness) -> None:
        self.harness = harness
        self.clock = VirtualClock()
        self.fake = harness.make_fake(self.clock, harness.seed)
        self._connectors: list[Connector[Any]] = []

    def connector(self, transport: Any = None) -> Connector[Any]:
        """Build a fresh connector, with a fresh context, reaching the fake."""
        context = memory_context(
            self.clock, transport=transport or self.fake.transport()
        )
        connector = self.harness.make_connector(self.fake, context)
        self._connectors.append(connector)
        return connector

    def stream(self, connector: Connector[Any] | None = None) -> Stream:
        """Return the checked stream of ``connector`` (a fresh one by default)."""
        connector = connector or self.connector()
        for stream in connector.streams():
            if stream.name == self.harness.stream:
                return stream
        names = [s.name for s in connector.streams()]
        msg = f"The connector has no stream {self.harness.stream!r}; it has {names!r}."
        raise LookupError(msg)

    async def seed_pages(self) -> list[str]:
        """Insert three full pages and a partial one, then let them settle."""
        size = self.harness.page_size
        ids = await self.harness.insert(self.fake, 3 * size + max(1, size // 2))
        self.let_settle()
        return ids

    def let_settle(self) -> None:
        """Let changes reach the stream's reads: ``settle`` and one second more."""
        self.clock.advance(self.harness.settle + 1)

    def add_read_fault(self, kind: str, **options: Any) -> FaultRule:
        """Add a fault of ``kind`` aimed at the requests that read the stream."""
        return self.fake.faults.add(
            kind,
            method=self.harness.read_method,
            path=self.harness.read_path,
            **options,
        )

    def lose_read_answer(self, **options: Any) -> FaultRule:
        """Make the fake answer a read and lose the answer; see ``answer_lost``."""
        return self.fake.faults.answer_lost(
            method=self.harness.read_method, path=self.harness.read_path, **options
        )

    async def __aenter__(self) -> ConformanceKit:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for connector in self._connectors:
            await connector.aclose()
