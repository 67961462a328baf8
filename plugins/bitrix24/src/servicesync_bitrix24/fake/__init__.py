"""A fake Bitrix24 portal for tests, demos and other clients.

Build one with :func:`factory` (the ``servicesync.fakes`` entry point) or
:class:`FakePortal`, seed it through its API or :meth:`FakePortal.seed`, and
talk to it in process (``portal.transport()``) or on a loopback port
(``servicesync_sdk.fakes.serve_in_thread``).

What it models, and the choices it makes where the portal's documentation is
silent:

* answers shaped as the documented examples: classic CRM values as strings,
  dates with the portal's offset, ``result``/``total``/``next``/``time``;
* ``start=-1`` skips the COUNT: ``total`` is 0 and there is no ``next``, as
  the documentation's fast-listing example prints;
* ``batch``: at most 50 commands (more is refused whole with 400
  ``ERROR_BATCH_LENGTH_EXCEEDED``), ``halt``, ``$result[key][..]`` references
  of any depth; a reference to a row that does not exist (past a short page)
  fails that sub-call with ``BATCH_REFERENCE_NOT_FOUND`` in ``result_error``;
* the leaky bucket per source address (2/s and 50, or 5/s and 250), answering
  503 ``QUERY_LIMIT_EXCEEDED``; the operating-time meter per caller and
  method (10 one-minute baskets, 480 s by default), answering 429
  ``OPERATION_TIME_LIMIT`` for that method only; the outer ``batch`` call is
  not metered, each sub-call is;
* a cost model in which offset paging pays a COUNT plus the skipped rows, and
  fast listing pays only for its rows; costs show in ``time.duration`` and,
  with ``delay_answers``, as time waited on the clock;
* ``crm.item.*`` serves new invoices (``entityTypeId=31``) only;
* the offline event queue with ``event.offline.get`` (``clear=0``
  reservations under a ``process_id``), ``list``, ``clear`` and ``error``;
  its own choices are listed in :mod:`._offline`.
"""

from __future__ import annotations

from servicesync import Clock

from servicesync_bitrix24.fake._limits import CostModel, PortalPlan
from servicesync_bitrix24.fake._portal import FakePortal
from servicesync_bitrix24.fake._store import RestError

__all__ = ["CostModel", "FakePortal", "PortalPlan", "RestError", "factory"]


def factory(*, clock: Clock, seed: int | None = None) -> FakePortal:
    """Build a fake portal on ``clock`` with one incoming webhook."""
    portal = FakePortal(clock=clock, seed=seed)
    portal.add_webhook()
    return portal
