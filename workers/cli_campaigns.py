"""`fulfil campaign`: sale periods with stock held back for their orders."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer

from api.campaigns import CampaignService, parse_hold, parse_time
from domain.campaigns import Campaign
from domain.errors import DomainError
from workers import render
from workers.cli_common import (
    Json,
    command_settings,
    console,
    fail,
    run_command,
)
from workers.runtime import open_services

T = TypeVar("T")

campaign_app = typer.Typer(help="Campaigns: sale periods with stock held back for their orders.",
                           no_args_is_help=True)


def _campaign_command(work: Callable[[CampaignService], Awaitable[T]]) -> T:
    settings = command_settings()

    async def main() -> T:
        async with open_services(settings) as services:
            return await work(CampaignService(services.client, services.session_factory,
                                              settings.task_queue))

    return run_command(main)


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
        fail(str(error), 2)
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
