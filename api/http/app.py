"""The HTTP API's FastAPI app, built by `create_app`: nothing connects at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from api.checkout import CheckoutPayload
from api.console import install_console
from api.http.problems import Problem, install_problem_handlers
from api.http.routes_aftercare import router as aftercare_router
from api.http.routes_carriers import router as carriers_router
from api.http.routes_metrics import router as metrics_router
from api.http.routes_orders import router as orders_router
from api.http.routes_stock import router as stock_router
from api.http.services import ApiServices, ServicesOpener


def create_app(services: ApiServices | ServicesOpener) -> FastAPI:
    """An app on ready services (tests), or on an opener the lifespan enters at startup."""
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if isinstance(services, ApiServices):
            yield
            return
        async with services() as opened:
            app.state.services = opened
            yield

    app = FastAPI(title="fulfil", version="1", lifespan=lifespan,
                  description="Storefront, support and warehouse API of the fulfil order engine.")
    if isinstance(services, ApiServices):
        # Set now, not in the lifespan: test clients (httpx.ASGITransport) do not run it.
        app.state.services = services
    install_problem_handlers(app)
    app.include_router(orders_router)
    app.include_router(aftercare_router)
    app.include_router(stock_router)
    app.include_router(carriers_router)
    app.include_router(metrics_router)
    install_console(app)
    _document_checkout(app)
    return app


def _document_checkout(app: FastAPI) -> None:
    """The place route reads its raw body (to name malformed JSON like the CLI does), so
    FastAPI cannot see the checkout model; refusals name the Problem model by reference (to
    document them as problem+json): add both schemas to the OpenAPI components."""
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = FastAPI.openapi(app)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in (CheckoutPayload, Problem):
                found = model.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(found.pop("$defs", {}))
                components[model.__name__] = found
            app.openapi_schema = schema
        return app.openapi_schema
    app.openapi = openapi  # type: ignore[method-assign]
