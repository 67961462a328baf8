"""Fixtures shared by the core's tests.

The store fixtures live in :mod:`servicesync.store.testing` so the SDK's and
the plugins' tests can use the same ones.
"""

from __future__ import annotations

from servicesync.store.testing import (
    _postgres_engine,
    _sqlite_engine,
    store,
    store_backend,
)

__all__ = ["_postgres_engine", "_sqlite_engine", "store", "store_backend"]
