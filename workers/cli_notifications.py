"""`fulfil notifications`: what the customers were sent, and what is still waiting or failed."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from activities.db.outbox_repository import STATUSES, OutboxRepository
from activities.db.outbox_tables import OutboxRow
from workers import render
from workers.cli_common import Json, command_settings, console, fail, run_command
from workers.runtime import open_services

notifications_app = typer.Typer(help="Customer notifications and their delivery.",
                                no_args_is_help=True)


def _row_json(row: OutboxRow) -> dict[str, Any]:
    return {"id": row.id, "order_id": row.order_id, "event_seq": row.event_seq,
            "template": row.template, "recipient": row.recipient, "subject": row.subject,
            "body": row.body, "status": row.status, "attempts": row.attempts,
            "last_error": row.last_error, "created_at": row.created_at.isoformat(),
            "sent_at": row.sent_at.isoformat() if row.sent_at else None}


def _print_rows(rows: list[OutboxRow]) -> None:
    table = Table("id", "order", "message", "to", "status", "tries", "created (UTC)",
                  "sent (UTC)", "last error")
    for row in rows:
        table.add_row(str(row.id), row.order_id, row.template, row.recipient, row.status,
                      str(row.attempts), row.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                      row.sent_at.strftime("%Y-%m-%d %H:%M:%S") if row.sent_at else "-",
                      row.last_error)
    console.print(table)


@notifications_app.command("list")
def notifications_list(
        order: Annotated[str | None, typer.Option(help="Only this order's messages.")] = None,
        status: Annotated[str | None, typer.Option(help="pending, sent or failed.")] = None,
        limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 100,
        as_json: Json = False) -> None:
    """Customer messages, newest first: what was sent, what waits, what failed and why."""
    if status is not None and status not in STATUSES:
        fail(f"--status must be one of {', '.join(STATUSES)}, got {status!r}", 2)
    settings = command_settings()

    async def main() -> list[OutboxRow]:
        async with open_services(settings, temporal=False) as services, \
                services.session_factory() as session:
            return await OutboxRepository(session).search(order_id=order, status=status,
                                                          limit=limit)

    rows = run_command(main)
    render.print_json([_row_json(row) for row in rows]) if as_json else _print_rows(rows)
