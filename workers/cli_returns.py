"""After delivery: `fulfil order return|rate|resolve` and `fulfil return receive|accept|reject`."""

from __future__ import annotations

from typing import Annotated

import typer

from domain.errors import InvalidRequest
from workers import render
from workers.cli_common import Json, command_settings, console, run_command
from workers.cli_orders import order_app
from workers.runtime import open_services

return_app = typer.Typer(help="Receive, accept and reject returns (by RMA).",
                         no_args_is_help=True)

Lines = Annotated[list[str], typer.Option("--line", help="SKU=QTY; repeat for more SKUs.")]


def parse_pairs(pairs: list[str], option: str) -> dict[str, str]:
    parsed: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InvalidRequest(option, f"expected KEY=VALUE, got {pair!r}")
        if key.strip() in parsed:
            raise InvalidRequest(option, f"{key.strip()} is given twice")
        parsed[key.strip()] = value.strip()
    return parsed


def parse_lines(pairs: list[str]) -> dict[str, int]:
    lines = {}
    for sku, qty in parse_pairs(pairs, "--line").items():
        if not qty.lstrip("-").isdigit():
            raise InvalidRequest("--line", f"{sku}: quantity must be a whole number, not {qty!r}")
        lines[sku] = int(qty)
    return lines


@order_app.command("return")
def order_return(order_id: str, line: Lines,
                 reason: Annotated[str, typer.Option(help="SIZE_TOO_SMALL, DEFECTIVE, ... OTHER")],
                 comment: Annotated[str, typer.Option(help="Required with OTHER.")] = "",
                 exchange: Annotated[list[str] | None, typer.Option(
                     help="SKU=OTHER_SKU: send this variant instead of refunding.")] = None,
                 actor: str = "support", as_json: Json = False) -> None:
    """Open a return (RMA with a prepaid label) for delivered units."""
    settings = command_settings()

    async def main() -> None:
        lines, swaps = parse_lines(line), parse_pairs(exchange or [], "--exchange")
        async with open_services(settings) as services:
            view = await services.aftercare.request_return(
                order_id, lines, reason, comment, exchange=swaps, actor=actor)
        render.print_json(render.return_json(view)) if as_json else console.print(
            render.describe_return(view))

    run_command(main)


@order_app.command("rate")
def order_rate(order_id: str, rating: Annotated[int, typer.Option(help="1 to 5.")],
               comment: str = "", as_json: Json = False) -> None:
    """Record the customer's answer to the satisfaction survey."""
    settings = command_settings()

    async def main() -> None:
        async with open_services(settings) as services:
            survey = await services.aftercare.rate(order_id, rating, comment)
        render.print_json(render.survey_json(survey)) if as_json else console.print(
            f"{order_id} rated {survey.rating}/5")

    run_command(main)


@order_app.command("resolve")
def order_resolve(order_id: str,
                  action: Annotated[str, typer.Option(help="reship or refund.")],
                  tracking: Annotated[str, typer.Option(
                      help="Which parcel, when several wait.")] = "",
                  actor: str = "support", as_json: Json = False) -> None:
    """Decide what happens to a parcel returned to sender or lost."""
    settings = command_settings()

    async def main() -> None:
        async with open_services(settings) as services:
            view = await services.aftercare.resolve_delivery(order_id, action, tracking, actor)
        render.print_json(render.order_json(view)) if as_json else console.print(
            f"{order_id}: {action} decided, order is {view.status}")

    run_command(main)


@return_app.command("receive")
def return_receive(rma: str, line: Lines,
                   condition: Annotated[str, typer.Option(help="resellable or damaged.")],
                   actor: str = "warehouse", as_json: Json = False) -> None:
    """Book a returned parcel: resellable units go back into stock, damaged are written off."""
    settings = command_settings()

    async def main() -> None:
        lines = parse_lines(line)
        async with open_services(settings) as services:
            view = await services.aftercare.receive_return(rma, lines, condition, actor)
        render.print_json(render.return_json(view)) if as_json else console.print(
            render.describe_return(view))

    run_command(main)


@return_app.command("accept")
def return_accept(rma: str, actor: str = "support", as_json: Json = False) -> None:
    """Accept a return held for review (damaged units, or a parcel the carrier lost)."""
    _decide(rma, True, "", actor, as_json)


@return_app.command("reject")
def return_reject(rma: str, reason: Annotated[str, typer.Option(help="Why, for the customer.")],
                  actor: str = "support", as_json: Json = False) -> None:
    """Reject a return: nothing is refunded."""
    _decide(rma, False, reason, actor, as_json)


def _decide(rma: str, accept: bool, reason: str, actor: str, as_json: bool) -> None:
    settings = command_settings()

    async def main() -> None:
        async with open_services(settings) as services:
            view = await services.aftercare.decide_return(rma, accept=accept, reason=reason,
                                                          actor=actor)
        render.print_json(render.return_json(view)) if as_json else console.print(
            render.describe_return(view))

    run_command(main)
