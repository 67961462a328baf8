"""What a servicesync connector author needs: HTTP client, base classes, fakes.

The base classes are re-exported here; the HTTP client lives in
:mod:`servicesync_sdk.http`, the fake-service kit in
:mod:`servicesync_sdk.fakes` and the test helpers in
:mod:`servicesync_sdk.testing`.
"""

from __future__ import annotations

from servicesync_sdk.base import (
    Batch,
    EchoSecretHandshake,
    FindOrCreateAction,
    Handshake,
    HmacSignature,
    SharedToken,
    SignatureScheme,
    SignedWebhookHandler,
    ValidationCodeHandshake,
    Window,
    WindowedStream,
)

__all__ = [
    "Batch",
    "EchoSecretHandshake",
    "FindOrCreateAction",
    "Handshake",
    "HmacSignature",
    "SharedToken",
    "SignatureScheme",
    "SignedWebhookHandler",
    "ValidationCodeHandshake",
    "Window",
    "WindowedStream",
]
