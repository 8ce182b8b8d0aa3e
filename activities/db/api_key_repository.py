"""The HTTP API's keys, looked up by the hash of the key a caller presents."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from activities.db.base import utcnow
from activities.db.tables import ApiKeyRow


class ApiKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, name: str, role: str, key_hash: str) -> ApiKeyRow:
        row = ApiKeyRow(name=name, role=role, key_hash=key_hash)
        self.session.add(row)
        await self.session.flush()
        return row

    async def put(self, name: str, role: str, key_hash: str) -> None:
        """Stores the key under `name`: a new row, or the named row (even a revoked one:
        names are unique) takes the new role and hash and is active again."""
        row = await self.get_by_name(name)
        if row is None:
            await self.add(name, role, key_hash)
            return
        row.role, row.key_hash, row.revoked_at, row.created_at = role, key_hash, None, utcnow()

    async def get_by_name(self, name: str) -> ApiKeyRow | None:
        return await self.session.scalar(select(ApiKeyRow).where(ApiKeyRow.name == name))

    async def get_active_by_hash(self, key_hash: str) -> ApiKeyRow | None:
        return await self.session.scalar(select(ApiKeyRow).where(
            ApiKeyRow.key_hash == key_hash, ApiKeyRow.revoked_at.is_(None)))

    async def revoke(self, name: str) -> bool:
        """Revokes the named key; False when there is no such key still active."""
        result = await self.session.execute(update(ApiKeyRow).where(
            ApiKeyRow.name == name, ApiKeyRow.revoked_at.is_(None)).values(revoked_at=utcnow()))
        return bool(result.rowcount)  # type: ignore[attr-defined]
