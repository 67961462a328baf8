"""Signing and verifying webhook payloads with the schemes services use.

The fake services sign the webhooks they send with these functions, and the
SDK's webhook verification checks incoming requests with the same ones, so a
fake and a real handler always agree on the bytes being signed.

Every ``verify_*`` function compares in constant time and returns ``False``
for any malformed signature instead of raising.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any

import jwt

__all__ = [
    "SignatureError",
    "constant_time_equals",
    "decode_jwt_hs256",
    "sign_hmac_sha1_b64",
    "sign_hmac_sha256_b64",
    "sign_hmac_sha256_hex",
    "sign_jwt_hs256",
    "verify_hmac_sha1_b64",
    "verify_hmac_sha256_b64",
    "verify_hmac_sha256_hex",
]


class SignatureError(ValueError):
    """A signed token is malformed, expired or signed with another key."""


def _key(secret: str | bytes) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def constant_time_equals(a: str | bytes, b: str | bytes) -> bool:
    """Compare two signatures without leaking where they differ."""
    return hmac.compare_digest(_key(a), _key(b))


def sign_hmac_sha256_hex(secret: str | bytes, body: bytes) -> str:
    """Return the lowercase hex HMAC-SHA256 of ``body`` (Jira, Asana, Toggl)."""
    return hmac.new(_key(secret), body, hashlib.sha256).hexdigest()


def sign_hmac_sha256_b64(secret: str | bytes, body: bytes) -> str:
    """Return the base64 HMAC-SHA256 of ``body``."""
    digest = hmac.new(_key(secret), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def sign_hmac_sha1_b64(secret: str | bytes, data: bytes) -> str:
    """Return the base64 HMAC-SHA1 of ``data``.

    Trello signs the raw body followed by the callback URL exactly as it was
    registered: pass ``body + callback_url.encode()``.
    """
    digest = hmac.new(_key(secret), data, hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def verify_hmac_sha256_hex(
    secret: str | bytes, body: bytes, signature: str, *, prefix: str = ""
) -> bool:
    """Check a hex HMAC-SHA256 signature, optionally behind a prefix.

    Example:
        >>> sig = "sha256=" + sign_hmac_sha256_hex("k", b"{}")
        >>> verify_hmac_sha256_hex("k", b"{}", sig, prefix="sha256=")
        True
    """
    if prefix:
        if not signature.startswith(prefix):
            return False
        signature = signature[len(prefix) :]
    expected = sign_hmac_sha256_hex(secret, body)
    return constant_time_equals(expected, signature.strip().lower())


def verify_hmac_sha256_b64(secret: str | bytes, body: bytes, signature: str) -> bool:
    """Check a base64 HMAC-SHA256 signature."""
    return _verify_b64(sign_hmac_sha256_b64(secret, body), signature)


def verify_hmac_sha1_b64(secret: str | bytes, data: bytes, signature: str) -> bool:
    """Check a base64 HMAC-SHA1 signature (Trello: ``data`` is body + URL)."""
    return _verify_b64(sign_hmac_sha1_b64(secret, data), signature)


def _verify_b64(expected: str, signature: str) -> bool:
    try:
        given = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    return constant_time_equals(base64.b64decode(expected), given)


def sign_jwt_hs256(secret: str | bytes, claims: Mapping[str, Any]) -> str:
    """Return a compact JWT over ``claims`` signed with HS256."""
    return jwt.encode(dict(claims), _key(secret), algorithm="HS256")


def decode_jwt_hs256(
    secret: str | bytes,
    token: str,
    *,
    now: float | None = None,
    leeway: float = 0.0,
    audience: str | None = None,
) -> dict[str, Any]:
    """Verify an HS256 JWT and return its claims.

    Args:
        secret: the shared key the token was signed with.
        token: the compact token, without any ``Bearer``/``JWT`` prefix.
        now: the current POSIX time; pass the clock's time when it is not
            the real one. Expiry and not-before are checked against it.
        leeway: seconds of tolerance on ``exp`` and ``nbf``.
        audience: the expected ``aud`` claim, if the token carries one.

    Raises:
        SignatureError: the token is malformed, badly signed or expired.
    """
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            _key(secret),
            algorithms=["HS256"],
            audience=audience,
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )
    except jwt.PyJWTError as exc:
        raise SignatureError(f"The JWT is not valid: {exc}.") from None
    _check_times(claims, now, leeway)
    return claims


def _check_times(claims: Mapping[str, Any], now: float | None, leeway: float) -> None:
    # PyJWT reads the real clock; checking here lets a virtual clock decide.
    current = time.time() if now is None else now
    exp = claims.get("exp")
    if isinstance(exp, int | float) and current > exp + leeway:
        raise SignatureError("The JWT has expired.")
    nbf = claims.get("nbf")
    if isinstance(nbf, int | float) and current < nbf - leeway:
        raise SignatureError("The JWT is not valid yet.")
