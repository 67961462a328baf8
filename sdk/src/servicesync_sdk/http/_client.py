"""The HTTP client every connector talks to its service through."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, NoReturn, TypedDict, Unpack

import httpx

# Importing the core's log module masks known secrets and webhook codes in
# the request lines httpx and httpcore log themselves, even when no
# application has set up logging.
import servicesync.logs  # noqa: F401
from servicesync import Clock
from servicesync.errors import (
    AuthenticationError,
    ConnectorError,
    MalformedResponse,
    RateLimited,
    ServiceUnavailable,
)
from servicesync.jsonparse import parse_json
from servicesync.redaction import Redactor
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
)

from servicesync_sdk.http._limits import Limiter
from servicesync_sdk.http._retry import (
    RetryPolicy,
    retryable,
    stop_after_clock,
    wait_server_hint,
)
from servicesync_sdk.http._slowdown import (
    SlowDownClassifier,
    SlowedDown,
    default_slow_down,
)
from servicesync_sdk.http._stats import ClientStats
from servicesync_sdk.http._throttle import Throttle

__all__ = ["RequestOptions", "ServiceClient"]

logger = logging.getLogger(__name__)

# Methods that leave the service in the same state however often they run.
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class RequestOptions(TypedDict, total=False):
    """Keyword arguments the shortcuts pass on to :meth:`ServiceClient.request`."""

    params: Mapping[str, Any] | None
    json: Any
    data: Mapping[str, Any] | None
    headers: Mapping[str, str] | None
    idempotent: bool | None
    cost: float
    endpoint: str | None


class ServiceClient:
    """An ``httpx.AsyncClient`` that paces, retries, redacts and counts.

    Each call waits for a concurrency slot, for any slow-down the service
    asked for, and for the limiters that model the service's documented
    limits; then it is sent, logged once at INFO with a redacted URL,
    counted, and its answer is sorted: slow-downs, 5xx answers, timeouts and
    dropped connections are retried within ``retry``, 401 and 403 raise
    :class:`~servicesync.errors.AuthenticationError`, and anything else is
    returned to the caller.

    A call that is not idempotent (``POST`` and ``PATCH``, unless the caller
    says otherwise) is sent again only when the service certainly did not
    apply it: after a slow-down answer or a failure to connect. After a
    timeout or a 5xx it raises :class:`~servicesync.errors.ServiceUnavailable`
    at once, so the caller can look for what the first attempt created.

    Example:
        >>> from servicesync import VirtualClock
        >>> client = ServiceClient("https://example.test", clock=VirtualClock())
    """

    def __init__(
        self,
        base_url: str,
        *,
        clock: Clock,
        service: str = "",
        transport: httpx.AsyncBaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | None = None,
        redactor: Redactor | None = None,
        limiters: Throttle | Sequence[Limiter] = (),
        max_concurrency: int = 4,
        retry: RetryPolicy | None = None,
        slow_down: SlowDownClassifier = default_slow_down,
        max_wait: float | None = None,
        timeout: float | httpx.Timeout = 60.0,
    ) -> None:
        """Build a client.

        Args:
            base_url: the service's root URL; relative URLs are joined to it.
            clock: the clock to wait on and to time requests with.
            service: the service's name, put on every error.
            transport: an httpx transport to use instead of the network.
            headers: headers sent with every request.
            auth: httpx authentication, such as ``httpx.BasicAuth``.
            redactor: masks the connection's secrets; seed it with them.
            limiters: the documented limits calls must pass.
            max_concurrency: requests in flight at once, at most.
            retry: how failed calls are retried.
            slow_down: recognises the service's slow-down answers.
            max_wait: the longest a call waits for limiters or a slow-down
                before it gives up with ``RateLimited``; ``None`` waits as
                long as needed.
            timeout: httpx's timeout for each request.
        """
        if max_concurrency < 1:
            msg = (
                "A client needs at least one request in flight, "
                f"not {max_concurrency!r}."
            )
            raise ValueError(msg)
        self.clock = clock
        self.service = service
        self.redactor = redactor or Redactor()
        self.throttle = (
            limiters if isinstance(limiters, Throttle) else Throttle(limiters)
        )
        self.retry = retry or RetryPolicy()
        self.slow_down = slow_down
        self.max_wait = max_wait
        self.stats = ClientStats()
        self.http = httpx.AsyncClient(
            base_url=base_url,
            transport=transport,
            headers=headers,
            auth=auth,
            timeout=timeout,
        )
        self._slots = asyncio.Semaphore(max_concurrency)
        self._blocked: dict[str | None, float] = {}

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        cost: float = 1.0,
        endpoint: str | None = None,
    ) -> httpx.Response:
        """Send a request, pacing and retrying it; return the final response.

        Args:
            method: the HTTP method.
            url: a URL relative to the base URL, or an absolute one.
            params: query parameters.
            json: a body to send as JSON.
            data: a body to send as form fields.
            headers: extra headers for this request.
            idempotent: whether sending the call twice is harmless;
                ``None`` decides from the method.
            cost: what the call costs the cost-counting limiters, such as
                the number of actions in a batch.
            endpoint: the name counters, logs and slow-downs use for the
                call, such as ``"crm.deal.list"``; defaults to the method
                and the redacted path.

        Returns:
            The response, for any status other than those raised below.

        Raises:
            RateLimited: the service kept asking to slow down, or a wait
                would exceed ``max_wait`` or the retry budget.
            ServiceUnavailable: a 5xx, a timeout or a dropped connection
                outlasted the retries, or hit a call that is not idempotent.
            AuthenticationError: the service answered 401 or 403.
        """
        method = method.upper()
        name = endpoint or self._endpoint_name(method, url)
        safe = idempotent if idempotent is not None else method in _IDEMPOTENT
        request = self.http.build_request(
            method, url, params=params, json=json, data=data, headers=headers
        )
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.retry.max_attempts)
            | stop_after_clock(self.clock, self.retry.max_elapsed),
            wait=wait_server_hint(self.retry),
            retry=retry_if_exception(lambda exc: retryable(exc, safe)),
            sleep=self.clock.sleep,
            before_sleep=self._before_retry(request, name),
            reraise=True,
        )
        try:
            response: httpx.Response = await retrying(self._send, request, name, cost)
        except ConnectorError:
            self.stats.count(name, errors=1)
            raise
        return response

    async def get(self, url: str, **options: Unpack[RequestOptions]) -> httpx.Response:
        """Send a ``GET``; see :meth:`request`."""
        return await self.request("GET", url, **options)

    async def post(self, url: str, **options: Unpack[RequestOptions]) -> httpx.Response:
        """Send a ``POST``; see :meth:`request`."""
        return await self.request("POST", url, **options)

    async def put(self, url: str, **options: Unpack[RequestOptions]) -> httpx.Response:
        """Send a ``PUT``; see :meth:`request`."""
        return await self.request("PUT", url, **options)

    async def patch(
        self, url: str, **options: Unpack[RequestOptions]
    ) -> httpx.Response:
        """Send a ``PATCH``; see :meth:`request`."""
        return await self.request("PATCH", url, **options)

    async def delete(
        self, url: str, **options: Unpack[RequestOptions]
    ) -> httpx.Response:
        """Send a ``DELETE``; see :meth:`request`."""
        return await self.request("DELETE", url, **options)

    def json(self, response: httpx.Response, endpoint: str | None = None) -> Any:
        """Return the parsed JSON body of ``response``, as ``json.loads`` gives it.

        Raises:
            MalformedResponse: the body is not JSON.
        """
        try:
            return parse_json(response.content)
        except ValueError as exc:
            where = self.redactor.url(str(response.request.url))
            msg = (
                f"{where} answered {response.status_code} with a body that is "
                "not JSON; the service may be down or behind a proxy."
            )
            name = endpoint or self._endpoint_name(response.request.method, where)
            raise MalformedResponse(msg, service=self.service, endpoint=name) from exc

    def describe(self, request: httpx.Request) -> dict[str, object]:
        """Return a redacted account of ``request``, fit to log or record."""
        return {
            "method": request.method,
            "url": self.redactor.url(str(request.url)),
            "headers": self.redactor.headers(dict(request.headers)),
        }

    async def aclose(self) -> None:
        """Close the underlying connections."""
        await self.http.aclose()

    async def __aenter__(self) -> ServiceClient:
        await self.http.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.http.__aexit__(exc_type, exc, tb)

    async def _send(
        self, request: httpx.Request, name: str, cost: float
    ) -> httpx.Response:
        async with self._slots:
            await self._wait_turn(name, cost)
            where = self.redactor.url(str(request.url))
            started = self.clock.monotonic()
            self.stats.count(name, calls=1)
            try:
                response = await self.http.send(request)
            except httpx.TransportError as exc:
                elapsed = self.clock.monotonic() - started
                logger.info(
                    "%s %s failed after %.3fs: %s",
                    request.method, where, elapsed, type(exc).__name__,
                )  # fmt: skip
                msg = (
                    f"{request.method} {where} failed: {self.redactor.text(str(exc))}."
                )
                raise ServiceUnavailable(
                    msg, service=self.service, endpoint=name
                ) from self._scrub(exc)
            elapsed = self.clock.monotonic() - started
            logger.info(
                "%s %s -> %d in %.3fs",
                request.method, where, response.status_code, elapsed,
            )  # fmt: skip
            self._sort(response, name, where)
            return response

    async def _wait_turn(self, name: str, cost: float) -> None:
        now = self.clock.monotonic()
        blocked = max(self._blocked.get(None, now), self._blocked.get(name, now)) - now
        if blocked > 0:
            self._check_wait(name, blocked)
            self.stats.count(name, waited=blocked)
            await self.clock.sleep(blocked)
        waited = await self.throttle.acquire(
            name, cost, self.clock, max_wait=self.max_wait, service=self.service
        )
        self.stats.count(name, waited=waited)

    def _check_wait(self, name: str, wait: float) -> None:
        if self.max_wait is None or wait <= self.max_wait:
            return
        msg = (
            f"A call to {name!r} would wait {wait:.1f}s for the slow-down the "
            f"service asked for, longer than the {self.max_wait:.1f}s allowed; "
            "resume on a later run."
        )
        raise RateLimited(msg, retry_after=wait, service=self.service, endpoint=name)

    def _sort(self, response: httpx.Response, name: str, where: str) -> None:
        status = response.status_code
        now = self.clock.now()
        slow = self.slow_down(response, name, now) or default_slow_down(
            response, name, now
        )
        if slow is not None:
            self.stats.count(name, slow_downs=1)
            if slow.retry_after is not None:
                self._block(slow.scope, slow.retry_after)
            who = self.service or "The service"
            msg = f"{who} asked to slow down ({slow.reason}) on {where}."
            raise SlowedDown(
                self.redactor.text(msg),
                retry_after=slow.retry_after,
                scope=slow.scope,
                reason=slow.reason,
                service=self.service,
                endpoint=name,
            )
        if status in (401, 403):
            # The credentials were refused or lack a permission: no retry helps.
            self._fail(
                AuthenticationError,
                f"{where} refused the credentials ({status}).",
                name,
            )
        if status >= 500:
            self._fail(ServiceUnavailable, f"{where} answered {status}.", name)

    def _fail(self, kind: type[ConnectorError], msg: str, name: str) -> NoReturn:
        raise kind(msg, service=self.service, endpoint=name)

    def _block(self, scope: str | None, seconds: float) -> None:
        until = self.clock.monotonic() + seconds
        self._blocked[scope] = max(self._blocked.get(scope, until), until)

    def _before_retry(
        self, request: httpx.Request, name: str
    ) -> Callable[[RetryCallState], None]:
        where = self.redactor.url(str(request.url))

        def log_retry(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, SlowedDown):
                self._block(exc.scope, state.upcoming_sleep)
            self.stats.count(name, retries=1)
            logger.warning(
                "Retrying %s %s in %.2fs after attempt %d: %s",
                request.method, where, state.upcoming_sleep, state.attempt_number, exc,
            )  # fmt: skip

        return log_retry

    def _endpoint_name(self, method: str, url: str) -> str:
        path = self.redactor.url(url).split("?", 1)[0]
        return f"{method} {path}"

    def _scrub(self, exc: httpx.TransportError) -> httpx.TransportError:
        # The original error is kept as the cause, and tracebacks print it;
        # a copy with the secrets masked takes its place.
        text = str(exc)
        clean = self.redactor.text(text)
        if clean == text:
            return exc
        try:
            copy = type(exc)(clean)
        except TypeError:
            copy = httpx.TransportError(clean)
        return copy.with_traceback(exc.__traceback__)
