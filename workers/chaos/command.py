"""`fulfil chaos`: the command line of a chaos run."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from workers.chaos.report import render, render_json
from workers.chaos.runner import ChaosOptions, run_chaos
from workers.cli_common import (
    Json,
    command_settings,
    console,
    first_or_interrupted,
    run_command,
)


def chaos(
        orders: Annotated[int, typer.Option(min=1, help="How many orders to place.")] = 60,
        workers: Annotated[int, typer.Option(min=1, help="`fulfil worker` processes.")] = 2,
        kill_every: Annotated[float, typer.Option(
            min=0.5, help="SIGKILL a random worker every this many seconds.")] = 5.0,
        server_restarts: Annotated[int, typer.Option(
            min=0, help="Restarts of the Temporal dev server on its database file.")] = 1,
        db_restarts: Annotated[int, typer.Option(
            min=0, help="Immediate shutdowns and restarts of PostgreSQL.")] = 1,
        seed: Annotated[int, typer.Option(help="Seed of the order mix and the faults.")] = 1,
        place_over: Annotated[float, typer.Option(
            min=0, help="Spread the order placements over this many seconds.")] = 20.0,
        fault_window: Annotated[float, typer.Option(
            min=1, help="Inject faults from the start for this many seconds.")] = 45.0,
        settle: Annotated[float, typer.Option(
            min=1, help="After the last placement, seconds the orders have to end.")] = 150.0,
        data_dir: Annotated[Path | None, typer.Option(
            help="Keep the run's PostgreSQL, dev server and worker logs here "
                 "(default: a temporary folder, removed afterwards).")] = None,
        as_json: Json = False,
) -> None:
    """Place orders while workers, the dev server and PostgreSQL are killed and restarted,
    then check nothing is stuck, lost or done twice; exit 1 if a check fails."""
    # The table is the output: the workers' retries under chaos would bury it.
    command_settings(logging.WARNING)
    options = ChaosOptions(orders, workers, kill_every, server_restarts, db_restarts, seed,
                           place_over, fault_window, settle, data_dir)
    # Ctrl-C or SIGTERM stops the run's workers, dev server and PostgreSQL, then exits 130.
    report = run_command(lambda: first_or_interrupted(run_chaos(options)))
    if report is None:
        console.print("chaos run interrupted: its workers, dev server and PostgreSQL are "
                      "stopped")
        raise typer.Exit(130)
    if as_json:
        print(render_json(report))
    else:
        console.print(render(report), end="", highlight=False, markup=False)
    if not report.passed:
        raise typer.Exit(1)
