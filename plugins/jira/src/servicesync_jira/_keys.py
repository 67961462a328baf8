"""Deterministic project keys, dedup tokens and the markers that carry them."""

from __future__ import annotations

import hashlib
import re
import string

__all__ = ["dedup_token", "issue_label", "marker", "project_key_candidates"]

_ALPHABET = string.digits + string.ascii_uppercase


def dedup_token(dedup_key: str) -> str:
    """Return the short token that stands for ``dedup_key`` in Jira."""
    return hashlib.sha256(dedup_key.encode()).hexdigest()[:16]


def marker(dedup_key: str) -> str:
    """Return the text a created object's description carries."""
    return f"servicesync:{dedup_token(dedup_key)}"


def issue_label(dedup_key: str) -> str:
    """Return the label an issue created for ``dedup_key`` carries."""
    return f"servicesync-{dedup_token(dedup_key)}"


def project_key_candidates(client: str, dedup_key: str, count: int = 5) -> list[str]:
    """Return the project keys to try, in order, for one deal.

    A key is up to four letters of the client's name and three characters
    of a hash of the deal, so the same deal always tries the same keys.

    Example:
        >>> project_key_candidates("Acme Ltd", "deal-1", 2)[0][:4]
        'ACME'
    """
    letters = re.sub(r"[^A-Z]", "", client.upper())[:4] or "P"
    digest = int(hashlib.sha256(dedup_key.encode()).hexdigest(), 16)
    keys = []
    for _ in range(count):
        digest, chunk = divmod(digest, 36**3)
        suffix = ""
        for _ in range(3):
            chunk, index = divmod(chunk, 36)
            suffix += _ALPHABET[index]
        keys.append(letters + suffix)
    return keys
