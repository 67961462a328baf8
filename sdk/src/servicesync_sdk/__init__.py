"""What a servicesync connector author needs: HTTP client, base classes, fakes."""

from __future__ import annotations

__all__: list[str] = []
