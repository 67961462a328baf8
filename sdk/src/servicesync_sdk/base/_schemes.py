"""How incoming webhooks prove they come from the service.

Each scheme checks one request and raises
:class:`~servicesync.errors.WebhookRejected` (status 401) when the proof is
missing or wrong. Every comparison runs in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol
from urllib.parse import parse_qsl

from servicesync.contract import WebhookRequest, WebhookResponse
from servicesync.errors import WebhookRejected

from servicesync_sdk.signatures import constant_time_equals, verify_hmac_sha1_b64

__all__ = [
    "EchoSecretHandshake",
    "Handshake",
    "HmacSignature",
    "SharedToken",
    "SignatureScheme",
    "ValidationCodeHandshake",
]

logger = logging.getLogger(__name__)

Secret = str | Callable[[], str | None]


def _secret(value: Secret) -> str | None:
    return value() if callable(value) else value


class SignatureScheme(Protocol):
    """Checks that a request comes from the service."""

    def verify(self, request: WebhookRequest, *, service: str = "") -> None:
        """Return quietly, or raise ``WebhookRejected``."""
        ...


class Handshake(Protocol):
    """Answers a service's set-up request, which carries no event."""

    def answer(self, request: WebhookRequest) -> WebhookResponse | None:
        """Return the answer when ``request`` is a handshake, else ``None``."""
        ...


def _reject(what: str, service: str) -> WebhookRejected:
    who = service or "the service"
    msg = f"A webhook delivery claiming to come from {who} failed its check: {what}."
    return WebhookRejected(msg, status=401, service=service)


@dataclass(frozen=True)
class HmacSignature:
    """An HMAC of the raw body (optionally followed by the URL) in a header.

    Covers Jira and Toggl (``sha256``, hex, ``sha256=`` prefix), Asana
    (``sha256``, hex, ``X-Hook-Signature``) and Trello (``sha1``, base64,
    body followed by the callback URL).

    Attributes:
        secret: the shared secret, or a function returning it (a secret
            learnt in a handshake is read when each request arrives).
        header: the header carrying the signature.
        algorithm: ``"sha256"`` or ``"sha1"``.
        encoding: ``"hex"`` or ``"base64"``.
        prefix: text before the signature, such as ``"sha256="``.
        callback_url: appended to the body before signing, as registered.
    """

    secret: Secret
    header: str
    algorithm: Literal["sha256", "sha1"] = "sha256"
    encoding: Literal["hex", "base64"] = "hex"
    prefix: str = ""
    callback_url: str | None = None

    def verify(self, request: WebhookRequest, *, service: str = "") -> None:
        """Raise ``WebhookRejected`` unless the signature matches the body."""
        secret = _secret(self.secret)
        given = request.header(self.header)
        if not secret:
            raise _reject("no secret is known to check it against", service)
        if not given:
            raise _reject(f"the {self.header} header is missing", service)
        if not given.startswith(self.prefix):
            raise _reject(f"the {self.header} header is malformed", service)
        signed = request.body
        if self.callback_url is not None:
            signed += self.callback_url.encode()
        if not self._matches(secret, signed, given[len(self.prefix) :]):
            raise _reject(f"the {self.header} signature does not match", service)

    def _matches(self, secret: str, data: bytes, signature: str) -> bool:
        if self.encoding == "base64" and self.algorithm == "sha1":
            return verify_hmac_sha1_b64(secret, data, signature)
        digest = hmac.new(secret.encode(), data, getattr(hashlib, self.algorithm))
        if self.encoding == "hex":
            return constant_time_equals(digest.hexdigest(), signature.strip().lower())
        try:
            raw = base64.b64decode(signature.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        return constant_time_equals(digest.digest(), raw)


@dataclass(frozen=True)
class SharedToken:
    """A token the service sends back as is, in a header, the query or a form field.

    Bitrix24 puts its application token in the form field
    ``auth[application_token]``.

    Attributes:
        token: the expected token, or a function returning it.
        header: the header carrying it, if it travels in one.
        query: the query parameter carrying it, if it travels in one.
        form_field: the form-encoded body field carrying it.
    """

    token: Secret
    header: str | None = None
    query: str | None = None
    form_field: str | None = None

    def verify(self, request: WebhookRequest, *, service: str = "") -> None:
        """Raise ``WebhookRejected`` unless the request carries the token."""
        expected = _secret(self.token)
        if not expected:
            raise _reject("no token is known to check it against", service)
        given = self._given(request)
        if not given or not constant_time_equals(expected, given):
            raise _reject("the shared token is missing or wrong", service)

    def _given(self, request: WebhookRequest) -> str | None:
        if self.header is not None:
            return request.header(self.header)
        if self.query is not None:
            return request.query.get(self.query)
        if self.form_field is not None:
            text = request.body.decode("utf-8", errors="replace")
            return dict(parse_qsl(text, keep_blank_values=True)).get(self.form_field)
        return None


@dataclass
class EchoSecretHandshake:
    """Echo a secret header back, and keep it to check later deliveries.

    Asana's first request carries ``X-Hook-Secret``; answering 200 with the
    same header confirms the subscription, and later deliveries are signed
    with that secret. ``store`` keeps it durably (for example in the
    connection's :class:`~servicesync.contract.CredentialVault`).

    Attributes:
        store: called with the secret learnt.
        header: the header carrying the secret.
    """

    store: Callable[[str], None]
    header: str = "X-Hook-Secret"

    def answer(self, request: WebhookRequest) -> WebhookResponse | None:
        """Confirm the subscription when ``request`` carries the secret."""
        secret = request.header(self.header)
        if not secret:
            return None
        self.store(secret)
        logger.info("A webhook subscription was confirmed by handshake")
        return WebhookResponse(status=200, headers={self.header: secret})


@dataclass(frozen=True)
class ValidationCodeHandshake:
    """Answer a validation request with the code it carries.

    Some services check a new endpoint by sending a code, in the query or as
    a field of a JSON body, and expect it back as the body of the answer.

    Attributes:
        query: the query parameter carrying the code.
        field: the top-level JSON field carrying the code.
    """

    query: str | None = None
    field: str | None = None

    def answer(self, request: WebhookRequest) -> WebhookResponse | None:
        """Echo the code when ``request`` carries one."""
        code = request.query.get(self.query) if self.query else None
        if code is None and self.field is not None:
            code = _json_field(request.body, self.field)
        if not code:
            return None
        return WebhookResponse(
            status=200, body=code.encode(), headers={"Content-Type": "text/plain"}
        )


def _json_field(body: bytes, name: str) -> str | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    value = data.get(name) if isinstance(data, dict) else None
    return value if isinstance(value, str) else None
