"""API keys on every request: `Authorization: Bearer fk_…` or `X-API-Key: fk_…`.
No key, an unknown one or a revoked one is 401; a key whose role lacks the right is 403."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from api.api_keys import ApiKey
from api.http.services import ApiServices
from domain.access import Right, may

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="fulfil"'}


def services(request: Request) -> ApiServices:
    found: ApiServices = request.app.state.services
    return found


def _presented_key(authorization: str | None, x_api_key: str | None) -> str | None:
    if authorization:
        scheme, _, token = authorization.partition(" ")
        return token.strip() if scheme.lower() == "bearer" else None
    return x_api_key


async def authenticated(
        request: Request,
        authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
        x_api_key: Annotated[str | None, Header(include_in_schema=False)] = None) -> ApiKey:
    key = _presented_key(authorization, x_api_key)
    if not key:
        raise HTTPException(401, "an API key is required (Authorization: Bearer <key>)",
                            headers=_CHALLENGE)
    owner = await services(request).api_keys.authenticate(key)
    if owner is None:
        raise HTTPException(401, "the API key is unknown or revoked", headers=_CHALLENGE)
    return owner


def require(right: Right) -> Callable[[ApiKey], Awaitable[ApiKey]]:
    """A dependency that answers with the caller's key when its role has `right`."""
    async def check(caller: Annotated[ApiKey, Depends(authenticated)]) -> ApiKey:
        if not may(caller.role, right):
            raise HTTPException(403, f"the {caller.role} role may not {right.value.replace('_', ' ')}")
        return caller
    return check
