"""`fulfil api` serves the HTTP API; `fulfil apikey create|revoke` manages its keys."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import typer
import uvicorn

from api.api_keys import ApiKeyService
from api.http.app import create_app
from api.http.services import ApiServices
from domain.access import Role
from workers import render
from workers.cli_common import Json, JsonLogs, command_settings, fail, run_command
from workers.runtime import open_services
from workers.settings import Settings

apikey_app = typer.Typer(help="API keys of the HTTP API.", no_args_is_help=True)


@asynccontextmanager
async def api_services(settings: Settings) -> AsyncIterator[ApiServices]:
    """The configured database and Temporal cluster, for as long as the server runs."""
    async with open_services(settings) as opened:
        yield ApiServices.of(opened.orders)


def api(host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
        as_json: JsonLogs = False) -> None:
    """Serve the storefront and support HTTP API (OpenAPI at /openapi.json, docs at /docs)."""
    settings = command_settings(json_logs=as_json)
    app = create_app(lambda: api_services(settings))
    # log_config=None: uvicorn's loggers go through the same structlog pipeline.
    uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_config=None)).run()


@apikey_app.command("create")
def apikey_create(role: Annotated[Role, typer.Option(help="What the key may do.")],
                  name: Annotated[str, typer.Option(help="Who uses it; shown on timelines.")],
                  as_json: Json = False) -> None:
    """Issue an API key and print it: it is shown this once and stored only as a hash."""
    if not name.strip() or len(name) > 64:
        fail("--name must be 1 to 64 characters", 2)
    settings = command_settings()

    async def main():  # type: ignore[no-untyped-def]
        async with open_services(settings, temporal=False) as opened:
            return await ApiKeyService(opened.session_factory).create(name.strip(), role)

    issued = run_command(main)
    render.print_json({"name": issued.name, "role": issued.role, "key": issued.key}) if as_json \
        else print(f"API key {issued.name} ({issued.role}), shown only now:\n{issued.key}")


@apikey_app.command("revoke")
def apikey_revoke(name: Annotated[str, typer.Option(help="The key's name.")],
                  as_json: Json = False) -> None:
    """Revoke an API key at once: requests with it are answered 401."""
    settings = command_settings()

    async def main() -> None:
        async with open_services(settings, temporal=False) as opened:
            await ApiKeyService(opened.session_factory).revoke(name)

    run_command(main)
    render.print_json({"name": name, "revoked": True}) if as_json else print(
        f"API key {name} revoked")
