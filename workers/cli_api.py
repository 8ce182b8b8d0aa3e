"""`fulfil api` serves the HTTP API; `fulfil apikey create|revoke` manages its keys;
`fulfil dev` and `fulfil demo` serve the API beside their worker with `serving_api`."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Annotated

import structlog
import typer
import uvicorn
from fastapi import FastAPI
from rich.console import Console

from activities.db.engine import SessionFactory
from api.api_keys import ApiKeyService, IssuedKey
from api.http.app import create_app
from api.http.routes_metrics import serve_sdk_metrics_from
from api.http.services import ApiServices
from domain.access import Role
from workers import render
from workers.cli_common import Json, JsonLogs, command_settings, fail, run_command
from workers.runtime import Services, open_services
from workers.settings import Settings
from workers.stack import find_free_port

log = structlog.get_logger(__name__)
LOCAL_HOST = "127.0.0.1"
API_DRAIN_S = 2

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
    uvicorn.Server(_uvicorn_config(app, host, port)).run()


def _uvicorn_config(app: FastAPI, host: str, port: int) -> uvicorn.Config:
    # log_config=None: uvicorn's loggers go through the same structlog pipeline. Requests
    # still running API_DRAIN_S after a stop are cancelled: one waiting on a workflow
    # update would otherwise keep the process up for as long as the update takes.
    return uvicorn.Config(app, host=host, port=port, log_config=None,
                          timeout_graceful_shutdown=API_DRAIN_S)


class _BesideWorker(uvicorn.Server):
    """uvicorn sharing its process with a worker: the command's own Ctrl-C handling stops
    both, so uvicorn must not take the signals over (and re-raise them when it is done)."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _listen(host: str, port: int) -> socket.socket:
    """Binds the API's port first, so a taken port is a clear error rather than uvicorn
    calling sys.exit inside a task."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise RuntimeError(f"the HTTP API cannot listen on {host}:{port} ({error.strerror}); "
                           f"choose another port with --api-port or FULFIL_API_PORT") from None
    return sock


@asynccontextmanager
async def serving_api(services: Services, port: int, host: str = LOCAL_HOST
                      ) -> AsyncIterator[str]:
    """Serves the HTTP API on this process's services (and its SDK metrics on /metrics)
    until the block ends; yields the API's base URL once it accepts connections."""
    app = create_app(ApiServices.of(services.orders))
    serve_sdk_metrics_from(app, services.sdk_metrics_url)
    sock = _listen(host, port)
    server = _BesideWorker(_uvicorn_config(app, host, port))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if serving.done():
                serving.result()
                raise RuntimeError(f"the HTTP API on {host}:{port} stopped while starting")
            await asyncio.sleep(0.05)
        log.info("api.started", url=f"http://{host}:{port}")
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        await serving
        sock.close()
        log.info("api.stopped")


def in_process_metrics_address(settings: Settings) -> str:
    """Where the SDK's metrics are served when the API shows them: the configured port, or
    any free one, on loopback only (the API's /metrics is the place to scrape them)."""
    return f"{LOCAL_HOST}:{settings.metrics_port or find_free_port()}"


async def issue_local_keys(session_factory: SessionFactory) -> list[IssuedKey]:
    """A fresh `local-<role>` key of every role: keys are stored only as hashes, so the one
    way to show a key again is to replace it, and the previous one stops working."""
    service = ApiKeyService(session_factory)
    return [await service.reissue(f"local-{role.value}", role) for role in Role]


def print_local_access(console: Console, api_url: str, keys: list[IssuedKey]) -> None:
    console.print(f"HTTP API: {api_url}  docs: {api_url}/docs  console: {api_url}/console"
                  f"  metrics: {api_url}/metrics", highlight=False)
    console.print("local API keys (replaced on every start):", highlight=False)
    for issued in keys:
        console.print(f"  {issued.role:<10}  {issued.name:<16}  {issued.key}", highlight=False,
                      soft_wrap=True)


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
