"""Base classes that make the common connector shapes short.

* :class:`WindowedStream`: a list filtered by change time, read window by
  window with resume points and hashed records.
* :class:`FindOrCreateAction`: a create that finds what an earlier attempt
  with the same deduplication key made; :class:`CreatedItems` remembers
  what a bulk create has made so far.
* :class:`SignedWebhookHandler` with the usual proofs (:class:`HmacSignature`,
  :class:`SharedToken`) and handshakes (:class:`EchoSecretHandshake`,
  :class:`ValidationCodeHandshake`).
"""

from __future__ import annotations

from servicesync_sdk.base._action import FindOrCreateAction
from servicesync_sdk.base._created import CreatedItems
from servicesync_sdk.base._schemes import (
    EchoSecretHandshake,
    Handshake,
    HmacSignature,
    SharedToken,
    SignatureScheme,
    ValidationCodeHandshake,
)
from servicesync_sdk.base._stream import Batch, Window, WindowedStream
from servicesync_sdk.base._webhook import SignedWebhookHandler

__all__ = [
    "Batch",
    "CreatedItems",
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
