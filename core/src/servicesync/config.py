"""Reading and checking ``servicesync.toml``.

The file names the store, the plugins to load, the connections (which plugin,
its settings, a small field and value mapping) and the flows between them.
Secrets are written as references to environment variables, ``${NAME}``; a
secret written in clear is accepted with a warning, and is never printed,
logged or stored in clear.

A broken file raises :class:`~servicesync.errors.ConfigError` naming the
file, the key and what was expected; loading writes nothing anywhere.
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from servicesync.errors import ConfigError

__all__ = [
    "SYNCED_FIELDS",
    "Config",
    "ConnectionConfig",
    "DaemonConfig",
    "FlowConfig",
    "Mapping_",
    "OwnershipConfig",
    "ScheduleConfig",
    "Side",
    "StoreConfig",
    "load_config",
    "parse_config",
]

logger = logging.getLogger(__name__)

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

# Settings whose names look like these hold secrets, whatever the plugin says.
_SECRET_NAME = re.compile(
    r"(token|secret|password|passwd|api_key|apikey|webhook_url|private_key|credential)",
    re.IGNORECASE,
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StoreConfig(_Strict):
    """Where servicesync keeps its data."""

    url: str = Field(
        default="sqlite:///servicesync.db",
        description="SQLAlchemy URL; a relative SQLite path starts at the config.",
    )


class PluginsConfig(_Strict):
    """Which installed plugins load; all of them when ``enabled`` is not set."""

    enabled: list[str] | None = None


class Mapping_(_Strict):
    """How a connection's records become domain records.

    Attributes:
        fields: source field to domain field, such as
            ``UF_CRM_SERVICE = "service"``.
        values: per domain field, a source value to a domain value, such as
            ``stage = {"C1:NEW" = "acquaintance"}``.
    """

    fields: dict[str, str] = {}
    values: dict[str, dict[str, str]] = {}


class ScheduleConfig(_Strict):
    """When the daemon syncs a connection: every so many seconds, or by cron.

    Both forms become one cron expression (:meth:`as_cron`), so that every
    daemon sharing a database fires a schedule at the same instants. An
    interval must therefore divide a minute, an hour or a day evenly;
    anything else is written as cron. A cron expression may carry a sixth
    field for seconds.
    """

    every: Annotated[int, Field(gt=0)] | None = None
    cron: str | None = None

    @field_validator("cron")
    @classmethod
    def _cron_parses(cls, value: str | None) -> str | None:
        if value is not None:
            from croniter import croniter

            if not croniter.is_valid(value):
                raise ValueError(f"{value!r} is not a cron expression")
        return value

    @model_validator(mode="after")
    def _one_form(self) -> ScheduleConfig:
        if self.every is not None and self.cron is not None:
            raise ValueError("give either 'every' or 'cron', not both")
        if self.every is not None:
            _interval_cron(self.every)
        return self

    def as_cron(self) -> str | None:
        """Return the schedule as cron, or ``None`` when there is none."""
        if self.every is not None:
            return _interval_cron(self.every)
        return self.cron


def _interval_cron(seconds: int) -> str:
    """Return the cron expression that fires every ``seconds``."""
    if seconds < 60 and 60 % seconds == 0:
        return f"* * * * * */{seconds}"
    minutes, rest = divmod(seconds, 60)
    if not rest and minutes < 60 and 60 % minutes == 0:
        return f"*/{minutes} * * * *"
    hours, rest = divmod(seconds, 3600)
    if not rest and hours <= 24 and 24 % hours == 0:
        return f"0 */{hours} * * *" if hours < 24 else "0 0 * * *"
    raise ValueError(
        f"every = {seconds} does not divide a minute, an hour or a day evenly; "
        "write the schedule as cron instead"
    )


class DaemonConfig(_Strict):
    """How ``servicesync daemon`` listens, and how fast it notices a dead peer."""

    host: str = Field(default="127.0.0.1", description="Address to listen on.")
    port: Annotated[int, Field(ge=0, le=65535)] = Field(
        default=8470, description="Port for webhooks, health and metrics; 0 picks one."
    )
    public_url: str | None = Field(
        default=None,
        description="The URL services reach this daemon at, for webhook registration.",
    )
    heartbeat_seconds: Annotated[float, Field(gt=0)] = Field(
        default=10.0, description="How often a daemon says it is alive."
    )
    stall_seconds: Annotated[float, Field(gt=0)] = Field(
        default=60.0,
        description="A daemon silent this long is dead; its work is taken over.",
    )
    shutdown_grace_seconds: Annotated[float, Field(ge=0)] = Field(
        default=30.0,
        description="On SIGTERM, how long a running sync may take to finish.",
    )
    concurrency: Annotated[int, Field(ge=1, le=64)] = Field(
        default=1,
        description=(
            "Syncs of different connections one daemon runs at once, on "
            "PostgreSQL; a connection's syncs never overlap. SQLite runs one."
        ),
    )

    @model_validator(mode="after")
    def _stall_after_heartbeats(self) -> DaemonConfig:
        if self.stall_seconds <= 2 * self.heartbeat_seconds:
            raise ValueError(
                "stall_seconds must be more than twice heartbeat_seconds, or a "
                "live daemon could be taken for dead"
            )
        return self


class ConnectionConfig(_Strict):
    """One connection to one service through one plugin's connector.

    ``max_quarantined_share`` is the share of a run's records that may go to
    the quarantine before the run stops and fails: a mapping that refuses
    more than that is likelier broken than the records.
    """

    plugin: str
    enabled: bool = True
    read_only: bool = False
    settings: dict[str, Any] = {}
    mapping: Mapping_ = Mapping_()
    schedule: ScheduleConfig = ScheduleConfig()
    max_quarantined_share: float = Field(default=0.5, ge=0.0, le=1.0)


#: A side of a deal and its project: the CRM, or the delivery tool.
Side = Literal["crm", "delivery"]

#: The fields two-way consistency keeps between a deal and its project, with
#: the side that owns each unless the flow's ``ownership`` says otherwise: the
#: CRM owns what was sold, the delivery tool owns how the work goes.
SYNCED_FIELDS: dict[str, Side] = {
    "title": "crm",
    "amount": "crm",
    "currency": "crm",
    "client": "crm",
    "scope": "crm",
    "status": "delivery",
    "progress": "delivery",
    "percent": "delivery",
    "milestone": "delivery",
    "delivery_date": "delivery",
}

_OWNERSHIP_KEYS = frozenset({"default", "non_owner", "fields"})


def _known_fields(names: Iterable[str], where: str) -> None:
    """Refuse a name that is not one of :data:`SYNCED_FIELDS`, listing those."""
    unknown = sorted(set(names) - set(SYNCED_FIELDS))
    if unknown:
        known = ", ".join(SYNCED_FIELDS)
        msg = (
            f"{where} names {unknown[0]!r}, which is no synced field; "
            f"the fields are: {known}"
        )
        raise ValueError(msg)


class OwnershipConfig(_Strict):
    """Which side owns each field a two-way flow keeps, and what other edits do.

    In TOML the fields are keys of the table itself::

        [flows.won_deal.ownership]
        default = "crm"        # owner of every field not listed
        non_owner = "revert"   # or "carry"
        delivery_date = "delivery"

    Attributes:
        default: the owner of the fields not listed; when not given, each
            field keeps its owner from :data:`SYNCED_FIELDS`.
        non_owner: what a change made only on the side that does not own a
            field does: ``carry`` takes it to the owner's side as if made
            there; ``revert`` sets it back to the owner's value, with a
            comment on the deal saying why.
        fields: owner by field name.
    """

    default: Side | None = None
    non_owner: Literal["carry", "revert"] = "carry"
    fields: dict[str, Side] = {}

    @model_validator(mode="before")
    @classmethod
    def _fields_at_top(cls, data: Any) -> Any:
        """Take ``field = "crm"`` keys of the table itself as ``fields``."""
        if not isinstance(data, dict):
            return data
        fields = dict(data.get("fields") or {})
        fields.update({k: v for k, v in data.items() if k not in _OWNERSHIP_KEYS})
        kept = {k: v for k, v in data.items() if k in _OWNERSHIP_KEYS}
        return {**kept, "fields": fields}

    @field_validator("fields")
    @classmethod
    def _fields_are_known(cls, value: dict[str, Side]) -> dict[str, Side]:
        _known_fields(value, "the ownership table")
        return value

    def owner(self, field: str) -> Side:
        """Return the side that owns ``field``."""
        if field in self.fields:
            return self.fields[field]
        return self.default or SYNCED_FIELDS[field]


class FlowConfig(_Strict):
    """A flow between connections, such as a project made for a won deal."""

    type: Literal["won_deal"]
    source: str = Field(description="The CRM connection the deals come from.")
    target: str = Field(description="The delivery connection projects are made in.")
    on_stage: str = Field(
        default="contract_signed", description="The funnel stage that fires the flow."
    )
    enabled: bool = True
    since: str | None = Field(
        default=None, description="Only changes after this ISO date fire the flow."
    )
    on_lost: Literal["leave", "mark", "archive"] = "mark"
    link_field: str | None = Field(
        default="UF_CRM_SERVICESYNC_PROJECT",
        description="The deal field that receives the project's link; none to skip.",
    )
    pinned: dict[str, list[str]] = Field(
        default={}, description="Role to expert emails that are always on the team."
    )
    two_way: bool = Field(
        default=False,
        description="Keep the deal and its project consistent once it is made.",
    )
    ownership: OwnershipConfig = OwnershipConfig()
    deal_fields: dict[str, str] = Field(
        default={},
        description="Synced field to the deal field that holds it in the CRM.",
    )
    deal_values: dict[str, dict[str, str]] = Field(
        default={},
        description="Per synced field, a value to the value the CRM field takes.",
    )

    @field_validator("deal_fields")
    @classmethod
    def _deal_fields_are_known(cls, value: dict[str, str]) -> dict[str, str]:
        _known_fields(value, "deal_fields")
        if "client" in value:
            raise ValueError(
                "deal_fields cannot name a field for 'client': the client is a "
                "company record of the CRM, not a value of the deal"
            )
        return value

    @field_validator("deal_values")
    @classmethod
    def _deal_values_are_known(
        cls, value: dict[str, dict[str, str]]
    ) -> dict[str, dict[str, str]]:
        _known_fields(value, "deal_values")
        return value


class Config(_Strict):
    """The whole of ``servicesync.toml``."""

    store: StoreConfig = StoreConfig()
    plugins: PluginsConfig = PluginsConfig()
    connections: dict[str, ConnectionConfig] = {}
    flows: dict[str, FlowConfig] = {}
    daemon: DaemonConfig = DaemonConfig()

    #: Where the file was read from; relative paths in it are read from its folder.
    _path: Path | None = None
    _secrets: frozenset[str] = frozenset()

    @field_validator("connections")
    @classmethod
    def _names_are_identifiers(
        cls, value: dict[str, ConnectionConfig]
    ) -> dict[str, ConnectionConfig]:
        for name in value:
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", name):
                raise ValueError(
                    f"a connection name must start with a letter and hold only "
                    f"letters, digits, '-' and '_', not {name!r}"
                )
        return value

    @property
    def path(self) -> Path | None:
        """The file this config was read from."""
        return self._path

    @property
    def secret_values(self) -> frozenset[str]:
        """Every secret value the config holds, for redaction."""
        return self._secrets

    def store_url(self) -> str:
        """Return the store's URL with a relative SQLite path made absolute."""
        url = self.store.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and self._path:
            relative = url[len(prefix) :]
            if relative and relative != ":memory:":
                return prefix + str((self._path.parent / relative).resolve())
        return url

    def connection(self, name: str) -> ConnectionConfig:
        """Return the connection called ``name``, or raise a ConfigError naming it."""
        try:
            return self.connections[name]
        except KeyError:
            known = ", ".join(sorted(self.connections)) or "none"
            msg = f"There is no connection {name!r}; the config defines: {known}."
            raise ConfigError(msg, path=str(self._path or "")) from None

    def __repr_args__(self) -> Any:
        # Settings may hold secrets; keep them out of every repr.
        for key, value in super().__repr_args__():
            yield key, ("<connections>" if key == "connections" else value)


def load_config(
    path: str | os.PathLike[str], *, env: Mapping[str, str] | None = None
) -> Config:
    """Read, resolve and validate a config file.

    Args:
        path: the TOML file.
        env: the environment to resolve ``${NAME}`` references from;
            ``os.environ`` when not given.

    Raises:
        ConfigError: the file is missing, is not TOML, refers to an unset
            variable, or does not fit the model.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        msg = "The config file does not exist; create one with 'servicesync init'."
        raise ConfigError(msg, path=str(file)) from None
    except OSError as exc:
        raise ConfigError(
            f"The config file cannot be read: {exc.strerror}.", path=str(file)
        ) from None
    return parse_config(text, path=file, env=env)


def parse_config(
    text: str, *, path: Path | None = None, env: Mapping[str, str] | None = None
) -> Config:
    """Parse config text; see :func:`load_config`."""
    where = str(path) if path else "<config>"
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"This is not valid TOML: {exc}.", path=where) from None

    secrets: set[str] = set()
    resolved = _resolve(raw, env if env is not None else os.environ, where, (), secrets)
    try:
        config = Config.model_validate(resolved)
    except ValidationError as exc:
        raise _config_error(exc, where) from None
    config._path = path.resolve() if path else None
    config._secrets = frozenset(secrets)
    return config


def _resolve(
    node: Any,
    env: Mapping[str, str],
    where: str,
    keys: tuple[str, ...],
    secrets: set[str],
) -> Any:
    if isinstance(node, dict):
        return {
            k: _resolve(v, env, where, (*keys, k), secrets) for k, v in node.items()
        }
    if isinstance(node, list):
        return [
            _resolve(v, env, where, (*keys, str(i)), secrets)
            for i, v in enumerate(node)
        ]
    if not isinstance(node, str):
        return node

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            msg = f"The environment variable {name!r} it refers to is not set."
            raise ConfigError(msg, path=where, key=".".join(keys))
        value = env[name]
        secrets.add(value)
        return value

    value = _REFERENCE.sub(substitute, node)
    if value == node and _looks_secret(keys) and node:
        logger.warning(
            "%s: %s holds a secret in clear; write it as ${VARIABLE} instead.",
            where,
            ".".join(keys),
        )
        secrets.add(node)
    return value


def _looks_secret(keys: tuple[str, ...]) -> bool:
    return (
        len(keys) >= 3
        and keys[0] == "connections"
        and bool(_SECRET_NAME.search(keys[-1]))
    )


def _config_error(exc: ValidationError, where: str) -> ConfigError:
    problems = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"])
        what = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
        problems.append((key, what))
    if len(problems) == 1:
        key, what = problems[0]
        return ConfigError(f"{what}.", path=where, key=key)
    listed = "; ".join(f"{key}: {what}" for key, what in problems)
    return ConfigError(f"{len(problems)} problems: {listed}.", path=where)
