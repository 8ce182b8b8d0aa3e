"""The `fulfil` command line: run the stack, and the command groups for orders, stock and
campaigns."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated

import typer

from activities.db.migrate import upgrade
from api.catalogue import parse_seed, seed_catalogue
from workers import render
from workers.chaos.command import chaos
from workers.cli_api import (
    api,
    apikey_app,
    in_process_metrics_address,
    issue_local_keys,
    print_local_access,
    serving_api,
)
from workers.cli_campaigns import campaign_app
from workers.cli_carriers import carrier_app
from workers.cli_common import (
    Json,
    JsonLogs,
    command_settings,
    console,
    fail,
    first_or_interrupted,
    run_command,
    serve_worker,
)
from workers.cli_notifications import notifications_app
from workers.cli_orders import order_app
from workers.cli_reports import report_app
from workers.cli_returns import return_app
from workers.cli_stock import stock_app
from workers.runtime import open_services

app = typer.Typer(help="fulfil: order fulfilment on Temporal and PostgreSQL.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(order_app, name="order")
app.add_typer(stock_app, name="stock")
app.add_typer(campaign_app, name="campaign")
app.add_typer(apikey_app, name="apikey")
app.add_typer(carrier_app, name="carrier")
app.add_typer(notifications_app, name="notifications")
app.add_typer(report_app, name="report")
app.add_typer(return_app, name="return")
app.command("api")(api)
app.command("chaos")(chaos)
ApiPort = Annotated[int | None, typer.Option(
    "--api-port", help="Port of the HTTP API on 127.0.0.1 (default: FULFIL_API_PORT or 8000).")]


@app.command()
def dev(api_port: ApiPort = None, as_json: JsonLogs = False) -> None:
    """Run everything locally: PostgreSQL, Temporal with its Web UI, migrations, a worker
    and the HTTP API, with a fresh local API key of each role."""
    settings = command_settings(json_logs=as_json)

    async def main() -> None:
        async with open_services(settings, start_server=True, migrate=True, seed_demo=True,
                                 sdk_metrics=in_process_metrics_address(settings)) as services, \
                serving_api(services, api_port or settings.api_port) as api_url:
            console.print(f"[bold]fulfil dev[/bold]  Temporal UI: {services.temporal_ui or '-'}"
                          f"  task queue: {settings.task_queue}  Ctrl-C stops everything")
            print_local_access(console, api_url, await issue_local_keys(services.session_factory))
            await serve_worker(services)

    run_command(main)


@app.command()
def demo(api_port: ApiPort = None, as_json: Json = False) -> None:
    """Bring the stack up, push a scripted set of orders through it, print a summary; the
    HTTP API answers while the demo runs."""
    from workers.demo import run_demo

    # The summary table is the demo's output; the declines and rejections it stages on
    # purpose would otherwise fill the screen with the SDK's activity-failure warnings.
    settings = command_settings(logging.ERROR)

    async def main() -> bool | None:
        async with open_services(settings, start_server=True, migrate=True,
                                 seed_demo="always",
                                 sdk_metrics=in_process_metrics_address(settings)) as services, \
                services.worker(), services.outbox_relay().running(), \
                serving_api(services, api_port or settings.api_port) as api_url:
            if not as_json:
                console.print(f"HTTP API: {api_url} (docs {api_url}/docs, metrics "
                              f"{api_url}/metrics) while the demo runs")
            return await first_or_interrupted(run_demo(services, console, as_json=as_json))

    finished = run_command(main)
    if finished is None:
        fail("the demo was stopped before its orders ended", 1)
    if not finished:
        raise typer.Exit(1)


@app.command()
def worker(
        metrics_port: Annotated[int | None, typer.Option(
            help="Serve the Temporal SDK's worker metrics for Prometheus on this port "
                 "(default: FULFIL_METRICS_PORT; none when unset).")] = None,
        metrics_host: Annotated[str, typer.Option(
            help="Address the metrics port listens on.")] = "0.0.0.0",
        as_json: JsonLogs = False) -> None:
    """Run a worker against the configured database and Temporal cluster."""
    settings = command_settings(json_logs=as_json)
    port = metrics_port or settings.metrics_port
    address = f"{metrics_host}:{port}" if port else None

    async def main() -> None:
        async with open_services(settings, sdk_metrics=address) as services:
            await serve_worker(services)

    run_command(main)


@app.command()
def migrate(as_json: Json = False) -> None:
    """Apply the database migrations."""
    settings = command_settings()

    async def main() -> None:
        async with open_services(settings, temporal=False, private_stack=True) as services:
            await asyncio.to_thread(upgrade, services.database_url)
        render.print_json({"migrated": True}) if as_json else console.print("database migrated")

    run_command(main)


@app.command()
def setup(as_json: Json = False) -> None:
    """Register fulfil's search attributes on an existing Temporal cluster."""
    from workers.stack import ensure_search_attributes

    settings = command_settings()

    async def main() -> None:
        async with open_services(settings) as services:
            added = await ensure_search_attributes(services.client, settings.namespace)
        render.print_json({"added": added}) if as_json else console.print(
            f"search attributes added: {', '.join(added) or 'none (all present)'}")

    run_command(main)


@app.command()
def seed(file: Annotated[Path, typer.Argument(help="Catalogue JSON file.")], as_json: Json = False
         ) -> None:
    """Load warehouses, products, shipping methods and opening stock."""
    settings = command_settings()

    async def main() -> None:
        data = parse_seed(file.read_text())
        async with open_services(settings, migrate=True, temporal=False,
                                 private_stack=True) as services:
            counts = await seed_catalogue(services.session_factory, data)
        render.print_json(vars(counts)) if as_json else console.print(
            f"seeded {counts.warehouses} warehouses, {counts.products} products, "
            f"{counts.shipping_methods} shipping methods, {counts.stock_rows} new stock rows")

    run_command(main)


@app.command()
def bench(orders: Annotated[int, typer.Option(help="How many orders.")] = 200,
          concurrency: Annotated[int, typer.Option(help="Orders in flight at once.")] = 50
          ) -> None:
    """Push orders through the full workflow and a no-op baseline; print throughput."""
    from workers.bench import run_bench

    settings = command_settings()

    async def main() -> None:
        async with open_services(settings, start_server=True, migrate=True) as services, \
                services.worker(max_concurrent_activities=200):
            await run_bench(services, console, orders=orders, concurrency=concurrency)

    run_command(main)


@app.command("bench-stock")
def bench_stock(
        reservations: Annotated[int, typer.Option(min=1, help="Reservations per workload.")] = 2000,
        concurrency: Annotated[int, typer.Option(
            min=1, help="Reservations in flight at once; the engine pools 20 connections.")] = 20,
) -> None:
    """Hot-SKU reservations per second against the raw conditional-UPDATE rate, same run."""
    from workers.bench_stock import run_stock_bench

    # The table is the output: one log line per reservation would bury it.
    settings = command_settings(logging.WARNING)

    async def main() -> None:
        async with open_services(settings, migrate=True, temporal=False) as services:
            await run_stock_bench(services.session_factory, console, reservations=reservations,
                                  concurrency=concurrency)

    run_command(main)
