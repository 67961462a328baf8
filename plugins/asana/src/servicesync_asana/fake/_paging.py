"""Pages of lists with opaque offset tokens that expire, as Asana hands them out."""

from __future__ import annotations

import base64
import bisect
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

from servicesync_asana.fake._errors import FakeAsanaError

__all__ = ["MAX_LIMIT", "Pager"]

T = TypeVar("T")

MAX_LIMIT = 100
#: Rows a list returns without ``limit`` before Asana insists on paging.
UNPAGED_CAP = 1000


class Pager:
    """Cuts lists into pages; an offset names the gid a page starts at.

    Rows come in creation order (ascending gids). Naming the next row by its
    gid rather than by its index keeps a walk exact while the list changes:
    a row that starts to match a filter half way is neither skipped nor read
    twice because of the others.

    Args:
        ttl: seconds an offset token stays valid.
    """

    def __init__(self, ttl: float = 3600.0) -> None:
        self.ttl = ttl

    def page(
        self,
        rows: Sequence[T],
        gid_of: Callable[[T], str],
        *,
        limit: str | None,
        offset: str | None,
        list_key: str,
        now: float,
        path: str,
        base_url: str,
        query: dict[str, str],
    ) -> tuple[list[T], dict[str, Any] | None]:
        """Return one page of ``rows`` (in gid order) and its ``next_page``.

        Without a limit every row comes back at once, up to a cap.
        """
        if limit is None:
            if offset:
                raise FakeAsanaError(400, "offset: An offset needs a limit.")
            if len(rows) > UNPAGED_CAP:
                msg = "The result is too large; ask for it in pages with limit."
                raise FakeAsanaError(400, msg)
            return list(rows), None
        size = _limit(limit)
        start = self._decode(offset, list_key, now) if offset else 0
        first = bisect.bisect_left(rows, start, key=lambda row: int(gid_of(row)))
        chunk = list(rows[first : first + size])
        if first + size >= len(rows):
            return chunk, None
        token = self._encode(list_key, int(gid_of(rows[first + size])), now)
        link = f"{path}?{urlencode({**query, 'limit': size, 'offset': token})}"
        return chunk, {"offset": token, "path": link, "uri": f"{base_url}{link}"}

    def _encode(self, list_key: str, gid: int, now: float) -> str:
        raw = json.dumps({"k": list_key, "g": gid, "t": now}).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _decode(self, token: str, list_key: str, now: float) -> int:
        try:
            padded = token + "=" * (-len(token) % 4)
            data = json.loads(base64.urlsafe_b64decode(padded))
            gid, issued, key = int(data["g"]), float(data["t"]), str(data["k"])
        except (ValueError, KeyError, TypeError):
            raise FakeAsanaError(400, "offset: Not a valid offset token.") from None
        if key != list_key:
            raise FakeAsanaError(400, "offset: The token belongs to another list.")
        if now - issued > self.ttl:
            msg = "offset: Your pagination token has expired; start the list again."
            raise FakeAsanaError(400, msg)
        return gid


def _limit(raw: str) -> int:
    try:
        size = int(raw)
    except ValueError:
        raise FakeAsanaError(400, "limit: Not a number.") from None
    if not 1 <= size <= MAX_LIMIT:
        raise FakeAsanaError(400, f"limit: Must be between 1 and {MAX_LIMIT}.")
    return size
