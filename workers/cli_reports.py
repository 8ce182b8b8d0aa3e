"""`fulfil report shipping|returns|satisfaction`: the period's figures as tables or JSON."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import fields, is_dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from api.reports import ReportService, parse_instant
from domain.errors import DomainError
from domain.money import Money
from domain.reports import (
    Durations,
    RatingSplit,
    ReturnsReport,
    SatisfactionReport,
    ShippingReport,
)
from domain.tracking import EXCEPTIONS
from workers import render
from workers.cli_common import Json, command_settings, console, fail, run_command
from workers.runtime import open_services

R = TypeVar("R")

report_app = typer.Typer(help="Reports on shipping, returns and customer satisfaction.",
                         no_args_is_help=True)

Since = Annotated[str, typer.Option(help="Start of the period, ISO date or date-time (UTC "
                                         "unless it names a zone).")]
Until = Annotated[str | None, typer.Option(help="End of the period (excluded); default now.")]


def _report(since: str, until: str | None,
            build: Callable[[ReportService, datetime, datetime], Awaitable[R]]) -> R:
    """Reads the period, then builds the report from the database alone."""
    try:
        start = parse_instant(since, "--since")
        end = parse_instant(until, "--until") if until is not None else datetime.now(UTC)
    except DomainError as error:
        return fail(str(error), 2)
    settings = command_settings()

    async def main() -> R:
        async with open_services(settings, temporal=False) as services:
            return await build(ReportService(services.session_factory), start, end)

    return run_command(main)


@report_app.command("shipping")
def report_shipping(since: Since, until: Until = None, as_json: Json = False) -> None:
    """Parcels per carrier and method: times to ship and deliver, SLA breaches, exceptions."""
    report = _report(since, until, ReportService.shipping)
    render.print_json(report_json(report)) if as_json else print_shipping(report, console)


@report_app.command("returns")
def report_returns(since: Since, until: Until = None, as_json: Json = False) -> None:
    """Return rate per SKU, reasons, refunds and how long they took, decisions, exchanges."""
    report = _report(since, until, ReportService.returns)
    render.print_json(report_json(report)) if as_json else print_returns(report, console)


@report_app.command("satisfaction")
def report_satisfaction(since: Since, until: Until = None, as_json: Json = False) -> None:
    """Survey responses and ratings, and how returns and late deliveries weigh on them."""
    report = _report(since, until, ReportService.satisfaction)
    render.print_json(report_json(report)) if as_json else print_satisfaction(report, console)


# --- output ----------------------------------------------------------------------------------

def report_json(value: Any) -> Any:
    """A report's dataclasses as JSON data: Money as render.money, times as ISO strings."""
    if isinstance(value, Money):
        return render.money(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: report_json(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {str(key): report_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [report_json(item) for item in value]
    return value


def _hours(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _rating(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _spread(durations: Durations) -> str:
    return f"{_hours(durations.median_hours)} / {_hours(durations.p90_hours)}"


def _sums(amounts: Iterable[Money]) -> str:
    return ", ".join(str(amount) for amount in amounts) or "-"


def _heading(title: str, since: datetime, until: datetime, console: Console) -> None:
    console.print(f"[bold]{title}[/bold]  {since:%Y-%m-%d %H:%M} → {until:%Y-%m-%d %H:%M} UTC")


def print_shipping(report: ShippingReport, console: Console) -> None:
    _heading("Shipping", report.since, report.until, console)
    parcels = Table("carrier", "method", "purpose", "shipped", "delivered", "to ship h p50",
                    "to ship h p90", "in transit h p50", "in transit h p90",
                    title="Parcels shipped in the period (hours: order → ship → delivery)")
    for g in report.shipments:
        parcels.add_row(g.carrier, g.shipping_method, g.purpose, str(g.shipped), str(g.delivered),
                        _hours(g.order_to_ship.median_hours), _hours(g.order_to_ship.p90_hours),
                        _hours(g.ship_to_delivery.median_hours),
                        _hours(g.ship_to_delivery.p90_hours))
    console.print(parcels)
    codes = sorted(EXCEPTIONS)
    problems = Table("carrier", "method", "purpose", "exceptions", "scans", *codes, "claims",
                     "claimed", title="Exceptions and carrier claims")
    for g in report.shipments:
        problems.add_row(g.carrier, g.shipping_method, g.purpose, str(g.exceptions),
                         str(g.exception_scans),
                         *(str(g.exceptions_by_code.get(code, 0)) for code in codes),
                         str(g.claims), _sums(g.claimed))
    console.print(problems)
    sla = Table("carrier", "method", "orders", "ship SLA breached", "delivery SLA breached",
                title="SLA of the orders placed in the period")
    for s in report.sla:
        sla.add_row(s.carrier, s.shipping_method, str(s.orders), str(s.ship_sla_breaches),
                    str(s.delivery_sla_breaches))
    console.print(sla)


def print_returns(report: ReturnsReport, console: Console) -> None:
    _heading("Returns", report.since, report.until, console)
    console.print(f"{report.returns} returns, {report.units} units; refunded "
                  f"{_sums(report.refunded)}; hours to refund (median / p90) "
                  f"{_spread(report.time_to_refund)} over {report.time_to_refund.count} refunds")
    console.print("acceptance: " + ", ".join(f"{k} {v}" for k, v in report.by_acceptance.items())
                  + "   resolution: "
                  + ", ".join(f"{k} {v}" for k, v in report.by_resolution.items()))
    skus = Table("sku", "shipped", "returned", "return rate", title="Return rate per SKU")
    for r in report.by_sku:
        skus.add_row(r.sku, str(r.shipped), str(r.returned), _percent(r.rate))
    console.print(skus)
    reasons = Table("reason", "returns", "units", title="Returns by reason")
    for c in report.by_reason:
        reasons.add_row(c.reason, str(c.returns), str(c.units))
    console.print(reasons)


def print_satisfaction(report: SatisfactionReport, console: Console) -> None:
    _heading("Satisfaction", report.since, report.until, console)
    console.print(f"{report.sent} surveys sent, {report.answered} answered, {report.expired} "
                  f"expired, {report.open} open; response rate {_percent(report.response_rate)}; "
                  f"average rating {_rating(report.average_rating)}")
    ratings = Table("rating", "answers", title="Ratings")
    for rating, answers in report.distribution.items():
        ratings.add_row("★" * rating, str(answers))
    console.print(ratings)
    splits: list[tuple[str, RatingSplit]] = [
        ("with a return", report.with_return), ("without a return", report.without_return),
        ("late (SLA breached)", report.late), ("on time", report.on_time)]
    split = Table("orders", "answered", "average rating", title="What weighs on the rating")
    for name, s in splits:
        split.add_row(name, str(s.answered), _rating(s.average_rating))
    console.print(split)
    comments = Table("answered (UTC)", "order", "rating", "comment", title="Recent comments")
    for c in report.recent_comments:
        comments.add_row(f"{c.answered_at:%Y-%m-%d %H:%M}", c.order_id, str(c.rating), c.comment)
    console.print(comments)
