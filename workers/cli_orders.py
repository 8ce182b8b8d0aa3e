"""`fulfil order`: place, inspect, cancel and refund orders; the warehouse's confirmations."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from api.reports import parse_instant
from workers import render
from workers.cli_common import (
    Json,
    command_settings,
    console,
    run_command,
)
from workers.runtime import open_services

T = TypeVar("T")

order_app = typer.Typer(help="Place, inspect, cancel and refund orders.", no_args_is_help=True)


@order_app.command("place")
def order_place(file: Annotated[str, typer.Argument(help="Checkout JSON file, or - for stdin.")],
                as_json: Json = False) -> None:
    """Place an order from the storefront's checkout payload."""
    settings = command_settings()

    raw = sys.stdin.read() if file == "-" else Path(file).read_text()

    async def main() -> None:
        async with open_services(settings) as services:
            placed = await services.orders.place(raw)
        data = {"order_id": placed.order.order_id, "workflow_id": placed.workflow_id,
                "created": placed.created, "totals": render.order_json_totals(placed.order)}
        render.print_json(data) if as_json else console.print(
            f"{'placed' if placed.created else 'already placed'} {placed.order.order_id} "
            f"({placed.order.totals.grand_total}) as workflow {placed.workflow_id}")

    run_command(main)


@order_app.command("show")
def order_show(order_id: str, as_json: Json = False) -> None:
    """Show an order's status, money, shipments and timeline (asked of its workflow)."""
    settings = command_settings()

    async def main() -> None:
        async with open_services(settings) as services:
            view = await services.orders.view(order_id)
        render.print_json(render.order_json(view)) if as_json else render.print_order(view,
                                                                                       console)

    run_command(main)


@order_app.command("list")
def order_list(status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
               customer: Annotated[str | None, typer.Option(help="Only this customer id.")] = None,
               email: Annotated[str | None, typer.Option(
                   help="Only this customer email (any case).")] = None,
               since: Annotated[str | None, typer.Option(
                   help="Placed at or after, ISO date or date-time (UTC unless zoned).")] = None,
               until: Annotated[str | None, typer.Option(
                   help="Placed before, ISO date or date-time.")] = None,
               limit: int = 50, as_json: Json = False) -> None:
    """List recent orders from the database record."""
    settings = command_settings()

    async def main() -> None:
        placed_from = parse_instant(since, "--since") if since else None
        placed_to = parse_instant(until, "--until") if until else None
        async with open_services(settings) as services:
            rows = await services.orders.list(status=status and status.upper(),
                                              customer_id=customer, limit=limit, email=email,
                                              placed_from=placed_from, placed_to=placed_to)
        render.print_json([render.order_row_json(r) for r in rows]) if as_json else (
            render.print_orders(rows, console))

    run_command(main)


@order_app.command("cancel")
def order_cancel(order_id: str, reason: Annotated[str, typer.Option(help="Why.")],
                 actor: str = "support", as_json: Json = False) -> None:
    """Cancel an order that has not shipped; waits until it is unwound."""
    settings = command_settings()

    async def main() -> None:
        async with open_services(settings) as services:
            view = await services.orders.cancel(order_id, reason, actor)
        render.print_json(render.order_json(view)) if as_json else console.print(
            f"{order_id} is {view.status}")

    run_command(main)


@order_app.command("retry")
def order_retry(order_id: str, actor: str = "support", as_json: Json = False) -> None:
    """Run again the step an order waits on for support, once its cause is fixed."""
    settings = command_settings()

    async def main() -> None:
        async with open_services(settings) as services:
            view = await services.orders.retry(order_id, actor)
        render.print_json(render.order_json(view)) if as_json else console.print(
            f"{order_id}: asked to run {', '.join(view.waiting_for_support)} again; "
            "`fulfil order show` tells how it went")

    run_command(main)


@order_app.command("refund")
def order_refund(order_id: str, amount: Annotated[str, typer.Option(help="e.g. 5.00")],
                 reason: Annotated[str, typer.Option(help="Why.")], actor: str = "support",
                 as_json: Json = False) -> None:
    """Refund part or all of what was captured."""
    settings = command_settings()

    async def main() -> None:
        async with open_services(settings) as services:
            view = await services.orders.refund(order_id, amount, reason, actor)
        render.print_json(render.order_json(view)) if as_json else console.print(
            f"{order_id}: refunded {view.payment.refunded} of {view.payment.captured}")

    run_command(main)


ParcelFrom = Annotated[str, typer.Option(
    help="The warehouse whose parcel this is, when the order ships from several.")]


def _confirm(step: str, order_id: str, actor: str, warehouse: str) -> None:
    settings = command_settings()

    async def main() -> None:
        async with open_services(settings) as services:
            confirm = (services.orders.confirm_pick if step == "pick"
                       else services.orders.confirm_pack)
            await confirm(order_id, actor, warehouse)
        console.print(f"{step} confirmation sent for {order_id}"
                      + (f" from {warehouse}" if warehouse else ""))

    run_command(main)


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
