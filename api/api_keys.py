"""API keys of the HTTP API: issued once, stored only as a hash, checked on every request."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from activities.db.api_key_repository import ApiKeyRepository
from activities.db.engine import SessionFactory
from domain.access import Role
from domain.errors import ActionRefused

KEY_PREFIX = "fk_"


@dataclass(frozen=True)
class ApiKey:
    name: str
    role: str


@dataclass(frozen=True)
class IssuedKey:
    name: str
    role: str
    key: str  # shown to the person who asked for it, never stored


def hash_key(key: str) -> str:
    # The key is 256 random bits, not a password: no dictionary to guess from, so a plain
    # sha256 is enough and a slow KDF would only slow down every request.
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeyService:
    def __init__(self, session_factory: SessionFactory) -> None:
        self.session_factory = session_factory

    async def create(self, name: str, role: Role) -> IssuedKey:
        """Issues a new key; refused when the name is taken."""
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        try:
            async with self.session_factory.begin() as session:
                await ApiKeyRepository(session).add(name, role.value, hash_key(key))
        except IntegrityError:
            raise ActionRefused(f"an API key named {name!r} already exists") from None
        return IssuedKey(name, role.value, key)

    async def reissue(self, name: str, role: Role) -> IssuedKey:
        """Issues a new key under `name`, replacing the one it had: the old key stops working."""
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        async with self.session_factory.begin() as session:
            await ApiKeyRepository(session).put(name, role.value, hash_key(key))
        return IssuedKey(name, role.value, key)

    async def revoke(self, name: str) -> None:
        async with self.session_factory.begin() as session:
            if not await ApiKeyRepository(session).revoke(name):
                raise ActionRefused(f"no active API key named {name!r}")

    async def authenticate(self, key: str) -> ApiKey | None:
        """The key's owner, or None for an unknown or revoked key."""
        if not key.startswith(KEY_PREFIX):
            return None
        async with self.session_factory() as session:
            row = await ApiKeyRepository(session).get_active_by_hash(hash_key(key))
        return ApiKey(row.name, row.role) if row else None
