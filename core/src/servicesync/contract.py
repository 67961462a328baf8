"""The contracts where the engine, the SDK and every connector meet.

A plugin contributes :class:`Connector` classes. A connector, built from its
config and a :class:`ConnectorContext`, offers:

* streams: async iterators of :class:`Page` objects read within a
  :class:`StreamState` window, each page carrying raw records, a hash of each
  raw payload, and the state to commit together with them;
* actions: writes to the service that take a deduplication key and can find
  the object an earlier attempt with the same key created;
* a webhook handler: a raw request in, an answer, a delivery key and the
  records to re-read out;
* optionally, a webhook registrar: what ``servicesync webhooks`` uses to have
  the service post to the daemon, and to list, renew and remove what it made.

Everything here is data and abstract behaviour; the SDK provides base classes
that make the common cases short.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Final, Generic, Protocol, TypeVar

import httpx
import orjson
import xxhash
from pydantic import AwareDatetime, BaseModel, ConfigDict

from servicesync._clock import Clock
from servicesync.jsonparse import parse_json

__all__ = [
    "Action",
    "ActionResult",
    "BudgetStore",
    "Connector",
    "ConnectorConfig",
    "ConnectorContext",
    "CredentialVault",
    "NamedLocks",
    "Page",
    "PluginState",
    "Record",
    "RecordRef",
    "RegisteredWebhook",
    "Stream",
    "StreamState",
    "WebhookHandler",
    "WebhookRegistrar",
    "WebhookRequest",
    "WebhookResponse",
    "canonical_payload",
    "payload_hash",
    "text_hash",
]

# Dates and dataclasses go through ``default=str``, as they did with json.
_HASH_OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
)


def payload_hash(payload: Mapping[str, Any]) -> str:
    """Return a stable hash of a raw payload, independent of key order.

    Two payloads with the same content hash alike, so a record read again
    unchanged is recognised before anything parses it. The digest is
    XXH3's 128 bits: every record of every page is hashed, and it is six
    times faster than BLAKE2b here. It guards against chance, not against
    a payload made to collide, which is all that telling "unchanged" from
    "changed" asks of it.
    """
    return text_hash(canonical_payload(payload))


def text_hash(text: bytes) -> str:
    """Return the hash of a payload's JSON text, byte for byte.

    The XXH3 :func:`payload_hash` takes of the canonical form, taken here of
    the text as the service sent it.
    """
    return xxhash.xxh3_128_hexdigest(text)


def canonical_payload(payload: Mapping[str, Any]) -> bytes:
    """Return a payload as sorted, compact JSON: what its hash is taken of."""
    try:
        # orjson writes sorted, compact JSON several times faster than the
        # json module; every record of every page goes through here.
        return orjson.dumps(payload, default=str, option=_HASH_OPTIONS)
    except TypeError:
        # Values orjson refuses (integers past 64 bits, keys that are not
        # strings) still hash, through the slower encoder.
        return json.dumps(
            payload, sort_keys=True, separators=(",", ":"), default=str
        ).encode()


class StreamState(BaseModel):
    """Where a stream stands; one model for every connector.

    A run fixes a window ``[window_start, window_end)`` from the service's own
    time, reads it in pages, and records after each page the point to resume
    from. When the window completes, ``window_end`` becomes ``cursor`` and the
    window is cleared. A full refresh starts from an empty state.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    cursor: AwareDatetime | None = None
    window_start: AwareDatetime | None = None
    window_end: AwareDatetime | None = None
    resume_after: str | None = None
    tokens: dict[str, str] = {}

    @property
    def in_window(self) -> bool:
        """Whether a window was opened and not yet completed."""
        return self.window_end is not None

    def open_window(self, start: datetime | None, end: datetime) -> StreamState:
        """Return the state of a window just opened, with no resume point."""
        return self.model_copy(
            update={"window_start": start, "window_end": end, "resume_after": None}
        )

    def resume_at(self, position: str) -> StreamState:
        """Return the state with the resume point moved to ``position``."""
        return self.model_copy(update={"resume_after": position})

    def complete_window(self) -> StreamState:
        """Return the state after the open window was read to its end."""
        return self.model_copy(
            update={
                "cursor": self.window_end,
                "window_start": None,
                "window_end": None,
                "resume_after": None,
            }
        )


class Record:
    """One raw record as the service gave it.

    A record is a value: its attributes are final (mypy refuses to set
    them), and its payload, once parsed, is the same on every read.

    Attributes:
        external_id: the service's id of the record, always a string.
        payload: the raw record, untouched. A record made by :meth:`from_json`
            parses its text the first time ``payload`` is read.
        hash: the payload's hash: :func:`payload_hash` of ``payload``, or for
            a record made by :meth:`from_json`, :func:`text_hash` of its text.
        deleted: true when the stream learned that the record is gone.
    """

    __slots__ = ("_payload", "_text", "deleted", "external_id", "hash")

    def __init__(
        self,
        external_id: str,
        payload: Mapping[str, Any] | None,
        hash: str,
        deleted: bool = False,
        *,
        text: bytes | None = None,
    ) -> None:
        """Make a record of ``payload``, or of ``text`` when ``payload`` is None."""
        if payload is None and text is None:
            raise TypeError("A record needs its payload or the JSON text of it.")
        self.external_id: Final = external_id
        self._payload = payload
        self._text: Final = text
        self.hash: Final = hash
        self.deleted: Final = deleted

    @classmethod
    def of(cls, external_id: object, payload: Mapping[str, Any]) -> Record:
        """Build a record, hashing its payload."""
        return cls(str(external_id), payload, payload_hash(payload))

    @classmethod
    def from_json(cls, external_id: object, text: bytes) -> Record:
        """Build a record from the JSON text of its payload, as the service sent it.

        The text is hashed, not its parse: a record read again unchanged is
        recognised by a fraction of a microsecond's work and never parsed.
        A service writes the same record as the same text, so the hash
        changes only when the record does (or, rarely, how the service
        writes it, which costs one needless parse and upsert).
        """
        return cls(str(external_id), None, text_hash(text), text=text)

    @property
    def text(self) -> bytes | None:
        """The JSON text the record was made from, if it was made from one."""
        return self._text

    @property
    def payload(self) -> Mapping[str, Any]:
        """The raw record, parsed from its text on first use if it has one."""
        payload = self._payload
        if payload is None:
            payload = self._payload = parse_json(self._text or b"")
        return payload

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record):
            return NotImplemented
        return (self.external_id, self.hash, self.deleted, self.payload) == (
            other.external_id,
            other.hash,
            other.deleted,
            other.payload,
        )

    __hash__ = None  # type: ignore[assignment]  # equal payloads need not hash

    def __repr__(self) -> str:
        return (
            f"Record(external_id={self.external_id!r}, hash={self.hash!r}, "
            f"deleted={self.deleted!r})"
        )


@dataclass(frozen=True, slots=True)
class Page:
    """A page of records and the state to commit in the same transaction."""

    records: Sequence[Record]
    checkpoint: StreamState


@dataclass(frozen=True, slots=True)
class RecordRef:
    """Names one record of one stream, for a webhook to ask for a re-read."""

    stream: str
    external_id: str


class ConnectorConfig(BaseModel):
    """Base of every connector's config; unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")


class Stream(ABC):
    """A kind of record a connector reads, such as deals or issues.

    Attributes:
        name: the stream's name, unique within its connector.
        record_type: the domain type its records map to, such as ``"deal"``.
        primary_key: the payload key holding the record's id.
        incremental: whether :meth:`read` honours the state's cursor; a full
            stream reads everything every time.
    """

    name: ClassVar[str]
    record_type: ClassVar[str]
    primary_key: ClassVar[str] = "id"
    incremental: ClassVar[bool] = True

    @abstractmethod
    def read(self, state: StreamState) -> AsyncIterator[Page]:
        """Yield pages from ``state`` on; each page's checkpoint resumes after it."""

    async def read_records(
        self, external_ids: Sequence[str]
    ) -> Sequence[Record] | None:
        """Read the named records again, as a webhook delivery asks.

        Returns:
            The records as the service has them now, leaving out ids it no
            longer knows; or ``None`` when the stream cannot read single
            records, in which case the engine reads the stream from its
            saved state instead.
        """
        return None


class ActionResult(BaseModel):
    """What an action created or changed in the service.

    Attributes:
        failed: the parts of the action that did not take, each item's
            ``ref`` with the service's reason. An action with failures is
            not confirmed: the next attempt asks :meth:`Action.find` for what
            was made and sends only the rest.
    """

    external_id: str
    url: str | None = None
    data: dict[str, Any] = {}
    failed: dict[str, str] = {}


P = TypeVar("P", bound=BaseModel)


class Action(ABC, Generic[P]):
    """A write to a service that is safe to attempt more than once.

    The engine records each attempt in its journal before the call. When an
    attempt's outcome is unknown (a crash, a lost answer), the next attempt
    calls :meth:`find` with the same deduplication key before writing again.

    Attributes:
        name: the action's name, such as ``"create_project"``.
        params_model: the pydantic model of its parameters.
    """

    name: ClassVar[str]
    params_model: ClassVar[type[BaseModel]]

    @abstractmethod
    async def find(self, dedup_key: str, params: P) -> ActionResult | None:
        """Return what an earlier attempt with ``dedup_key`` made, or ``None``."""

    @abstractmethod
    async def execute(self, dedup_key: str, params: P) -> ActionResult:
        """Make the write, marking what it creates with ``dedup_key``."""


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """An incoming HTTP request, with its body exactly as received."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes
    query: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        """Return a header's value, whatever the case of its name."""
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None


@dataclass(frozen=True, slots=True)
class WebhookResponse:
    """What to answer the sender, and what the delivery asks the engine to do.

    Attributes:
        status: the HTTP status to answer with.
        body: the body to answer with.
        headers: headers to answer with (a handshake may echo a secret).
        delivery_key: identifies the delivery, so a replay is recognised;
            ``None`` for a handshake that carries no event.
        references: records to re-read because of this delivery.
        key_may_repeat: the service names no event id, so two distinct
            changes can share a key (events stamped to the second, say).
            A repeated key then still leads to a re-read, which is
            harmless: reading a record again changes nothing that did not
            change.
    """

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delivery_key: str | None = None
    references: Sequence[RecordRef] = ()
    key_may_repeat: bool = False


class WebhookHandler(ABC):
    """Checks and reads the deliveries a service posts to servicesync."""

    @abstractmethod
    async def handle(self, request: WebhookRequest) -> WebhookResponse:
        """Verify ``request`` and say what it means.

        Raises:
            WebhookRejected: the signature or token is wrong; nothing may
                change because of this request.
        """


@dataclass(frozen=True, slots=True)
class RegisteredWebhook:
    """A webhook a service holds for a connection.

    Attributes:
        external_id: the service's name for it: the webhook's id, or the
            event, where the service binds one handler per event.
        url: where the service posts deliveries.
        expires_at: when the service stops posting unless the webhook is
            refreshed; ``None`` when it never expires.
        secret: the secret deliveries are signed with, when it belongs to
            this webhook alone (a fresh one servicesync chose, or one the
            service issued). The store keeps it encrypted. ``None`` when the
            signing secret is the connection's own, from its config.
    """

    external_id: str
    url: str
    expires_at: datetime | None = None
    secret: str | None = field(default=None, repr=False)


class WebhookRegistrar(ABC):
    """Registers a connection's webhooks at its service, and looks after them.

    ``servicesync webhooks`` drives it: ``register`` asks the service to post
    to the daemon's ``/webhooks/CONNECTION`` route, which answers whatever
    handshake the service makes meanwhile (Trello's ``HEAD``, Asana's echoed
    secret); the store keeps what was registered, so that ``list`` can show
    differences, ``refresh`` can renew webhooks that expire and ``remove``
    can delete them.

    Attributes:
        wants_secret: whether the service signs each webhook with a secret
            the caller picks; :meth:`register` is then given a fresh one.
    """

    wants_secret: ClassVar[bool] = False

    def manual_steps(self, url: str) -> str | None:
        """Say how to set webhooks up by hand, when the API cannot.

        Some credentials may not register webhooks (an API token where only
        apps may; an incoming webhook where only applications bind events).

        Returns:
            ``None`` when :meth:`register` works; otherwise the steps to take
            in the service's UI, naming ``url`` to paste there and the config
            key that takes the secret or token the service shows.
        """
        return None

    @abstractmethod
    async def register(
        self, url: str, secret: str | None
    ) -> Sequence[RegisteredWebhook]:
        """Have the service post this connection's changes to ``url``.

        Registering again at the same URL makes no duplicates: what the
        service already holds there is returned as registered.

        Args:
            url: the daemon's public webhook URL for this connection.
            secret: a fresh secret to sign with, when :attr:`wants_secret`.

        Returns:
            Every webhook the service now holds at ``url`` for this
            connection.
        """

    async def webhooks(self) -> Sequence[RegisteredWebhook] | None:
        """Return the webhooks the service holds for this connection.

        Returns ``None`` when the service's API cannot list them.
        """
        return None

    async def refresh(
        self, webhooks: Sequence[RegisteredWebhook]
    ) -> Sequence[RegisteredWebhook]:
        """Renew webhooks that expire; return those renewed, with their expiry.

        A webhook left out of the result was not renewed: the service no
        longer holds it. By default nothing expires and every webhook is
        returned as it was.
        """
        return list(webhooks)

    @abstractmethod
    async def remove(self, webhook: RegisteredWebhook) -> None:
        """Delete ``webhook`` at the service; one already gone is no error."""


class CredentialVault(Protocol):
    """Encrypted storage for secrets a connector rotates, such as refresh tokens."""

    def get(self, name: str) -> str | None:
        """Return the secret stored under ``name`` for this connection."""
        ...

    def put(self, name: str, value: str) -> None:
        """Store ``value`` under ``name``, durably, before returning."""
        ...


class BudgetStore(Protocol):
    """Rate-limit budgets shared by every process that talks to one service."""

    def take(
        self, key: str, cost: float, rate: float, burst: float, now: float
    ) -> float:
        """Take ``cost`` from the leaky bucket ``key``; return seconds to wait first.

        The bucket drains ``rate`` units a second and holds ``burst`` at most.
        ``now`` is seconds on a clock every sharing process agrees on.
        """
        ...


class NamedLocks(Protocol):
    """Locks that one process at a time may hold, across processes."""

    def try_acquire(self, name: str, owner: str, ttl: float) -> bool:
        """Take ``name`` for ``owner`` for ``ttl`` seconds; false if it is held."""
        ...

    def release(self, name: str, owner: str) -> None:
        """Give ``name`` back, if ``owner`` holds it."""
        ...


class PluginState(Protocol):
    """A small key-value store private to one connection of one plugin."""

    def get(self, key: str) -> str | None:
        """Return the value stored under ``key``."""
        ...

    def put(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``."""
        ...


@dataclass
class ConnectorContext:
    """What the core hands a connector besides its config.

    Attributes:
        connection: the connection's name in the config.
        clock: the clock to read and wait on.
        credentials: encrypted storage for rotating secrets.
        state: the connection's private key-value store.
        budgets: shared rate-limit budgets, or ``None`` for in-process ones.
        locks: cross-process locks, or ``None`` when only one process runs.
        transport: an httpx transport to use instead of the network, as
            tests and the demo do with fake services.
    """

    connection: str
    clock: Clock
    credentials: CredentialVault
    state: PluginState
    budgets: BudgetStore | None = None
    locks: NamedLocks | None = None
    transport: httpx.AsyncBaseTransport | None = None


C = TypeVar("C", bound=ConnectorConfig)


class Connector(ABC, Generic[C]):
    """One service servicesync can talk to.

    Attributes:
        name: the connector's name, used in configs (``plugin = "jira"``).
        config_model: the pydantic model of its config.
        secret_fields: names of config fields that hold secrets.
    """

    name: ClassVar[str]
    config_model: ClassVar[type[ConnectorConfig]]
    secret_fields: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, config: C, context: ConnectorContext) -> None:
        self.config = config
        self.context = context

    @abstractmethod
    def streams(self) -> Sequence[Stream]:
        """Return the streams this connection can read."""

    def actions(self) -> Mapping[str, Action[Any]]:
        """Return the actions this connection can perform, by name."""
        return {}

    def webhook_handler(self) -> WebhookHandler | None:
        """Return the handler for incoming deliveries, or ``None``."""
        return None

    def webhook_registrar(self) -> WebhookRegistrar | None:
        """Return what registers this connection's webhooks, or ``None``.

        ``None`` means servicesync cannot set up webhooks for this connector
        at all; a registrar whose :meth:`WebhookRegistrar.manual_steps` gives
        steps means it can, but by hand.
        """
        return None

    def map_record(
        self, stream: str, payload: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """Turn a raw record into domain fields, by the plugin's default mapping.

        The result is a flat mapping of domain field names (see
        :mod:`servicesync.engine` for the fields of each record type) to
        plain values; the config's mapping of the connection refines it.
        Return ``None`` for streams that are not mapped to the domain.

        Raises:
            MappingError: the record cannot be mapped, and why.
        """
        return None

    async def check(self) -> None:
        """Make one cheap authenticated call; raise if the connection is unusable."""

    def call_counts(self) -> Mapping[str, int]:
        """Return running totals of this connection's calls, for metrics.

        The keys the daemon exports are ``calls``, ``retries``, ``slow_downs``
        (429s and the services' other "slow down" answers) and ``errors``;
        a connector that does not count returns an empty mapping.
        """
        return {}

    async def aclose(self) -> None:
        """Release what the connector holds open, such as HTTP connections."""
