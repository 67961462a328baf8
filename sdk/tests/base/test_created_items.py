from __future__ import annotations

from servicesync_sdk.base import CreatedItems
from servicesync_sdk.testing import MemoryPluginState


def test_created_items_survive_a_new_instance_per_key_and_kind() -> None:
    state = MemoryPluginState()
    CreatedItems(state, "tasks").put("flow:deal-1:tasks", {"t1": "101"})

    again = CreatedItems(state, "tasks")

    assert again.get("flow:deal-1:tasks") == {"t1": "101"}
    assert again.get("flow:deal-2:tasks") == {}
    assert CreatedItems(state, "cards").get("flow:deal-1:tasks") == {}
