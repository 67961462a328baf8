"""Test helpers for connector authors: fixtures and the conformance suite."""

from __future__ import annotations

__all__: list[str] = []
