"""Taking in a webhook delivery: verify it, drop replays, re-read what it names.

A delivery is only a hint that records changed: its body is never trusted as
data. Once the connector's handler has verified it, the delivery key is
recorded so that a replay is answered and ignored, and the records the
delivery names are read again through their stream and saved exactly as a
sync saves a page, hashes, events and all. Where the service's keys may
repeat for distinct changes, a repeated key is read again too: reading what
did not change writes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from servicesync.contract import (
    Page,
    RecordRef,
    Stream,
    WebhookRequest,
    WebhookResponse,
)
from servicesync.engine._runner import StreamCounts, StreamRunner
from servicesync.errors import WebhookRejected

__all__ = ["ids_by_stream", "take_delivery"]

logger = logging.getLogger(__name__)


async def take_delivery(
    runner: StreamRunner, request: WebhookRequest
) -> WebhookResponse:
    """Verify ``request`` for the runner's connection and act on it once.

    Returns:
        The handler's answer, to send back to the service.

    Raises:
        WebhookRejected: the connection takes no deliveries, or this one
            failed its check; nothing was recorded or read.
    """
    handler = runner.connector.webhook_handler()
    if handler is None:
        msg = f"The connection {runner.name!r} does not take webhook deliveries."
        raise WebhookRejected(msg, status=404)
    try:
        response = await handler.handle(request)
    except WebhookRejected as exc:
        logger.warning("Rejected a delivery to %s: %s", runner.name, exc)
        raise

    if response.delivery_key is None:
        return response
    first = runner.store.record_receipt(runner.name, response.delivery_key)
    if not first and not response.key_may_repeat:
        logger.info(
            "Delivery %s to %s was taken in before; ignored.",
            response.delivery_key,
            runner.name,
        )
        return response
    try:
        await reread(runner, response.references)
    except Exception:
        # The receipt stays: the sender's retry would be ignored, but the
        # stream's next run reads the same change from its cursor.
        logger.warning(
            "Re-reading what delivery %s to %s named failed; the next sync "
            "will pick the change up.",
            response.delivery_key,
            runner.name,
        )
        raise
    return response


async def reread(runner: StreamRunner, references: Sequence[RecordRef]) -> StreamCounts:
    """Read the referenced records again and save them as a sync would."""
    counts = StreamCounts()
    streams = {stream.name: stream for stream in runner.connector.streams()}
    for name, ids in ids_by_stream(references).items():
        stream = streams.get(name)
        if stream is None:
            logger.warning(
                "%s has no stream %r to re-read; skipped.", runner.name, name
            )
            continue
        counts.add(await _reread_stream(runner, stream, ids))
    return counts


async def _reread_stream(
    runner: StreamRunner, stream: Stream, ids: Sequence[str]
) -> StreamCounts:
    records = await stream.read_records(ids)
    if records is None:
        # The stream cannot read single records: an incremental run from its
        # saved state reads the change along with any others.
        return await runner.run(stream)
    state, baseline = runner.saved_state(stream)
    # The page keeps the stream where it stands: only a run moves a cursor.
    page = Page(records, state)
    return runner.take_page(stream, page, baseline=baseline, dry_run=False)


def ids_by_stream(references: Sequence[RecordRef]) -> dict[str, list[str]]:
    """Group the referenced ids by stream, each id once, in the order named."""
    found: dict[str, list[str]] = {}
    for ref in references:
        ids = found.setdefault(ref.stream, [])
        if ref.external_id not in ids:
            ids.append(ref.external_id)
    return found
