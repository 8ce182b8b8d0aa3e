"""`fulfil stock`: receipts, adjustments, policies, expected deliveries, levels, alerts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer

from activities.db.backorder_repository import Fill
from activities.db.stock_repository import StockLevel
from api.stock import StockService, parse_expected_date, wake_backorders
from workers import render
from workers.cli_common import (
    Json,
    command_settings,
    console,
    run_command,
)
from workers.runtime import open_services

T = TypeVar("T")

stock_app = typer.Typer(help="Stock levels across warehouses.", no_args_is_help=True)


Sku = Annotated[str, typer.Option(help="The SKU.")]
Warehouse = Annotated[str, typer.Option(help="The warehouse code.")]
Actor = Annotated[str, typer.Option(help="Who makes the change, for the movement ledger.")]


def _stock_command(work: Callable[[StockService], Awaitable[T]]) -> T:
    """Runs `work` against the database alone: stock commands never need Temporal."""
    settings = command_settings()

    async def main() -> T:
        async with open_services(settings, temporal=False) as services:
            return await work(services.stock)

    return run_command(main)


def _wake(fills: tuple[Fill, ...]) -> None:
    """Signals the orders a receipt filled; when Temporal is out of reach they notice the
    filled backorder on their next poll, so the receipt still stands."""
    settings = command_settings()

    async def main() -> None:
        async with open_services(settings, temporal="if-reachable") as services:
            if services.temporal is not None:
                await wake_backorders(services.temporal, fills)

    run_command(main)


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
