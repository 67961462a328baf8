"""The ``batch`` method: up to 50 sub-calls in one HTTP request.

Each ``cmd`` value is ``method?query`` with a PHP-style query. A value may
name an earlier sub-call's answer as ``$result[key][FIELD]`` or, for a list,
``$result[key][index][FIELD]``; any deeper path (``$result[p][items][49][ID]``)
walks the answer the same way.

A reference to something the earlier answer does not hold (a row after the
last row of a short page, or a sub-call that failed) makes the referring
sub-call fail with ``BATCH_REFERENCE_NOT_FOUND`` in ``result_error``. The
portal's documentation does not say what a real portal does there; this is
the fake's choice, and clients should ignore every sub-result after the first
short page whatever the portal does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from servicesync_bitrix24._php import parse_query
from servicesync_bitrix24.fake._calls import CallResult, arg
from servicesync_bitrix24.fake._store import RestError

__all__ = ["MAX_COMMANDS", "run_batch"]

MAX_COMMANDS = 50
_REFERENCE = re.compile(r"\$result\[([^\]]+)\]((?:\[[^\]]*\])+)")
_STEP = re.compile(r"\[([^\]]*)\]")

SubCall = Callable[[str, dict[str, Any]], tuple[CallResult, dict[str, Any]]]


class _MissingReference(Exception):
    pass


def _commands(params: Mapping[str, Any]) -> dict[str, str]:
    cmd = arg(params, "cmd")
    if isinstance(cmd, list):
        return {str(i): str(v) for i, v in enumerate(cmd)}
    if isinstance(cmd, Mapping):
        return {str(k): str(v) for k, v in cmd.items()}
    raise RestError(400, "ERROR_BATCH_COMMANDS", "Parameter 'cmd' must be array.")


def _walk(results: Mapping[str, Any], key: str, path: str) -> Any:
    if key not in results:
        raise _MissingReference(f"$result[{key}]")
    node = results[key]
    for step in _STEP.findall(path):
        if isinstance(node, list) and step.isdigit() and int(step) < len(node):
            node = node[int(step)]
        elif isinstance(node, Mapping) and step in node:
            node = node[step]
        else:
            raise _MissingReference(f"$result[{key}]{path}")
    return node


def _substitute(value: Any, results: Mapping[str, Any]) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, results) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, results) for v in value]
    if not isinstance(value, str) or "$result[" not in value:
        return value
    whole = _REFERENCE.fullmatch(value)
    if whole:
        return _walk(results, whole.group(1), whole.group(2))
    return _REFERENCE.sub(lambda m: str(_walk(results, m.group(1), m.group(2))), value)


def _empty_or(mapping: dict[str, Any]) -> Any:
    # The portal serialises an empty PHP array as a JSON list.
    return mapping if mapping else []


def run_batch(params: Mapping[str, Any], sub_call: SubCall) -> dict[str, Any]:
    """Run the sub-calls of a batch in order; return the ``result`` object.

    ``sub_call(method, params)`` runs one method and returns its
    :class:`CallResult` and its ``time`` object, or raises :class:`RestError`.
    """
    commands = _commands(params)
    if len(commands) > MAX_COMMANDS:
        raise RestError(400, "ERROR_BATCH_LENGTH_EXCEEDED", "Max batch length exceeded")
    halt = str(arg(params, "halt", "0")).lower() in ("1", "true", "y")
    results: dict[str, Any] = {}
    errors: dict[str, Any] = {}
    totals: dict[str, Any] = {}
    nexts: dict[str, Any] = {}
    times: dict[str, Any] = {}
    for key, command in commands.items():
        method, _, query = command.partition("?")
        try:
            if method.strip().lower() == "batch":
                raise RestError(
                    405,
                    "ERROR_BATCH_METHOD_NOT_ALLOWED",
                    "Method is not allowed for batch usage",
                )
            try:
                sub_params = _substitute(parse_query(query), results)
            except _MissingReference as exc:
                msg = f"The reference {exc} points at nothing."
                raise RestError(400, "BATCH_REFERENCE_NOT_FOUND", msg) from None
            outcome, time = sub_call(method.strip(), sub_params)
        except RestError as exc:
            errors[key] = {"error": exc.code, "error_description": exc.description}
            if halt:
                break
            continue
        results[key] = outcome.result
        times[key] = time
        if outcome.total is not None:
            totals[key] = outcome.total
        if outcome.next is not None:
            nexts[key] = outcome.next
    return {
        "result": _empty_or(results),
        "result_error": _empty_or(errors),
        "result_total": _empty_or(totals),
        "result_next": _empty_or(nexts),
        "result_time": _empty_or(times),
    }
