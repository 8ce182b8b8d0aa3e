"""The support console and operations dashboard: server-rendered pages under /console."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from api.console.pages import HERE, ConsoleSettings, page
from api.console.routes_auth import router as auth_router
from api.console.routes_ops import router as ops_router
from api.console.routes_orders import router as orders_router
from api.console.session import COOKIE, COOKIE_PATH, ForgedRequest, SignInRequired


async def _to_sign_in(request: Request, error: Exception) -> Response:
    assert isinstance(error, SignInRequired)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    reason = "revoked" if error.message else "required"
    response = Response(status_code=303, headers={
        "Location": f"{COOKIE_PATH}/sign-in?{urlencode({'next': here, 'reason': reason})}"})
    if error.message:
        response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")
    return response


async def _forged(request: Request, error: Exception) -> Response:
    return page(request, "message.html", {"title": "Request refused", "reason": str(error)},
                status_code=403)


def install_console(app: FastAPI, settings: ConsoleSettings | None = None) -> None:
    """Mounts the console's pages and static files on `app`."""
    app.state.console = settings or ConsoleSettings.from_env()
    app.mount(f"{COOKIE_PATH}/static", StaticFiles(directory=HERE / "static"),
              name="console-static")
    app.add_exception_handler(SignInRequired, _to_sign_in)
    app.add_exception_handler(ForgedRequest, _forged)
    for router in (auth_router, orders_router, ops_router):
        app.include_router(router)
