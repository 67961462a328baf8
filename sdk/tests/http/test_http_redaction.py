"""Secrets never reach log lines, errors or counters."""

from __future__ import annotations

import logging
import traceback

import httpx
import pytest
from servicesync import VirtualClock
from servicesync.errors import ServiceUnavailable
from servicesync.redaction import Redactor
from servicesync_sdk.http import RetryPolicy, ServiceClient

TOKEN = "tok-9f8e7d6c5b4a"
PASSWORD = "pw-0a1b2c3d4e5f"
WEBHOOK = "hook-77aa88bb99cc"


def leaky_client(clock: VirtualClock, handler: httpx.MockTransport) -> ServiceClient:
    return ServiceClient(
        f"https://portal.test/rest/1/{WEBHOOK}/",
        clock=clock,
        transport=handler,
        headers={"X-Api-Key": TOKEN},
        auth=httpx.BasicAuth("me@example.test", PASSWORD),
        redactor=Redactor([TOKEN, PASSWORD, WEBHOOK]),
        retry=RetryPolicy(max_attempts=3),
    )


def assert_clean(text: str) -> None:
    for secret in (TOKEN, PASSWORD, WEBHOOK):
        assert secret not in text


async def test_client_keeps_secrets_out_of_logs_errors_and_counters(
    clock: VirtualClock, caplog: pytest.LogCaptureFixture
) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(503))
    client = leaky_client(clock, transport)
    caplog.set_level(logging.DEBUG, logger="servicesync_sdk")

    with pytest.raises(ServiceUnavailable) as caught:
        await client.get(f"crm.deal.list?auth={TOKEN}&start=0")

    assert caplog.records
    assert_clean(caplog.text)
    assert_clean("".join(traceback.format_exception(caught.value)))
    assert_clean(repr(client.stats.as_dict()))


async def test_client_masks_secrets_in_transport_errors(clock: VirtualClock) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}", request=request)

    client = leaky_client(clock, httpx.MockTransport(handler))

    with pytest.raises(ServiceUnavailable) as caught:
        await client.post("crm.deal.add", json={})

    assert_clean("".join(traceback.format_exception(caught.value)))


async def test_client_logs_one_info_line_per_request(
    clock: VirtualClock, caplog: pytest.LogCaptureFixture
) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={}))
    client = leaky_client(clock, transport)
    caplog.set_level(logging.INFO, logger="servicesync_sdk")

    await client.get("crm.deal.get", params={"id": 5})

    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert lines == [
        "GET https://portal.test/rest/1/***/crm.deal.get?id=5 -> 200 in 0.000s"
    ]


async def test_client_describe_masks_headers_and_url(clock: VirtualClock) -> None:
    client = leaky_client(clock, httpx.MockTransport(lambda r: httpx.Response(200)))
    request = client.http.build_request("GET", f"x?token={TOKEN}")

    described = client.describe(request)

    assert_clean(repr(described))
    assert described["method"] == "GET"
