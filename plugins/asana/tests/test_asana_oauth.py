"""OAuth: tokens refreshed in time, the new refresh token kept before use."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from servicesync import VirtualClock
from servicesync.contract import ConnectorContext
from servicesync.errors import AuthenticationError
from servicesync_asana import AsanaConfig, AsanaConnector
from servicesync_asana.fake import AsanaFake
from servicesync_sdk.testing import MemoryLocks, MemoryPluginState, MemoryVault


class WatchedVault(MemoryVault):
    """A vault that notes each write, in order, with the API calls made so far."""

    def __init__(self, fake: AsanaFake) -> None:
        super().__init__()
        self.fake = fake
        self.writes: list[tuple[str, int]] = []

    def put(self, name: str, value: str) -> None:
        api_calls = sum(1 for e in self.fake.log if e.path.startswith("/api/"))
        self.writes.append((name, api_calls))
        super().put(name, value)


@pytest.fixture
def app(fake: AsanaFake) -> tuple[str, str, str]:
    admin = next(u for u in fake.space.users.values() if u.email == "admin@acme.test")
    return fake.oauth.add_app(admin.gid)


@pytest.fixture
async def oauth(
    fake: AsanaFake, clock: VirtualClock, app: tuple[str, str, str]
) -> AsyncIterator[tuple[AsanaConnector, WatchedVault]]:
    connector, vault = build(fake, clock, app, WatchedVault(fake))
    yield connector, vault
    await connector.aclose()


def build(
    fake: AsanaFake, clock: VirtualClock, app: tuple[str, str, str], vault: MemoryVault
) -> tuple[AsanaConnector, WatchedVault]:
    client_id, secret, refresh = app
    config = AsanaConfig(
        workspace=fake.space.gid,
        client_id=client_id,
        client_secret=secret,
        refresh_token=refresh,
    )
    context = ConnectorContext(
        connection="delivery",
        clock=clock,
        credentials=vault,
        state=MemoryPluginState(),
        locks=MemoryLocks(clock),
        transport=fake.transport(),
    )
    assert isinstance(vault, WatchedVault)
    return AsanaConnector(config, context), vault


async def test_oauth_rotated_refresh_token_stored_before_the_access_token_is_used(
    fake: AsanaFake, oauth: tuple[AsanaConnector, WatchedVault]
) -> None:
    connector, vault = oauth

    await connector.check()

    names = [name for name, _ in vault.writes]
    assert names.index("oauth_refresh_token") < names.index("oauth_access_token")
    assert vault.values["oauth_refresh_token"] in fake.oauth.refresh_tokens
    api_calls = [n for name, n in vault.writes if name == "oauth_refresh_token"]
    assert api_calls == [0], "kept before the first API call was made"
    assert fake.log.count(route="/api/1.0/users/{user_gid}", status=200) == 1


async def test_oauth_token_refreshed_before_it_expires(
    fake: AsanaFake, oauth: tuple[AsanaConnector, WatchedVault], clock: VirtualClock
) -> None:
    connector, _ = oauth
    await connector.check()
    clock.advance(3600 - 60)

    await connector.check()

    assert fake.oauth.refreshes == 2
    assert fake.log.count(status=401) == 0


async def test_oauth_revoked_token_refreshed_once_and_call_repeated(
    fake: AsanaFake, oauth: tuple[AsanaConnector, WatchedVault]
) -> None:
    connector, _ = oauth
    await connector.check()
    fake.oauth.revoke_access()

    await connector.check()

    assert fake.log.count(status=401) == 1
    assert fake.oauth.refreshes == 2


async def test_oauth_second_connection_uses_the_stored_token(
    fake: AsanaFake,
    clock: VirtualClock,
    app: tuple[str, str, str],
    oauth: tuple[AsanaConnector, WatchedVault],
) -> None:
    connector, vault = oauth
    await connector.check()
    other, _ = build(fake, clock, app, vault)

    await other.check()
    await other.aclose()

    assert fake.oauth.refreshes == 1


async def test_oauth_refused_refresh_raises_authentication_error(
    fake: AsanaFake, oauth: tuple[AsanaConnector, WatchedVault]
) -> None:
    connector, _ = oauth
    fake.oauth.refresh_tokens.clear()

    with pytest.raises(AuthenticationError) as refused:
        await connector.check()

    assert "authorise the app again" in str(refused.value)
    assert all(secret not in str(refused.value) for secret in fake.oauth.secrets())
