"""The pieces of the SDK's fake kit this fake builds on, in one place.

The kit's package may not list every name publicly yet; importing through
this module keeps the rest of the fake independent of where they live.
"""

from __future__ import annotations

try:
    from servicesync_sdk.fakes import (
        Decision,
        FakeService,
        FaultKind,
        FixedWindow,
        HubSignature,
        JwtAuthorization,
        serve_in_thread,
    )
except ImportError:  # the kit's public package is not assembled yet
    from servicesync_sdk.fakes._faults import FaultKind
    from servicesync_sdk.fakes._limits import Decision, FixedWindow
    from servicesync_sdk.fakes._serve import serve_in_thread
    from servicesync_sdk.fakes._service import FakeService
    from servicesync_sdk.fakes._webhooks import HubSignature, JwtAuthorization

__all__ = [
    "Decision",
    "FakeService",
    "FaultKind",
    "FixedWindow",
    "HubSignature",
    "JwtAuthorization",
    "serve_in_thread",
]
