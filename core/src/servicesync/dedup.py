"""Deduplication tokens: one short mark that finds an object made by an earlier attempt.

A token is derived from the deduplication key, so every attempt at the same
write carries the same token, whichever process makes it. Its format fits
everywhere a connector must leave it: a Jira label (no spaces), the suffix of
an Asana project name, a line of a Trello description, a marker in a Bitrix24
comment.

Example:
    >>> len(dedup_token("won_deal:01J8Z:project"))
    19
"""

from __future__ import annotations

import base64
import hashlib
import re

__all__ = ["TOKEN_PATTERN", "dedup_token", "find_token", "marker"]

#: What a token looks like: ``ss-`` and 16 lowercase base32 characters.
TOKEN_PATTERN = re.compile(r"\bss-[a-z2-7]{16}\b")


def dedup_token(key: str) -> str:
    """Return the token for the deduplication key ``key``."""
    digest = hashlib.blake2b(key.encode(), digest_size=10).digest()
    return "ss-" + base64.b32encode(digest).decode().lower()


def marker(token: str) -> str:
    """Return the text a connector writes into a description or comment."""
    return f"[servicesync:{token}]"


def find_token(text: str | None) -> str | None:
    """Return the first token found in ``text``, or ``None``."""
    if not text:
        return None
    found = TOKEN_PATTERN.search(text)
    return found.group(0) if found else None
