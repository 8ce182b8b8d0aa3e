"""What every `fulfil` command shares: settings and logging, exit codes, output."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from typing import Annotated, Any, TypeVar

import structlog
import typer
from rich.console import Console

from domain.errors import DomainError
from workers import stop_deadline
from workers.logging import configure_logging
from workers.repair_schedule import ensure_repair_schedule
from workers.runtime import Services
from workers.settings import Settings, load_settings
from workers.stack_state import NoStackRunning, StackBusy

console = Console(width=None if sys.stdout.isatty() else 160)
log = structlog.get_logger("fulfil.cli")
T = TypeVar("T")
Json = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
WORKER_DRAIN = timedelta(seconds=2)


JsonLogs = Annotated[bool, typer.Option("--json", help="Log JSON lines (as FULFIL_LOG_FORMAT=json).")]


def command_settings(level: int = logging.INFO, *, json_logs: bool = False) -> Settings:
    try:
        settings = load_settings()
    except ValueError as error:
        fail(str(error), 2)
    if json_logs:
        settings = replace(settings, log_format="json")
    configure_logging(settings.log_format, level)
    return settings


def fail(message: str, code: int) -> Any:
    print(f"fulfil: {message}", file=sys.stderr)
    raise typer.Exit(code)


def run_command(main: Callable[[], Awaitable[T]]) -> T:
    """Runs a command; bad input or a refused action exits 2, any other failure 1."""
    failure: tuple[str, int] | None = None
    try:
        result: T = asyncio.run(main())  # type: ignore[arg-type]
    except typer.Exit:
        raise
    except DomainError as error:
        failure = (str(error), 2)
    except (NoStackRunning, StackBusy) as error:
        failure = (str(error), 1)
    except Exception as error:  # noqa: BLE001 - the CLI's last line of defence
        log.debug("command.failed", exc_info=True)
        failure = (f"{type(error).__name__}: {error}", 1)
    # A Temporal client still alive when the interpreter shuts down can abort the process
    # after its work is done (SIGABRT, "PyGILState_Release ... finalizing": its Rust threads
    # outlive Python; temporalio/sdk-python#300). The client sits in reference cycles, so
    # collect it now, outside the `except` blocks whose tracebacks would keep it alive.
    gc.collect()
    return fail(*failure) if failure else result


async def until_interrupted() -> None:
    """Returns on SIGINT/SIGTERM, and from then on the process has a deadline to stop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    stop_deadline.arm()


async def first_or_interrupted(work: Awaitable[T]) -> T | None:
    """`work`'s result, or None when SIGINT/SIGTERM came first (the work is cancelled, and
    the process has its deadline to stop)."""
    task = asyncio.ensure_future(work)
    interrupted = asyncio.ensure_future(until_interrupted())
    await asyncio.wait({task, interrupted}, return_when=asyncio.FIRST_COMPLETED)
    for pending in (task, interrupted):
        pending.cancel()
    await asyncio.gather(task, interrupted, return_exceptions=True)
    return None if task.cancelled() else task.result()


async def serve_worker(services: Services) -> None:
    # Activities get WORKER_DRAIN to finish, then are cancelled (their retries go to
    # another worker): part of the deadline stop_deadline gives the whole process.
    settings = services.settings
    async with services.worker(graceful_shutdown_timeout=WORKER_DRAIN), \
            services.outbox_relay().running():
        if settings.repair_every_s:
            await ensure_repair_schedule(services.client, settings.task_queue,
                                         timedelta(seconds=settings.repair_every_s))
        log.info("worker.started", task_queue=settings.task_queue,
                 namespace=settings.namespace, repair_every_s=settings.repair_every_s)
        await until_interrupted()
    log.info("worker.stopped")
