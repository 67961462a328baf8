"""Settings for every test run of the workspace, whichever package it collects."""

from __future__ import annotations

import pytest


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Give the tests of an xdist group the ``@group`` node id suffix.

    ``--dist loadgroup`` sends the tests whose node ids end in the same
    ``@group`` to one worker. pytest-xdist 3.8 adds that suffix by setting
    ``item._nodeid``, which pytest 9.2 no longer reads (the id lives in
    ``item._id``), so a group's tests were spread over the workers and each
    worker paid for the group's expensive fixtures. This adds the suffix
    where it is missing; it changes nothing once xdist sets it itself.
    """
    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        marks = item.iter_markers("xdist_group")
        groups = sorted({str(m.args[0] if m.args else m.kwargs["name"]) for m in marks})
        node_id = getattr(item, "_id", None)
        if groups and node_id is not None and "@" not in item.nodeid:
            item._id = type(node_id).parse(f"{item.nodeid}@{'_'.join(groups)}")
