"""The fake portal as a :class:`~servicesync_sdk.fakes.FakeService`.

Routes: ``/rest/{user_id}/{code}/{method}`` (incoming webhook) and
``/rest/{method}`` with an ``auth`` parameter (OAuth access token), each
taking a JSON or form-encoded body and query parameters; and the OAuth
server's ``/oauth/token/``, which rotates refresh tokens. Point a client's
OAuth URL at any host on the same transport to reach it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from servicesync import Clock
from servicesync_sdk.fakes import Decision, FakeService, LeakyBucket
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from servicesync_bitrix24._php import parse_query
from servicesync_bitrix24.fake._batch import run_batch
from servicesync_bitrix24.fake._calls import Caller, CallResult, Handler, MethodCall
from servicesync_bitrix24.fake._crm import CRM_METHODS
from servicesync_bitrix24.fake._events import EventHub
from servicesync_bitrix24.fake._filters import moment_text, zone
from servicesync_bitrix24.fake._limits import CostModel, OperatingMeter, PortalPlan
from servicesync_bitrix24.fake._oauth import OAuthServer
from servicesync_bitrix24.fake._offline import OFFLINE_METHODS
from servicesync_bitrix24.fake._other import OTHER_METHODS
from servicesync_bitrix24.fake._store import PortalData, RestError

__all__ = ["FakePortal"]

METHODS: dict[str, Handler] = {**CRM_METHODS, **OTHER_METHODS, **OFFLINE_METHODS}


@dataclass(frozen=True, slots=True)
class _Webhook:
    user_id: int
    code: str
    application_token: str


class FakePortal(FakeService):
    """A Bitrix24 portal in a box: data, limits, batch, events and OAuth.

    Args:
        clock: the portal's clock.
        seed: seeds generated codes and tokens.
        domain: the portal's domain, as events and OAuth answers name it.
        plan: the tariff plan's limits.
        costs: how long calls take on the portal.
        tz_offset_hours: the portal's UTC offset; every date carries it.
        delay_answers: wait each call's execution time on the clock before
            answering, so economy shows as elapsed time when served.
    """

    name = "bitrix24"

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        seed: int | None = None,
        domain: str = "example.bitrix24.com",
        plan: PortalPlan | None = None,
        costs: CostModel | None = None,
        tz_offset_hours: float = 3.0,
        delay_answers: bool = False,
    ) -> None:
        super().__init__(clock=clock, seed=seed, base_url=f"https://{domain}")
        self.domain = domain
        self.plan = plan or PortalPlan.standard()
        self.costs = costs or CostModel()
        self.tz = zone(tz_offset_hours)
        self.delay_answers = delay_answers
        self.events = EventHub(
            domain, self._hex(16), self.clock.now, self.tz, self.webhooks
        )
        self.data = PortalData(self.tz, self.clock.now, self.events.emit)
        self.oauth = OAuthServer(self.clock, self._hex)
        self.meters: dict[tuple[str, str], OperatingMeter] = {}
        self.method_calls: Counter[str] = Counter()
        self.refusals: Counter[str] = Counter()
        self._webhooks: dict[str, _Webhook] = {}
        self.bucket = LeakyBucket(
            capacity=self.plan.capacity,
            drain_per_second=self.plan.drain_per_second,
            clock=self.clock,
        )
        self.add_rate_limit(
            self.bucket,
            reject=_query_limit,
            key=lambda request: request.client.host if request.client else "local",
            applies=lambda request: request.url.path.startswith("/rest/"),
        )

    def _hex(self, size: int) -> str:
        return "".join(self.random.choice("0123456789abcdef") for _ in range(size))

    # -- credentials ---------------------------------------------------------

    def add_webhook(self, user_id: int = 1, code: str | None = None) -> str:
        """Create an incoming webhook; return its URL (ending in ``/``)."""
        hook = _Webhook(user_id, code or self._hex(16), self._hex(32))
        self._webhooks[hook.code] = hook
        return f"{self.base_url}/rest/{user_id}/{hook.code}/"

    def credentials(self) -> dict[str, str]:
        """Return a webhook URL, creating one the first time."""
        if not self._webhooks:
            self.add_webhook()
        hook = next(iter(self._webhooks.values()))
        return {"webhook_url": f"{self.base_url}/rest/{hook.user_id}/{hook.code}/"}

    def secrets(self) -> Iterable[str]:
        """Every webhook code, token and client secret the portal knows."""
        yield from self._webhooks
        yield from self.oauth.secrets()

    # -- serving ---------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        """The REST paths and the OAuth server's token path."""
        verbs = ["GET", "POST"]
        return [
            Route("/rest/{user_id:int}/{code}/{method}", self._rest, methods=verbs),
            Route("/rest/{method}", self._rest, methods=verbs),
            Route("/oauth/token/", self.oauth.endpoint, methods=verbs),
            Route("/oauth/token", self.oauth.endpoint, methods=verbs),
        ]

    def error_response(self, status: int, message: str) -> Response:
        """The portal's error body."""
        code = "ERROR_METHOD_NOT_FOUND" if status == 404 else "INTERNAL_SERVER_ERROR"
        return JSONResponse(
            {"error": code, "error_description": message}, status_code=status
        )

    async def _rest(self, request: Request) -> Response:
        method = str(request.path_params["method"])
        method = method.removesuffix(".json").lower()
        try:
            params = await _params(request)
            caller = self._caller(request, params)
            if method == "batch":
                body = self._batch(params, caller)
            else:
                outcome, time = self.execute(method, params, caller)
                body = _envelope(outcome, time)
        except RestError as exc:
            payload = {"error": exc.code, "error_description": exc.description}
            return JSONResponse(payload, status_code=exc.status)
        if self.delay_answers:
            await self.clock.sleep(float(body["time"]["duration"]))
        return JSONResponse(body)

    def _caller(self, request: Request, params: dict[str, Any]) -> Caller:
        code = request.path_params.get("code")
        token = params.pop("auth", None)
        if code is not None:
            hook = self._webhooks.get(str(code))
            if hook is None or hook.user_id != request.path_params["user_id"]:
                raise RestError(401, "NO_AUTH_FOUND", "Wrong authorization data")
            key = f"webhook:{hook.user_id}:{hook.code[:4]}"
            return Caller(key, hook.user_id, hook.application_token)
        return self.oauth.caller(str(token or ""))

    # -- executing methods ---------------------------------------------------

    def execute(
        self, method: str, params: Mapping[str, Any], caller: Caller
    ) -> tuple[CallResult, dict[str, Any]]:
        """Run one method for ``caller``; return its result and ``time`` object."""
        handler = METHODS.get(method.lower())
        if handler is None:
            raise RestError(404, "ERROR_METHOD_NOT_FOUND", "Method not found!")
        now = self.clock.now().timestamp()
        meter = self.meters.setdefault(
            (caller.key, method.lower()), OperatingMeter(self.plan.operating_limit)
        )
        if meter.blocked(now):
            self.refusals[method.lower()] += 1
            msg = f"Method '{method}' is blocked due to operation time limit."
            raise RestError(429, "OPERATION_TIME_LIMIT", msg)
        call = MethodCall(dict(params), caller, self.data, self.costs, self.events)
        outcome = handler(call)
        self.method_calls[method.lower()] += 1
        meter.add(now, outcome.cost)
        time = self._time(now, outcome.cost)
        time["operating"] = meter.total(now)
        reset = meter.reset_at(now)
        if reset is not None:
            time["operating_reset_at"] = int(reset)
        return outcome, time

    def _batch(self, params: Mapping[str, Any], caller: Caller) -> dict[str, Any]:
        started = self.clock.now().timestamp()
        spent = 0.0

        def sub_call(
            method: str, sub_params: dict[str, Any]
        ) -> tuple[CallResult, dict[str, Any]]:
            nonlocal spent
            outcome, _ = self.execute(method, sub_params, caller)
            spent += outcome.cost
            begin = started + spent - outcome.cost
            return outcome, self._time(begin, outcome.cost)

        result = run_batch(params, sub_call)
        return {"result": result, "time": self._time(started, spent + 0.005)}

    def _time(self, start: float, duration: float) -> dict[str, Any]:
        finish = start + duration
        return {
            "start": start,
            "finish": finish,
            "duration": duration,
            "processing": duration * 0.9,
            "date_start": _stamp(start, self),
            "date_finish": _stamp(finish, self),
        }

    # -- seeding -------------------------------------------------------------

    def seed(self, **records: Iterable[Mapping[str, Any]]) -> None:
        """Load ``deals``, ``companies``, ``contacts`` directly, bypassing the API."""
        parties = {"companies": "company", "contacts": "contact"}
        for kind, rows in records.items():
            if kind != "deals" and kind not in parties:
                raise ValueError(f"The fake portal cannot seed {kind!r}.")
            for row in rows:
                if kind == "deals":
                    self.data.add_deal(row)
                else:
                    self.data.add_party(parties[kind], row)


def _stamp(moment: float, portal: FakePortal) -> str:
    return moment_text(datetime.fromtimestamp(moment, portal.tz), portal.tz)


def _envelope(outcome: CallResult, time: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"result": outcome.result}
    if outcome.next is not None:
        body["next"] = outcome.next
    if outcome.total is not None:
        body["total"] = outcome.total
    body["time"] = time
    return body


async def _params(request: Request) -> dict[str, Any]:
    params: dict[str, Any] = parse_query(request.url.query)
    raw = await request.body()
    if not raw:
        return params
    kind = request.headers.get("content-type", "")
    if "json" in kind:
        try:
            decoded = json.loads(raw)
        except ValueError:
            raise RestError(
                400, "INVALID_REQUEST", "The body is not valid JSON."
            ) from None
        if isinstance(decoded, dict):
            params.update(decoded)
    else:
        params.update(parse_query(raw.decode()))
    return params


def _query_limit(decision: Decision) -> Response:
    body = {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}
    return JSONResponse(body, status_code=503)
