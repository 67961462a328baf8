"""The Bitrix24 fake in a process of its own, seeded, for the read benchmark.

``python -m benchmarks._portal_server --deals N`` builds the fake portal on
the real clock with its default plan (2 requests a second, bursts of 50,
480 s of operating time per method in ten minutes) and cost model, waits
each call's modelled execution time before answering, seeds N deals
through the fake's own seeding API and serves it on a loopback port.

It talks to the benchmark through its standard streams, one JSON object a
line: ``{"seeded": n}`` while seeding, ``{"base_url", "webhook_url"}`` once
serving, and ``{"stats": ...}`` (requests and refusals it counted) each
time a line is written to its stdin. It stops on SIGTERM.

One thing differs from the plain fake: ``crm.deal.list`` walks the deals in
id order from where an ``>ID`` filter starts and stops at a full page,
where the fake filters and sorts every deal on every call. The answers and
the modelled costs are the same (checked against the fake's own handler at
start); what changes is that the fake's own CPU time, about a second a call
at 100,000 deals, no longer swamps the time the cost model charges, as a
portal's index on the id keeps it small.
"""

from __future__ import annotations

import argparse
import bisect
import json
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from servicesync import SystemClock, VirtualClock
from servicesync_bitrix24.fake import FakePortal, factory
from servicesync_bitrix24.fake import _portal as portal_module
from servicesync_bitrix24.fake._calls import (
    PAGE,
    Caller,
    CallResult,
    Handler,
    MethodCall,
)
from servicesync_bitrix24.fake._filters import apply_select, matches
from servicesync_bitrix24.fake._store import DEAL_STANDARD
from servicesync_sdk.fakes import serve_forever

from benchmarks._deals import seed_deals

__all__ = ["indexed_deal_list", "main"]

_ID_BOUNDS = {">ID": 1, ">=ID": 0}


def _say(**line: Any) -> None:
    print(json.dumps(line), flush=True)


def _start_after(filters: Mapping[str, Any], keys: list[int]) -> int:
    """Return the position of the first deal an ``>ID``/``>=ID`` filter can admit."""
    position = 0
    for key, shift in _ID_BOUNDS.items():
        if key in filters:
            bound = int(str(filters[key]))
            found = bisect.bisect_left(keys, bound + shift)
            position = max(position, found)
    return position


def indexed_deal_list(original: Handler) -> Handler:
    """Return a ``crm.deal.list`` handler that reads deals in id order.

    Calls it cannot serve that way (another order, a non-numeric id bound)
    go to ``original``.
    """

    def handler(call: MethodCall) -> CallResult:
        order = call.arg("order") or {"ID": "ASC"}
        filters = call.arg("filter") or {}
        if not isinstance(filters, Mapping) or order != {"ID": "ASC"}:
            return original(call)
        try:
            start = int(call.arg("start", 0))
            keys = list(call.data.deals)
            first = _start_after(filters, keys)
        except (TypeError, ValueError):
            return original(call)
        return _page(call, keys[first:], filters, start)

    return handler


def _page(
    call: MethodCall, keys: list[int], filters: Mapping[str, Any], start: int
) -> CallResult:
    deals, tz = call.data.deals, call.data.tz
    select = call.arg("select")
    select_list = list(select) if isinstance(select, list | tuple) else None
    offset = max(start, 0)
    if start < 0:
        # Without a COUNT the walk stops at a full page.
        found: list[dict[str, Any]] = []
        for key in keys:
            if matches(deals[key], filters, tz):
                found.append(deals[key])
                if len(found) == PAGE:
                    break
        matching = len(found)
    else:
        rows = [deals[k] for k in keys]
        found = [r for r in rows if matches(r, filters, tz)] if filters else rows
        matching = len(found)
        found = found[offset : offset + PAGE]
    out = [
        apply_select(r, select_list, id_key="ID", standard=DEAL_STANDARD) for r in found
    ]
    cost = call.costs.list_call(returned=len(out), matching=matching, start=start)
    if start < 0:
        return CallResult(out, total=0, cost=cost)
    more = offset + PAGE < matching
    return CallResult(out, matching, offset + PAGE if more else None, cost)


def _check_index(original: Handler, indexed: Handler) -> None:
    """Fail unless both handlers answer a sample of calls alike."""
    portal = FakePortal(clock=VirtualClock(), seed=5)
    seed_deals(portal, 260)
    caller = Caller("check", 1, "token")
    samples: list[dict[str, Any]] = [
        {
            "order": {"ID": "ASC"},
            "filter": {">ID": 0},
            "select": ["*", "UF_*"],
            "start": -1,
        },
        {"order": {"ID": "ASC"}, "filter": {">ID": "230"}, "start": -1},
        {
            "order": {"ID": "ASC"},
            "filter": {">=ID": 40, "STAGE_ID": "WON"},
            "start": -1,
        },
        {"order": {"ID": "ASC"}, "select": ["*", "UF_*"], "start": 0},
        {"order": {"ID": "ASC"}, "select": ["ID", "TITLE"], "start": 250},
        {"order": {"ID": "ASC"}, "filter": {"STAGE_ID": "NEW"}, "start": 50},
    ]
    for params in samples:
        answers = []
        for handler in (original, indexed):
            call = MethodCall(
                dict(params), caller, portal.data, portal.costs, portal.events
            )
            result = handler(call)
            answers.append((result.result, result.total, result.next, result.cost))
        if answers[0] != answers[1]:
            msg = f"The indexed deal list answers {params!r} unlike the fake."
            raise RuntimeError(msg)


def _install_index() -> None:
    original = portal_module.METHODS["crm.deal.list"]
    indexed = indexed_deal_list(original)
    _check_index(original, indexed)
    portal_module.METHODS["crm.deal.list"] = indexed


def stats(portal: FakePortal) -> dict[str, Any]:
    """Return what the portal counted: requests by status, sub-calls, refusals."""
    statuses: dict[str, int] = {}
    requests = 0
    for entry in list(portal.log):
        if entry.path.startswith("/rest/"):
            requests += 1
            statuses[str(entry.status)] = statuses.get(str(entry.status), 0) + 1
    return {
        "requests": requests,
        "statuses": statuses,
        "method_calls": dict(portal.method_calls),
        "refusals": dict(portal.refusals),
        "cpu_seconds": round(time.process_time(), 3),
    }


def _answer_on_stdin(report: Callable[[], dict[str, Any]]) -> None:
    for _line in sys.stdin:
        _say(stats=report())


def main() -> None:
    """Seed, serve, and answer stats requests until SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--plain", action="store_true", help="serve the fake's own deal listing"
    )
    args = parser.parse_args()

    if not args.plain:
        _install_index()
    portal = factory(clock=SystemClock(), seed=args.seed)
    portal.delay_answers = True
    seed_deals(portal, args.deals, lambda n: _say(seeded=n))
    webhook_path = portal.credentials()["webhook_url"].removeprefix(portal.base_url)

    def ready(base_url: str) -> None:
        _say(base_url=base_url, webhook_url=base_url + webhook_path)

    reader = threading.Thread(
        target=_answer_on_stdin, args=(lambda: stats(portal),), daemon=True
    )
    reader.start()
    serve_forever(portal, on_ready=ready)


if __name__ == "__main__":
    main()
