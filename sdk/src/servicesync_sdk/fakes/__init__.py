"""A kit for stateful fakes of the HTTP services connectors talk to.

Subclass :class:`FakeService`, give it routes, credentials and error bodies,
then use it in process (:meth:`FakeService.client`) or on a loopback port
(:func:`serve_in_thread`, ``servicesync fake PLUGIN``).
"""

from __future__ import annotations

from servicesync_sdk.fakes._discovery import (
    FAKES_GROUP,
    FakeFactory,
    FakeNotFoundError,
    fake_factories,
    load_fake,
)
from servicesync_sdk.fakes._faults import (
    FaultKind,
    FaultPlan,
    FaultRule,
    FaultyTransport,
)
from servicesync_sdk.fakes._holds import RequestHold
from servicesync_sdk.fakes._limits import (
    Decision,
    FixedWindow,
    HourlyQuota,
    LeakyBucket,
    Limiter,
    RateLimitRule,
)
from servicesync_sdk.fakes._log import LoggedRequest, RequestLog
from servicesync_sdk.fakes._serve import serve_forever, serve_in_thread
from servicesync_sdk.fakes._service import FakeService
from servicesync_sdk.fakes._webhooks import (
    ApplicationToken,
    HookSignature,
    HubSignature,
    JwtAuthorization,
    SignedWebhook,
    Subscription,
    TrelloSignature,
    WebhookDelivery,
    WebhookScheme,
    WebhookSender,
    form_encode,
)

__all__ = [
    "FAKES_GROUP",
    "ApplicationToken",
    "Decision",
    "FakeFactory",
    "FakeNotFoundError",
    "FakeService",
    "FaultKind",
    "FaultPlan",
    "FaultRule",
    "FaultyTransport",
    "FixedWindow",
    "HookSignature",
    "HourlyQuota",
    "HubSignature",
    "JwtAuthorization",
    "LeakyBucket",
    "Limiter",
    "LoggedRequest",
    "RateLimitRule",
    "RequestHold",
    "RequestLog",
    "SignedWebhook",
    "Subscription",
    "TrelloSignature",
    "WebhookDelivery",
    "WebhookScheme",
    "WebhookSender",
    "fake_factories",
    "form_encode",
    "load_fake",
    "serve_forever",
    "serve_in_thread",
]
