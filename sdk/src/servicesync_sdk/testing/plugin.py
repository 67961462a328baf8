"""Pytest plugin registered by the SDK through the ``pytest11`` entry point."""

from __future__ import annotations
