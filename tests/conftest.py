"""Fixtures for the tests that cross packages: the store on both databases."""

from __future__ import annotations

from servicesync.store.testing import (
    _postgres_engine,
    _sqlite_engine,
    store,
    store_backend,
)

__all__ = ["_postgres_engine", "_sqlite_engine", "store", "store_backend"]
