"""Keeping Python's cyclic garbage collector out of bulk work."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Keep the cyclic garbage collector from running inside the block.

    Bulk work (a page parsed, its records made, mapped, validated and
    written) builds tens of thousands of short-lived objects, which
    reference counting frees. Left on, the collector would traverse them
    again and again while they are alive, and promote them so that full
    collections of the whole heap come sooner: a fifth of a first load's
    time. A block must not await, so that nothing else runs in it; garbage
    with cycles made inside is collected after it, as usual. A collector
    the application turned off stays off.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
