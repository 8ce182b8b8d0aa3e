"""Who is signed in to the console, and the checks every state-changing form passes.

The session cookie holds the support key itself, HttpOnly and SameSite=Strict, and the key
is checked against the database on every request: a revoked key is signed out at once, and
there is no session store to share between API processes or to lose on a restart.

Cross-site request forgery is refused twice over: the browser never sends a SameSite=Strict
cookie with a request another site started, and every POST must come from our own origin
(Origin, else Referer) and carry a form token derived from the key with HMAC, which a page on
another site cannot read or compute."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import Request

from api.api_keys import ApiKey
from api.http.services import ApiServices
from domain.access import Right, may

COOKIE = "fulfil_console"
COOKIE_PATH = "/console"
SESSION_SECONDS = 8 * 3600  # a working day: the agent signs in again the next morning
CONSOLE_RIGHTS = (Right.LIST_ORDERS, Right.CANCEL_ORDER, Right.REFUND_ORDER)


@dataclass(frozen=True)
class Agent:
    """The person at the console: their key's name is the actor on timelines."""

    name: str
    role: str
    csrf_token: str


class SignInRequired(Exception):
    """Not signed in (or the key was revoked): the page answers with the sign-in form."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


class ForgedRequest(Exception):
    """A POST without our origin or the session's form token."""


def csrf_token(key: str) -> str:
    return hmac.new(key.encode(), b"fulfil-console-form", hashlib.sha256).hexdigest()


def may_use_console(role: str) -> bool:
    return all(may(role, right) for right in CONSOLE_RIGHTS)


def refusal_for(owner: ApiKey | None) -> str | None:
    """Why this key may not sign in to the console, or None when it may."""
    if owner is None:
        return "That API key is unknown or has been revoked."
    if not may_use_console(owner.role):
        return (f"A {owner.role} key cannot sign in to the support console: "
                "use a support or admin key.")
    return None


def services_of(request: Request) -> ApiServices:
    found: ApiServices = request.app.state.services
    return found


async def signed_in(request: Request) -> Agent:
    """The agent whose cookie holds a live support key; otherwise off to the sign-in form."""
    key = request.cookies.get(COOKIE)
    if not key:
        raise SignInRequired()
    owner = await services_of(request).api_keys.authenticate(key)
    refusal = refusal_for(owner)
    if refusal or owner is None:
        raise SignInRequired(refusal or "")
    return Agent(owner.name, owner.role, csrf_token(key))


def check_origin(request: Request) -> None:
    """Refuses a POST whose Origin (or, without one, Referer) is not this server."""
    claimed = request.headers.get("origin") or request.headers.get("referer")
    if not claimed or urlsplit(claimed).netloc != request.headers.get("host"):
        raise ForgedRequest("the form was not sent from this console")


def check_form_token(agent: Agent, presented: str) -> None:
    if not hmac.compare_digest(agent.csrf_token, presented):
        raise ForgedRequest("the form's token does not belong to this session")


def safe_next(target: str | None) -> str:
    """Where to go after signing in: only a console path, never another site."""
    if target and target.startswith(COOKIE_PATH) and not target.startswith("//"):
        return target
    return f"{COOKIE_PATH}/orders"
