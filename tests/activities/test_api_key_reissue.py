"""Re-issuing a named API key (what `fulfil dev` does for its local keys on every start)."""

from __future__ import annotations

from activities.db.engine import SessionFactory
from api.api_keys import ApiKey, ApiKeyService
from domain.access import Role


async def test_a_reissued_key_replaces_the_old_one_and_revives_a_revoked_name(
        db: SessionFactory) -> None:
    keys = ApiKeyService(db)
    first = await keys.reissue("local-support", Role.SUPPORT)
    second = await keys.reissue("local-support", Role.SUPPORT)

    assert await keys.authenticate(first.key) is None
    assert await keys.authenticate(second.key) == ApiKey("local-support", "support")

    await keys.revoke("local-support")
    third = await keys.reissue("local-support", Role.ADMIN)
    assert await keys.authenticate(third.key) == ApiKey("local-support", "admin")
