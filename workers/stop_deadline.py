"""The deadline a command has to stop once it is asked to (SIGINT/SIGTERM).

Stopping in order (worker, HTTP API, dev server, database) normally takes a few seconds.
Should any step hang, the last resorts registered here run when the deadline passes (kill
the dev server, stop PostgreSQL immediately) and the process exits: a stuck shutdown must
not leave the stack half running.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable

STOP_DEADLINE_S = 8.5
_last_resorts: list[Callable[[], None]] = []
_armed: list[threading.Timer] = []


def on_overrun(last_resort: Callable[[], None]) -> Callable[[], None]:
    """Runs `last_resort` if the deadline passes; returns the function that withdraws it."""
    _last_resorts.append(last_resort)
    return lambda: _last_resorts.remove(last_resort) if last_resort in _last_resorts else None


def arm(seconds: float = STOP_DEADLINE_S) -> None:
    """Starts the clock (once): the process exits within `seconds` from now."""
    if _armed:
        return
    timer = threading.Timer(seconds, _overrun, args=(seconds,))
    timer.daemon = True
    _armed.append(timer)
    timer.start()


def _overrun(seconds: float) -> None:
    print(f"fulfil: not stopped after {seconds:.0f}s, stopping the rest at once",
          file=sys.stderr, flush=True)
    for last_resort in reversed(_last_resorts):
        try:
            last_resort()
        except Exception as error:  # noqa: BLE001 - the others must still run
            print(f"fulfil: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
    os._exit(1)
