"""`fulfil carrier`: what a carrier tells us about a parcel, entered from the command line."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from api.carrier_events import CarrierEventService, InvalidCarrierEvent, checked_event
from workers import render
from workers.cli_common import Json, command_settings, console, run_command
from workers.runtime import open_services

carrier_app = typer.Typer(help="Tracking events from carriers.", no_args_is_help=True)


def parse_at(text: str | None) -> datetime:
    """An ISO time (UTC when it names no zone), or now."""
    if text is None:
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidCarrierEvent("at", f"not an ISO time: {text!r}") from None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


@carrier_app.command("event")
def carrier_event(
        tracking_number: Annotated[str, typer.Argument(help="The parcel's tracking number.")],
        code: Annotated[str, typer.Argument(
            help="label_created, picked_up, in_transit, out_for_delivery, delivered, "
                 "delivery_failed, returned_to_sender or lost.")],
        at: Annotated[str | None, typer.Option(
            help="When the carrier scanned it, ISO (UTC if no zone); default now.")] = None,
        location: Annotated[str, typer.Option(help="Where, as the carrier says.")] = "",
        description: Annotated[str, typer.Option(help="The carrier's words.")] = "",
        as_json: Json = False) -> None:
    """Hand a carrier's tracking event to the order the parcel (or its return) belongs to."""
    settings = command_settings()

    async def main() -> None:
        when = parse_at(at)
        # Bad input is refused before connecting to anything.
        checked_event(tracking_number, code, when, location, description, datetime.now(UTC))
        async with open_services(settings) as services:
            delivered = await CarrierEventService(services.client, services.session_factory
                                                  ).deliver(tracking_number, code, when,
                                                            location, description)
        event = delivered.event
        render.print_json({"order_id": delivered.order_id, "workflow_id": delivered.workflow_id,
                           "tracking_number": event.tracking_number, "code": event.code,
                           "at": event.at.isoformat()}) if as_json else console.print(
            f"{event.code} of {event.tracking_number} at {event.at.isoformat()} sent to order "
            f"{delivered.order_id}")

    run_command(main)
