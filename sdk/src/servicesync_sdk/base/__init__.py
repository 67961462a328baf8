"""Base classes that make the common connector shapes short.

* :class:`WindowedStream`: a list filtered by change time, read window by
  window with resume points and hashed records.
* :class:`FindOrCreateAction`: a create that finds what an earlier attempt
  with the same deduplication key made; :class:`CreatedItems` remembers
  what a bulk create has made so far.
* :class:`UpdateProjectParams` and :class:`UpdateMilestoneParams`, what
  two-way consistency asks a delivery tool to change; the budget line
  (:func:`read_budget`, :func:`with_budget`) tools without a budget keep
  in a project's description; :class:`MilestoneMoves` and
  :func:`send_moves`, which move a milestone that is due when its last
  task is.
* :class:`SignedWebhookHandler` with the usual proofs (:class:`HmacSignature`,
  :class:`SharedToken`) and handshakes (:class:`EchoSecretHandshake`,
  :class:`ValidationCodeHandshake`).
"""

from __future__ import annotations

from servicesync_sdk.base._action import FindOrCreateAction
from servicesync_sdk.base._budget import (
    BUDGET_FIELDS,
    BUDGET_PREFIX,
    read_budget,
    with_budget,
)
from servicesync_sdk.base._created import CreatedItems
from servicesync_sdk.base._schemes import (
    EchoSecretHandshake,
    Handshake,
    HmacSignature,
    SharedToken,
    SignatureScheme,
    ValidationCodeHandshake,
)
from servicesync_sdk.base._stream import Batch, Window, WindowedStream
from servicesync_sdk.base._updates import (
    MilestoneMoves,
    UpdateMilestoneParams,
    UpdateProjectParams,
    budget_values,
    pending_moves,
    send_moves,
    shifted_dues,
)
from servicesync_sdk.base._webhook import SignedWebhookHandler

__all__ = [
    "BUDGET_FIELDS",
    "BUDGET_PREFIX",
    "Batch",
    "CreatedItems",
    "EchoSecretHandshake",
    "FindOrCreateAction",
    "Handshake",
    "HmacSignature",
    "MilestoneMoves",
    "SharedToken",
    "SignatureScheme",
    "SignedWebhookHandler",
    "UpdateMilestoneParams",
    "UpdateProjectParams",
    "ValidationCodeHandshake",
    "Window",
    "WindowedStream",
    "budget_values",
    "pending_moves",
    "read_budget",
    "send_moves",
    "shifted_dues",
    "with_budget",
]
