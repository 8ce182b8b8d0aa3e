"""The `fulfil` command line: run the stack, place and manage orders, look at stock."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, TypeVar

import structlog
import typer
from rich.console import Console

from activities.db.backorder_repository import Fill
from activities.db.migrate import upgrade
from activities.db.stock_repository import StockLevel
from api.campaigns import CampaignService, parse_hold, parse_time
from api.catalogue import parse_seed, seed_catalogue
from api.stock import StockService, parse_expected_date, wake_backorders
from domain.campaigns import Campaign
from domain.errors import DomainError
from workers import render
from workers.logging import configure_logging
from workers.runtime import Services, open_services
from workers.settings import Settings, load_settings
from workflows.order_contract import WarehouseConfirmation, order_workflow_id
from workflows.order_workflow import OrderWorkflow

app = typer.Typer(help="fulfil: order fulfilment on Temporal and PostgreSQL.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
order_app = typer.Typer(help="Place, inspect, cancel and refund orders.", no_args_is_help=True)
stock_app = typer.Typer(help="Stock levels across warehouses.", no_args_is_help=True)
app.add_typer(order_app, name="order")
app.add_typer(stock_app, name="stock")

# Piped output is for people reading logs, not an 80-column terminal.
console = Console(width=None if sys.stdout.isatty() else 160)
log = structlog.get_logger("fulfil.cli")
T = TypeVar("T")
Json = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


JsonLogs = Annotated[bool, typer.Option("--json", help="Log JSON lines (as FULFIL_LOG_FORMAT=json).")]


def _settings(level: int = logging.INFO, *, json_logs: bool = False) -> Settings:
    try:
        settings = load_settings()
    except ValueError as error:
        _fail(str(error), 2)
    if json_logs:
        settings = replace(settings, log_format="json")
    configure_logging(settings.log_format, level)
    return settings


def _fail(message: str, code: int) -> Any:
    print(f"fulfil: {message}", file=sys.stderr)
    raise typer.Exit(code)


def _run(main: Callable[[], Awaitable[T]]) -> T:
    """Runs a command; bad input or a refused action exits 2, any other failure 1."""
    failure: tuple[str, int] | None = None
    try:
        result: T = asyncio.run(main())  # type: ignore[arg-type]
    except typer.Exit:
        raise
    except DomainError as error:
        failure = (str(error), 2)
    except Exception as error:  # noqa: BLE001 - the CLI's last line of defence
        log.debug("command.failed", exc_info=True)
        failure = (f"{type(error).__name__}: {error}", 1)
    # A Temporal client still alive when the interpreter shuts down can abort the process
    # after its work is done (SIGABRT, "PyGILState_Release ... finalizing": its Rust threads
    # outlive Python; temporalio/sdk-python#300). The client sits in reference cycles, so
    # collect it now, outside the `except` blocks whose tracebacks would keep it alive.
    gc.collect()
    return _fail(*failure) if failure else result


async def _until_interrupted() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def _serve(services: Services) -> None:
    async with services.worker():
        log.info("worker.started", task_queue=services.settings.task_queue,
                 namespace=services.settings.namespace)
        await _until_interrupted()
    log.info("worker.stopped")


@app.command()
def dev(as_json: JsonLogs = False) -> None:
    """Run everything locally: PostgreSQL, Temporal with its Web UI, migrations, a worker."""
    settings = _settings(json_logs=as_json)

    async def main() -> None:
        async with open_services(settings, start_server=True, migrate=True,
                                 seed_demo=True) as services:
            console.print(f"[bold]fulfil dev[/bold]  Temporal UI: {services.temporal_ui or '-'}"
                          f"  task queue: {settings.task_queue}  Ctrl-C stops everything")
            await _serve(services)

    _run(main)


@app.command()
def demo(as_json: Json = False) -> None:
    """Bring the stack up, push a scripted set of orders through it, print a summary."""
    from workers.demo import run_demo

    # The summary table is the demo's output; the declines and rejections it stages on
    # purpose would otherwise fill the screen with the SDK's activity-failure warnings.
    settings = _settings(logging.ERROR)

    async def main() -> bool:
        async with open_services(settings, start_server=True, migrate=True,
                                 seed_demo="always") as services, services.worker():
            return await run_demo(services, console, as_json=as_json)

    if not _run(main):
        raise typer.Exit(1)


@app.command()
def worker(as_json: JsonLogs = False) -> None:
    """Run a worker against the configured database and Temporal cluster."""
    settings = _settings(json_logs=as_json)

    async def main() -> None:
        async with open_services(settings) as services:
            await _serve(services)

    _run(main)


@app.command()
def migrate(as_json: Json = False) -> None:
    """Apply the database migrations."""
    settings = _settings()

    async def main() -> None:
        async with open_services(settings, temporal=False) as services:
            await asyncio.to_thread(upgrade, services.database_url)
        render.print_json({"migrated": True}) if as_json else console.print("database migrated")

    _run(main)


@app.command()
def setup(as_json: Json = False) -> None:
    """Register fulfil's search attributes on an existing Temporal cluster."""
    from workers.stack import ensure_search_attributes

    settings = _settings()

    async def main() -> None:
        async with open_services(settings) as services:
            added = await ensure_search_attributes(services.client, settings.namespace)
        render.print_json({"added": added}) if as_json else console.print(
            f"search attributes added: {', '.join(added) or 'none (all present)'}")

    _run(main)


@app.command()
def seed(file: Annotated[Path, typer.Argument(help="Catalogue JSON file.")], as_json: Json = False
         ) -> None:
    """Load warehouses, products, shipping methods and opening stock."""
    settings = _settings()

    async def main() -> None:
        data = parse_seed(file.read_text())
        async with open_services(settings, migrate=True, temporal=False) as services:
            counts = await seed_catalogue(services.session_factory, data)
        render.print_json(vars(counts)) if as_json else console.print(
            f"seeded {counts.warehouses} warehouses, {counts.products} products, "
            f"{counts.shipping_methods} shipping methods, {counts.stock_rows} new stock rows")

    _run(main)


@order_app.command("place")
def order_place(file: Annotated[str, typer.Argument(help="Checkout JSON file, or - for stdin.")],
                as_json: Json = False) -> None:
    """Place an order from the storefront's checkout payload."""
    settings = _settings()

    raw = sys.stdin.read() if file == "-" else Path(file).read_text()

    async def main() -> None:
        async with open_services(settings) as services:
            placed = await services.orders.place(raw)
        data = {"order_id": placed.order.order_id, "workflow_id": placed.workflow_id,
                "created": placed.created, "totals": render.order_json_totals(placed.order)}
        render.print_json(data) if as_json else console.print(
            f"{'placed' if placed.created else 'already placed'} {placed.order.order_id} "
            f"({placed.order.totals.grand_total}) as workflow {placed.workflow_id}")

    _run(main)


@order_app.command("show")
def order_show(order_id: str, as_json: Json = False) -> None:
    """Show an order's status, money, shipments and timeline (asked of its workflow)."""
    settings = _settings()

    async def main() -> None:
        async with open_services(settings) as services:
            view = await services.orders.view(order_id)
        render.print_json(render.order_json(view)) if as_json else render.print_order(view,
                                                                                       console)

    _run(main)


@order_app.command("list")
def order_list(status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
               customer: Annotated[str | None, typer.Option(help="Only this customer id.")] = None,
               limit: int = 50, as_json: Json = False) -> None:
    """List recent orders from the database record."""
    settings = _settings()

    async def main() -> None:
        async with open_services(settings) as services:
            rows = await services.orders.list(status=status and status.upper(),
                                              customer_id=customer, limit=limit)
        render.print_json([render.order_row_json(r) for r in rows]) if as_json else (
            render.print_orders(rows, console))

    _run(main)


@order_app.command("cancel")
def order_cancel(order_id: str, reason: Annotated[str, typer.Option(help="Why.")],
                 actor: str = "support", as_json: Json = False) -> None:
    """Cancel an order that has not shipped; waits until it is unwound."""
    settings = _settings()

    async def main() -> None:
        async with open_services(settings) as services:
            view = await services.orders.cancel(order_id, reason, actor)
        render.print_json(render.order_json(view)) if as_json else console.print(
            f"{order_id} is {view.status}")

    _run(main)


@order_app.command("refund")
def order_refund(order_id: str, amount: Annotated[str, typer.Option(help="e.g. 5.00")],
                 reason: Annotated[str, typer.Option(help="Why.")], actor: str = "support",
                 as_json: Json = False) -> None:
    """Refund part or all of what was captured."""
    settings = _settings()

    async def main() -> None:
        async with open_services(settings) as services:
            view = await services.orders.refund(order_id, amount, reason, actor)
        render.print_json(render.order_json(view)) if as_json else console.print(
            f"{order_id}: refunded {view.payment.refunded} of {view.payment.captured}")

    _run(main)


ParcelFrom = Annotated[str, typer.Option(
    help="The warehouse whose parcel this is, when the order ships from several.")]


def _confirm(step: str, order_id: str, actor: str, warehouse: str) -> None:
    settings = _settings()

    async def main() -> None:
        async with open_services(settings) as services:
            handle = services.client.get_workflow_handle(order_workflow_id(order_id))
            signal_method = (OrderWorkflow.confirm_pick if step == "pick"
                             else OrderWorkflow.confirm_pack)
            await handle.signal(signal_method, WarehouseConfirmation(actor, warehouse))
        console.print(f"{step} confirmation sent for {order_id}"
                      + (f" from {warehouse}" if warehouse else ""))

    _run(main)


@order_app.command("confirm-pick")
def order_confirm_pick(order_id: str, actor: str = "warehouse",
                       warehouse: ParcelFrom = "") -> None:
    """Warehouse: the order's items have been picked."""
    _confirm("pick", order_id, actor, warehouse)


@order_app.command("confirm-pack")
def order_confirm_pack(order_id: str, actor: str = "warehouse",
                       warehouse: ParcelFrom = "") -> None:
    """Warehouse: the order's parcel is packed."""
    _confirm("pack", order_id, actor, warehouse)


Sku = Annotated[str, typer.Option(help="The SKU.")]
Warehouse = Annotated[str, typer.Option(help="The warehouse code.")]
Actor = Annotated[str, typer.Option(help="Who makes the change, for the movement ledger.")]


def _stock_command(work: Callable[[StockService], Awaitable[T]]) -> T:
    """Runs `work` against the database alone: stock commands never need Temporal."""
    settings = _settings()

    async def main() -> T:
        async with open_services(settings, temporal=False) as services:
            return await work(services.stock)

    return _run(main)


def _wake(fills: tuple[Fill, ...]) -> None:
    """Signals the orders a receipt filled; when Temporal is out of reach they notice the
    filled backorder on their next poll, so the receipt still stands."""
    settings = _settings()

    async def main() -> None:
        async with open_services(settings, temporal="if-reachable") as services:
            if services.temporal is not None:
                await wake_backorders(services.temporal, fills)

    _run(main)


def _print_level(level: StockLevel, as_json: bool, done: str) -> None:
    render.print_json(render.stock_json(level)) if as_json else console.print(
        f"{done}: {level.sku}@{level.warehouse} on hand {level.on_hand}, reserved "
        f"{level.reserved}, safety {level.safety_stock}, reorder point {level.reorder_point}, "
        f"salable {level.salable}")


@stock_app.command("receive")
def stock_receive(sku: Sku, warehouse: Warehouse,
                  qty: Annotated[int, typer.Option(help="Units received.")],
                  reference: Annotated[str, typer.Option(help="Delivery or PO reference.")] = "",
                  actor: Actor = "warehouse", as_json: Json = False) -> None:
    """Book a delivery into a warehouse (marks an expected delivery with that reference received)."""
    receipt = _stock_command(lambda stock: stock.receive(sku, warehouse, qty, reference=reference,
                                                         actor=actor))
    if receipt.fills:
        _wake(receipt.fills)
    filled = [{"order_id": f.order_id, "quantity": f.quantity} for f in receipt.fills]
    render.print_json({**vars(receipt), "fills": filled}) if as_json else console.print(
        f"received {receipt.quantity}x {receipt.sku}@{receipt.warehouse}: on hand "
        f"{receipt.on_hand_after}, salable {receipt.salable_after}; "
        f"{len(filled)} backordered orders filled")


@stock_app.command("adjust")
def stock_adjust(sku: Sku, warehouse: Warehouse,
                 reason: Annotated[str, typer.Option(help="Why, e.g. 'cycle count'.")],
                 delta: Annotated[int | None, typer.Option(help="Units to add (negative: remove).")
                                  ] = None,
                 counted: Annotated[int | None, typer.Option(help="On hand as counted.")] = None,
                 actor: Actor = "warehouse", as_json: Json = False) -> None:
    """Correct on-hand stock by --delta or to a --counted quantity; never below reserved."""
    level = _stock_command(lambda stock: stock.adjust(sku, warehouse, delta=delta, counted=counted,
                                                      reason=reason, actor=actor))
    _print_level(level, as_json, "adjusted")


@stock_app.command("policy")
def stock_policy(sku: Sku, warehouse: Warehouse,
                 safety: Annotated[int | None, typer.Option(help="Units held back from orders.")
                                   ] = None,
                 reorder_point: Annotated[int | None, typer.Option(
                     help="Alert when salable falls to this.")] = None,
                 actor: Actor = "purchasing", as_json: Json = False) -> None:
    """Set the safety stock and the reorder point of a SKU in a warehouse."""
    level = _stock_command(lambda stock: stock.set_policy(
        sku, warehouse, safety_stock=safety, reorder_point=reorder_point, actor=actor))
    _print_level(level, as_json, "policy set")


@stock_app.command("expect")
def stock_expect(sku: Sku, warehouse: Warehouse,
                 qty: Annotated[int, typer.Option(help="Units on their way.")],
                 date: Annotated[str, typer.Option(help="Expected arrival, ISO (UTC if no zone).")],
                 reference: Annotated[str, typer.Option(help="Delivery or PO reference.")] = "",
                 as_json: Json = False) -> None:
    """Record a delivery on its way to a warehouse."""
    incoming = _stock_command(lambda stock: stock.expect(
        sku, warehouse, qty, parse_expected_date(date), reference))
    data = {**vars(incoming), "expected_at": incoming.expected_at.isoformat()}
    render.print_json(data) if as_json else console.print(
        f"expecting {incoming.quantity}x {incoming.sku}@{incoming.warehouse} on "
        f"{data['expected_at']}" + (f" ({incoming.reference})" if incoming.reference else ""))


@stock_app.command("show")
def stock_show(sku: str | None = None, warehouse: str | None = None, as_json: Json = False
               ) -> None:
    """On hand, reserved, safety, salable and incoming stock per SKU and warehouse."""
    levels = _stock_command(lambda stock: stock.show(sku, warehouse))
    render.print_json([render.stock_json(level) for level in levels]) if as_json else (
        render.print_stock(levels, console))


@stock_app.command("alerts")
def stock_alerts(include_resolved: Annotated[bool, typer.Option(
                     "--all", help="Resolved alerts too.")] = False,
                 as_json: Json = False) -> None:
    """Levels that fell to their reorder point (open ones unless --all)."""
    alerts = _stock_command(lambda stock: stock.alerts(include_resolved=include_resolved))
    render.print_json([render.stock_alert_json(a) for a in alerts]) if as_json else (
        render.print_stock_alerts(alerts, console))


@app.command()
def bench(orders: Annotated[int, typer.Option(help="How many orders.")] = 200,
          concurrency: Annotated[int, typer.Option(help="Orders in flight at once.")] = 50
          ) -> None:
    """Push orders through the full workflow and a no-op baseline; print throughput."""
    from workers.bench import run_bench

    settings = _settings()

    async def main() -> None:
        async with open_services(settings, start_server=True, migrate=True) as services, \
                services.worker(max_concurrent_activities=200):
            await run_bench(services, console, orders=orders, concurrency=concurrency)

    _run(main)


campaign_app = typer.Typer(help="Campaigns: sale periods with stock held back for their orders.",
                           no_args_is_help=True)
app.add_typer(campaign_app, name="campaign")


def _campaign_command(work: Callable[[CampaignService], Awaitable[T]]) -> T:
    settings = _settings()

    async def main() -> T:
        async with open_services(settings) as services:
            return await work(CampaignService(services.client, services.session_factory,
                                              settings.task_queue))

    return _run(main)


def _campaign_json(campaign: Campaign) -> dict[str, Any]:
    return {"code": campaign.code, "name": campaign.name, "status": campaign.status,
            "starts_at": campaign.starts_at.isoformat(), "ends_at": campaign.ends_at.isoformat(),
            "left": campaign.left,
            "holds": [{"sku": h.sku, "warehouse": h.warehouse, "held": h.quantity,
                       "used": h.used, "left": h.left} for h in campaign.holds]}


def _campaign_line(campaign: Campaign) -> str:
    return (f"{campaign.code}  {campaign.status:<6}  {campaign.starts_at:%Y-%m-%d %H:%M} → "
            f"{campaign.ends_at:%Y-%m-%d %H:%M} UTC  {campaign.left} units left  {campaign.name}")


@campaign_app.command("create")
def campaign_create(
        code: Annotated[str, typer.Option(help="Campaign code, e.g. SUMMER-26.")],
        name: Annotated[str, typer.Option(help="What people call it.")],
        starts: Annotated[str, typer.Option(help="Start, ISO date-time (UTC without a zone).")],
        ends: Annotated[str, typer.Option(help="End, ISO date-time (UTC without a zone).")],
        hold: Annotated[list[str] | None, typer.Option(
            help="SKU@WAREHOUSE=QTY held back for the campaign; repeatable.")] = None,
        as_json: Json = False) -> None:
    """Create a campaign: its stock is held back from ordinary orders until it ends."""
    try:
        window = parse_time(starts, "starts"), parse_time(ends, "ends")
        holds = [parse_hold(h) for h in hold or []]
    except DomainError as error:
        _fail(str(error), 2)
    campaign = _campaign_command(lambda service: service.create(code, name, *window, holds))
    render.print_json(_campaign_json(campaign)) if as_json else console.print(
        f"created campaign {campaign.code}: {campaign.left} units held until "
        f"{campaign.ends_at.isoformat()}")


@campaign_app.command("list")
def campaign_list(as_json: Json = False) -> None:
    """Every campaign, active and ended."""
    campaigns = _campaign_command(lambda service: service.list())
    if as_json:
        render.print_json([_campaign_json(c) for c in campaigns])
        return
    for campaign in campaigns:
        console.print(_campaign_line(campaign), highlight=False)


@campaign_app.command("show")
def campaign_show(code: str, as_json: Json = False) -> None:
    """One campaign: per SKU and warehouse, the units held, used by its orders and left."""
    campaign = _campaign_command(lambda service: service.show(code))
    if as_json:
        render.print_json(_campaign_json(campaign))
        return
    console.print(_campaign_line(campaign), highlight=False)
    for h in campaign.holds:
        console.print(f"  {h.sku}@{h.warehouse}  held {h.quantity}  used {h.used}  left {h.left}",
                      highlight=False)


@campaign_app.command("end")
def campaign_end(code: str, reason: Annotated[str, typer.Option(help="Why.")] = "ended early",
                 actor: str = "support", as_json: Json = False) -> None:
    """End a campaign now; what it still holds goes back to general stock."""
    result = _campaign_command(lambda service: service.end(code, reason, actor))
    render.print_json(vars(result)) if as_json else console.print(
        f"ended campaign {result.code}: {result.units_returned} units back in general stock")


@app.command("bench-stock")
def bench_stock(
        reservations: Annotated[int, typer.Option(min=1, help="Reservations per workload.")] = 2000,
        concurrency: Annotated[int, typer.Option(
            min=1, help="Reservations in flight at once; the engine pools 20 connections.")] = 20,
) -> None:
    """Hot-SKU reservations per second against the raw conditional-UPDATE rate, same run."""
    from workers.bench_stock import run_stock_bench

    # The table is the output: one log line per reservation would bury it.
    settings = _settings(logging.WARNING)

    async def main() -> None:
        async with open_services(settings, migrate=True, temporal=False) as services:
            await run_stock_bench(services.session_factory, console, reservations=reservations,
                                  concurrency=concurrency)

    _run(main)
