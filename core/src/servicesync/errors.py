"""The exceptions servicesync raises, grouped by what the caller should do.

::

    ServiceSyncError
    ├── ConfigError                 a config file is wrong; fix it and run again
    ├── StoreError                  the store cannot be opened, migrated or written
    ├── PluginError                 a plugin broke the hook contract
    └── ConnectorError              something went wrong talking to a service
        ├── RetryableError          try the same call again later
        │   ├── RateLimited         the service asked us to slow down
        │   └── ServiceUnavailable  a 5xx, a timeout or a dropped connection
        ├── RecordError             skip this record, quarantine it, go on
        │   └── MappingError        the record does not fit the domain model
        └── FatalError              give up this run; a person must act
            ├── AuthenticationError the credentials were refused
            ├── MalformedResponse   the service answered something we cannot read
            └── WebhookRejected     an incoming delivery failed its signature check

A connector turns transport errors into these at one boundary, with
``raise ... from exc``. Messages never carry a secret: build them from
redacted values only.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "ConfigError",
    "ConnectorError",
    "FatalError",
    "MalformedResponse",
    "MappingError",
    "PluginError",
    "QuarantineLimitExceeded",
    "RateLimited",
    "RecordError",
    "RetryableError",
    "ServiceSyncError",
    "ServiceUnavailable",
    "StoreError",
    "WebhookRejected",
]


class ServiceSyncError(Exception):
    """The root of every error servicesync raises on purpose."""


class ConfigError(ServiceSyncError):
    """A config file, or a value in it, is not what servicesync expects.

    Attributes:
        path: the file that was read, when there was one.
        key: the dotted key that is wrong, when one key is to blame.
    """

    def __init__(
        self, message: str, *, path: str | None = None, key: str | None = None
    ):
        self.path = path
        self.key = key
        where = ": ".join(part for part in (path, key) if part)
        super().__init__(f"{where}: {message}" if where else message)


class StoreError(ServiceSyncError):
    """The store could not be opened, migrated or written."""


class QuarantineLimitExceeded(ServiceSyncError):
    """A run refused a larger share of what it read than its connection allows.

    What the run took in so far is kept, refused records included (in the
    quarantine); the stream resumes after the last page taken in.
    """


class PluginError(ServiceSyncError):
    """A plugin broke the hook contract.

    Attributes:
        plugin: the name of the plugin at fault.
    """

    def __init__(self, message: str, *, plugin: str):
        self.plugin = plugin
        super().__init__(message)


class ConnectorError(ServiceSyncError):
    """A connector could not do what it was asked.

    Attributes:
        service: the service's name, such as ``"bitrix24"``.
        endpoint: the method or path that failed, already redacted.
    """

    def __init__(self, message: str, *, service: str = "", endpoint: str = "") -> None:
        self.service = service
        self.endpoint = endpoint
        super().__init__(message)


class RetryableError(ConnectorError):
    """The call may succeed if made again later."""


class RateLimited(RetryableError):
    """The service asked us to slow down.

    Attributes:
        retry_after: seconds the service asked us to wait at least, or
            ``None`` when it gave no hint (a ``Retry-After`` of 0 counts as
            no hint).
    """

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        service: str = "",
        endpoint: str = "",
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, service=service, endpoint=endpoint)


class ServiceUnavailable(RetryableError):
    """A 5xx answer, a timeout or a dropped connection."""


class RecordError(ConnectorError):
    """One record cannot be processed; the run skips it and goes on."""


class MappingError(RecordError):
    """A record does not fit the domain model, for example an unmapped stage."""


class FatalError(ConnectorError):
    """The run cannot go on until a person acts."""


class AuthenticationError(FatalError):
    """The service refused the credentials."""


class MalformedResponse(FatalError):
    """The service answered with something that is not what its API describes."""


class WebhookRejected(FatalError):
    """An incoming webhook delivery failed its check and was ignored.

    Attributes:
        status: the HTTP status to answer the sender with.
    """

    def __init__(self, message: str, *, status: int = 401, service: str = "") -> None:
        self.status = status
        super().__init__(message, service=service)
