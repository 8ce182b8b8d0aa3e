"""Signing in to the console with a support or admin API key, and signing out."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

import structlog
from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from api.console.pages import page
from api.console.session import (
    COOKIE,
    COOKIE_PATH,
    SESSION_SECONDS,
    Agent,
    check_form_token,
    check_origin,
    refusal_for,
    safe_next,
    services_of,
    signed_in,
)

router = APIRouter(prefix="/console", include_in_schema=False)
log = structlog.get_logger(__name__)
SignedIn = Annotated[Agent, Depends(signed_in)]
# Why the sign-in form is shown, by the code in its `reason` parameter: never text from the URL.
REASONS = {
    "required": ("notice", "Sign in with your support API key to continue."),
    "signed-out": ("notice", "You have signed out."),
    "revoked": ("error", "Your API key is no longer valid (unknown, revoked or without the "
                         "support role): sign in again."),
}


@router.get("")
async def console_home() -> RedirectResponse:
    return RedirectResponse(f"{COOKIE_PATH}/orders", status_code=303)


@router.get("/sign-in")
async def sign_in_form(request: Request, next: str = "", reason: str = "") -> HTMLResponse:
    kind, message = REASONS.get(reason, ("", ""))
    return page(request, "sign_in.html", {"next": safe_next(next), kind: message})


@router.post("/sign-in")
async def sign_in(request: Request, key: Annotated[str, Form()] = "",
                  next: Annotated[str, Form()] = "") -> Response:
    check_origin(request)
    owner = await services_of(request).api_keys.authenticate(key.strip())
    refusal = refusal_for(owner) if key.strip() else "Enter your API key."
    if refusal or owner is None:
        log.info("console.sign_in_refused", role=owner.role if owner else None)
        status = 403 if owner is not None else 401
        return page(request, "sign_in.html", {"next": safe_next(next), "error": refusal},
                    status_code=status)
    log.info("console.signed_in", agent=owner.name, role=owner.role)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(COOKIE, key.strip(), max_age=SESSION_SECONDS, path=COOKIE_PATH,
                        httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return response


@router.post("/sign-out")
async def sign_out(request: Request, agent: SignedIn,
                   csrf: Annotated[str, Form()] = "") -> RedirectResponse:
    check_origin(request)
    check_form_token(agent, csrf)
    log.info("console.signed_out", agent=agent.name)
    response = RedirectResponse(f"{COOKIE_PATH}/sign-in?{urlencode({'reason': 'signed-out'})}",
                                status_code=303)
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")
    return response
