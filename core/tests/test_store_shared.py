from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from servicesync.contract import BudgetStore, CredentialVault, NamedLocks, PluginState
from servicesync.errors import StoreError
from servicesync.store import KEY_ENV, KEY_FILE_ENV, SecretBox, Store, metadata


def test_budget_take_within_burst_needs_no_wait(store: Store) -> None:
    budgets: BudgetStore = store.budgets()

    waits = [budgets.take("jira", 1, rate=2, burst=3, now=100.0) for _ in range(3)]

    assert waits == [0.0, 0.0, 0.0]


def test_budget_take_beyond_burst_waits_in_turn(store: Store) -> None:
    budgets = store.budgets()
    for _ in range(3):
        budgets.take("jira", 1, rate=2, burst=3, now=100.0)

    waits = [budgets.take("jira", 1, rate=2, burst=3, now=100.0) for _ in range(2)]

    assert waits == [0.5, 1.0]


def test_budget_drains_over_time(store: Store) -> None:
    budgets = store.budgets()
    for _ in range(3):
        budgets.take("jira", 1, rate=2, burst=3, now=100.0)

    assert budgets.take("jira", 1, rate=2, burst=3, now=101.0) == 0.0


def test_locks_refuse_a_second_owner(store: Store) -> None:
    locks: NamedLocks = store.locks()

    assert locks.try_acquire("sync:crm", "a", ttl=60)
    assert not locks.try_acquire("sync:crm", "b", ttl=60)
    assert locks.try_acquire("sync:crm", "a", ttl=60)


def test_locks_expire_after_their_ttl(store: Store) -> None:
    locks = store.locks()
    locks.try_acquire("sync:crm", "a", ttl=60)
    store.clock.advance(60)  # type: ignore[attr-defined]

    assert locks.try_acquire("sync:crm", "b", ttl=60)


def test_locks_release_only_by_their_owner(store: Store) -> None:
    locks = store.locks()
    locks.try_acquire("sync:crm", "a", ttl=60)
    locks.release("sync:crm", "b")
    blocked = locks.try_acquire("sync:crm", "b", ttl=60)
    locks.release("sync:crm", "a")

    assert not blocked
    assert locks.try_acquire("sync:crm", "b", ttl=60)


def test_plugin_state_is_private_to_a_connection(store: Store) -> None:
    crm: PluginState = store.plugin_state("crm")
    crm.put("cursor", "1")
    crm.put("cursor", "2")

    assert crm.get("cursor") == "2"
    assert store.plugin_state("other").get("cursor") is None


def test_vault_round_trips_a_secret(store: Store) -> None:
    vault: CredentialVault = store.vault("crm")
    vault.put("refresh_token", "r-1")
    vault.put("refresh_token", "r-2")

    assert vault.get("refresh_token") == "r-2"
    assert store.vault("other").get("refresh_token") is None


def test_vault_never_stores_a_secret_in_clear(store: Store) -> None:
    secret = "s3cr3t-refresh-token-4f9a"
    store.vault("crm").put("refresh_token", secret)

    with store.transaction() as tx:
        dump = [
            repr(row)
            for table in metadata().sorted_tables
            for row in tx.execute(sa.select(table))
        ]

    assert any("crm" in line for line in dump)
    assert not any(secret in line for line in dump)


def test_secret_box_without_a_key_says_how_to_make_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)

    with pytest.raises(StoreError, match=KEY_ENV):
        SecretBox().encrypt("value")


def test_secret_box_reads_the_key_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(Fernet.generate_key().decode() + "\n")
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.setenv(KEY_FILE_ENV, str(key_file))
    box = SecretBox()

    assert box.decrypt(box.encrypt("value")) == "value"


def test_secret_box_with_another_key_cannot_read_the_secret() -> None:
    token = SecretBox(Fernet.generate_key().decode()).encrypt("value")

    with pytest.raises(StoreError, match="cannot be decrypted"):
        SecretBox(Fernet.generate_key().decode()).decrypt(token)
