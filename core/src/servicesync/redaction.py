"""One place that keeps secrets out of logs, errors and stored requests.

Every URL, header set or text that may carry a credential passes through
:class:`Redactor` before it is logged, raised or recorded. A redactor knows
the secret values it was told about, and the usual places where secrets
travel (authorization headers, ``token=`` style query parameters, webhook
codes in Bitrix24 paths).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["MASK", "SECRET_HEADERS", "SECRET_PARAMS", "Redactor"]

MASK = "***"

#: Header names whose values are always secret.
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "x-hook-secret",
        "x-hook-signature",
        "x-hub-signature",
        "x-trello-webhook",
    }
)

#: Query and form parameter names whose values are always secret.
SECRET_PARAMS = frozenset(
    {
        "auth",
        "access_token",
        "refresh_token",
        "client_secret",
        "token",
        "key",
        "api_key",
        "apikey",
        "password",
        "code",
        "application_token",
    }
)

# A Bitrix24 incoming webhook URL carries its secret code as a path segment,
# PORTAL/rest/USER_ID/CODE/method, whether or not the code was registered.
_WEBHOOK_CODE = re.compile(r"(/rest/\d+/)[A-Za-z0-9_]+(?=/)")

# Secrets shorter than this are not searched for in free text: masking every
# "42" in a log line would hide more than it protects.
_MIN_SECRET_LENGTH = 6


class Redactor:
    """Masks known secret values and secret-bearing fields.

    Example:
        >>> r = Redactor(["s3cr3t-token"])
        >>> r.text("calling with s3cr3t-token")
        'calling with ***'
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(*secrets)

    def add(self, *secrets: str) -> None:
        """Learn more secret values to mask from now on."""
        fresh = {s for s in secrets if s and len(s) >= _MIN_SECRET_LENGTH}
        if fresh - self._secrets:
            self._secrets |= fresh
            # Longest first, so a secret that contains another is masked whole.
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(s) for s in ordered))

    def text(self, value: str) -> str:
        """Return ``value`` with every known secret and webhook code masked."""
        value = _WEBHOOK_CODE.sub(rf"\g<1>{MASK}", value)
        if self._pattern is None:
            return value
        return self._pattern.sub(MASK, value)

    def url(self, url: str) -> str:
        """Return ``url`` with user info, secret parameters and known secrets masked."""
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            netloc = f"{MASK}@{netloc.rsplit('@', 1)[1]}"
        query = urlencode(
            [
                (k, MASK if k.lower() in SECRET_PARAMS else v)
                for k, v in parse_qsl(parts.query, keep_blank_values=True)
            ],
            safe="*[]$",
        )
        cleaned = urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
        return self.text(cleaned)

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """Return a copy of ``headers`` with secret ones masked."""
        return {
            k: MASK if k.lower() in SECRET_HEADERS else self.text(v)
            for k, v in headers.items()
        }

    def mapping(self, data: Mapping[str, object]) -> dict[str, object]:
        """Return a copy of a flat mapping with secret keys and values masked."""
        return {
            k: MASK
            if k.lower() in SECRET_PARAMS
            else (self.text(v) if isinstance(v, str) else v)
            for k, v in data.items()
        }
