"""The signing primitives shared by fakes and webhook verification."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from servicesync_sdk.signatures import (
    SignatureError,
    constant_time_equals,
    decode_jwt_hs256,
    sign_hmac_sha1_b64,
    sign_hmac_sha256_b64,
    sign_hmac_sha256_hex,
    sign_jwt_hs256,
    verify_hmac_sha1_b64,
    verify_hmac_sha256_b64,
    verify_hmac_sha256_hex,
)

BODY = b'{"event":"note.created","id":1}'
# HS256 keys shorter than 32 bytes make PyJWT warn, and warnings are errors.
JWT_KEY = "client-secret-of-at-least-32-bytes"
OTHER_KEY = "another-secret-of-at-least-32-bytes"


def test_sign_hmac_sha256_hex_matches_the_standard_library() -> None:
    expected = hmac.new(b"secret", BODY, hashlib.sha256).hexdigest()

    assert sign_hmac_sha256_hex("secret", BODY) == expected


def test_verify_hmac_sha256_hex_accepts_a_prefixed_signature() -> None:
    signature = "sha256=" + sign_hmac_sha256_hex("secret", BODY)

    assert verify_hmac_sha256_hex("secret", BODY, signature, prefix="sha256=")


@pytest.mark.parametrize(
    ("secret", "body", "signature"),
    [
        pytest.param("other", BODY, None, id="wrong-secret"),
        pytest.param("secret", BODY + b" ", None, id="tampered-body"),
        pytest.param("secret", BODY, "sha1=abc", id="wrong-prefix"),
    ],
)
def test_verify_hmac_sha256_hex_rejects(
    secret: str, body: bytes, signature: str | None
) -> None:
    good = "sha256=" + sign_hmac_sha256_hex("secret", BODY)

    assert not verify_hmac_sha256_hex(secret, body, signature or good, prefix="sha256=")


def test_verify_hmac_sha1_b64_covers_body_and_url() -> None:
    url = "https://hooks.example/trello"
    signature = sign_hmac_sha1_b64("app-secret", BODY + url.encode())

    assert verify_hmac_sha1_b64("app-secret", BODY + url.encode(), signature)
    assert not verify_hmac_sha1_b64("app-secret", BODY + b"https://evil", signature)


def test_verify_b64_rejects_garbage_without_raising() -> None:
    assert not verify_hmac_sha1_b64("k", BODY, "not base64 !!")
    assert not verify_hmac_sha256_b64("k", BODY, "")


def test_verify_hmac_sha256_b64_round_trips() -> None:
    assert verify_hmac_sha256_b64("k", BODY, sign_hmac_sha256_b64("k", BODY))


def test_constant_time_equals_mixes_str_and_bytes() -> None:
    assert constant_time_equals("abc", b"abc")
    assert not constant_time_equals("abc", "abd")


def test_decode_jwt_hs256_returns_claims() -> None:
    token = sign_jwt_hs256(JWT_KEY, {"iss": "jira", "exp": 2_000})

    assert decode_jwt_hs256(JWT_KEY, token, now=1_000)["iss"] == "jira"


@pytest.mark.parametrize(
    ("secret", "now"),
    [
        pytest.param(OTHER_KEY, 1_000, id="wrong-key"),
        pytest.param(JWT_KEY, 2_001, id="expired"),
    ],
)
def test_decode_jwt_hs256_rejects(secret: str, now: float) -> None:
    token = sign_jwt_hs256(JWT_KEY, {"exp": 2_000})

    with pytest.raises(SignatureError):
        decode_jwt_hs256(secret, token, now=now)
