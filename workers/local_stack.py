"""Owning or joining the local stack of a data directory.

`fulfil dev`, `demo` and `bench` own it: they take the owner lock, take over what a killed
owner left, start the embedded PostgreSQL and the Temporal dev server, and record them in
the state file (workers.stack_state). Every other command joins what the file names and
never starts or stops anything; `migrate` and `seed` run a private PostgreSQL under the
lock when no stack runs. What FULFIL_DATABASE_URL / FULFIL_TEMPORAL_ADDRESS configure is
used as it is, with no lock and no state file.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import structlog

from workers import stop_deadline
from workers.settings import Settings
from workers.stack import DevServer, EmbeddedPostgres, start_embedded_postgres, start_temporal_dev_server
from workers.stack_state import (
    PRIVATE_WAIT_S,
    NoStackRunning,
    OwnerLock,
    StackBusy,
    StackError,
    StackState,
    busy_message,
    clear_state,
    joinable_state,
    pid_alive,
    read_state,
    wait_for_stack,
    write_state,
)

log = structlog.get_logger(__name__)

# The owner's share of the stop deadline: the dev server gets SIGKILL after this.
DEV_SERVER_STOP_S = 2.0
LEFTOVER_STOP_S = 5.0


class Role(StrEnum):
    OWN = "own"          # dev, demo, bench: start the stack, others join
    PRIVATE = "private"  # migrate, seed: join a running stack, else a private PostgreSQL
    JOIN = "join"        # everything else


@dataclass(frozen=True)
class Endpoints:
    """Where this process finds the database and Temporal; None where neither is known."""

    database_url: str | None
    temporal_address: str | None
    temporal_ui: str | None = None
    owner: StackOwner | None = None


async def open_local_stack(settings: Settings, stack: AsyncExitStack, *, role: Role,
                           temporal: bool | str) -> Endpoints:
    """The endpoints of this command: configured, owned (started here) or joined."""
    need_db = not settings.database_url
    need_temporal = bool(temporal) and not settings.temporal_address
    configured = Endpoints(settings.database_url, settings.temporal_address)
    if not (need_db or need_temporal):
        return configured
    data_dir = settings.data_dir.resolve()
    if role is Role.OWN:
        return await _own(settings, data_dir, stack, private=False)
    if role is Role.PRIVATE:
        state = await asyncio.to_thread(_join_or_lock, data_dir)
        if state is None:
            return await _own(settings, data_dir, stack, private=True)
    else:
        try:
            state = await asyncio.to_thread(wait_for_stack, data_dir)
        except NoStackRunning:
            if need_db or temporal != "if-reachable":
                raise
            return configured
    return _joined(settings, data_dir, state, need_db=need_db, need_temporal=need_temporal)


def _joined(settings: Settings, data_dir: Path, state: StackState, *, need_db: bool,
            need_temporal: bool) -> Endpoints:
    missing = [what for what, needed, have in (
        ("an embedded database (set FULFIL_DATABASE_URL)", need_db, state.database_url),
        ("a Temporal dev server (set FULFIL_TEMPORAL_ADDRESS)", need_temporal,
         state.temporal_address)) if needed and not have]
    if missing:
        raise StackError(f"the fulfil stack running for {data_dir} has no "
                         + " and no ".join(missing))
    return Endpoints(settings.database_url or state.database_url,
                     settings.temporal_address or state.temporal_address,
                     None if settings.temporal_address else state.temporal_ui)


def _join_or_lock(data_dir: Path) -> StackState | None:
    """A running stack's state to join, or None once this process holds the owner lock."""
    deadline = time.monotonic() + PRIVATE_WAIT_S
    while True:
        state = joinable_state(data_dir)
        if state is not None:
            return state
        if _LOCKS.setdefault(data_dir, OwnerLock(data_dir)).try_acquire(0.2):
            return None
        if time.monotonic() > deadline:
            raise StackBusy(busy_message(data_dir, read_state(data_dir)))


# The lock a private instance took while deciding to own, by data directory.
_LOCKS: dict[Path, OwnerLock] = {}


async def _own(settings: Settings, data_dir: Path, stack: AsyncExitStack, *,
               private: bool) -> Endpoints:
    held = _LOCKS.pop(data_dir, None)
    lock = held if held is not None else await asyncio.to_thread(_owner_lock, data_dir)
    stack.callback(lock.release)
    owner = StackOwner(data_dir, _command_name(), private=private)
    stack.callback(owner.forget)
    owner.take_over(read_state(data_dir))
    owner.record()
    stack.callback(stop_deadline.on_overrun(owner.stop_now))
    if not settings.database_url:
        postgres = await owner.start_postgres()
        stack.callback(_timed, "postgres.stopped", postgres.stop)
    if not private and not settings.temporal_address:
        server = await owner.start_dev_server(settings)
        stack.callback(_timed, "temporal.dev_server_stopped", server.stop, DEV_SERVER_STOP_S)
    state = owner.state
    return Endpoints(settings.database_url or state.database_url,
                     settings.temporal_address or state.temporal_address,
                     state.temporal_ui, owner)


def _timed(event: str, stop: Callable[..., None], *args: float) -> None:
    started = time.monotonic()
    stop(*args)
    log.info(event, seconds=round(time.monotonic() - started, 2))


def _owner_lock(data_dir: Path) -> OwnerLock:
    """The owner lock, waiting while a `migrate`/`seed` holds it; StackBusy otherwise."""
    lock = OwnerLock(data_dir)
    deadline = time.monotonic() + PRIVATE_WAIT_S
    while not lock.try_acquire():
        holder = read_state(data_dir)
        if holder is None or not holder.private or time.monotonic() > deadline:
            raise StackBusy(busy_message(data_dir, holder))
    return lock


def _command_name() -> str:
    """The `fulfil` subcommand this process runs, for the messages of the ones refused."""
    words = [a for a in sys.argv[1:] if not a.startswith("-")]
    return words[0] if words else "dev"


class StackOwner:
    """This process owns the data directory's stack: starts it, records it, stops it."""

    def __init__(self, data_dir: Path, command: str, *, private: bool) -> None:
        self.data_dir = data_dir
        self.state = StackState(os.getpid(), command, private=private)
        self._postgres: EmbeddedPostgres | None = None
        self._dev_server: DevServer | None = None

    def record(self, **changes: object) -> None:
        self.state = self.state.but(**changes)
        write_state(self.data_dir, self.state)

    def mark_ready(self) -> None:
        """From now on other commands join: the database is migrated, Temporal serves."""
        if not self.state.private:
            self.record(ready=True)
            log.info("stack.ready", data_dir=str(self.data_dir), state_file=True)

    def forget(self) -> None:
        clear_state(self.data_dir)

    def take_over(self, left: StackState | None) -> None:
        """Stops the dev server a dead owner left running; its PostgreSQL is adopted."""
        if left is None:
            return
        if left.dev_server_pid and _is_running(left.dev_server_pid, "temporal", self.data_dir):
            _stop_process(left.dev_server_pid)
            log.warning("stack.leftover_stopped", process="temporal dev server",
                        pid=left.dev_server_pid, owner_pid=left.owner_pid)
        if _is_running(left.postgres_pid, "postgres", self.data_dir):
            log.warning("stack.leftover_adopted", process="postgres", pid=left.postgres_pid,
                        owner_pid=left.owner_pid)

    async def start_postgres(self) -> EmbeddedPostgres:
        self._postgres = await asyncio.to_thread(start_embedded_postgres, self.data_dir)
        self.record(database_url=self._postgres.url, postgres_pid=self._postgres.pid)
        log.info("postgres.embedded", pgdata=str(self._postgres.pgdata), pid=self._postgres.pid)
        return self._postgres

    async def start_dev_server(self, settings: Settings) -> DevServer:
        def launched(server: DevServer) -> None:
            self._dev_server = server
            self.record(dev_server_pid=server.pid)

        server = await start_temporal_dev_server(
            self.data_dir, port=settings.dev_server_port, ui_port=settings.ui_port,
            namespace=settings.namespace, on_launch=launched)
        self.record(temporal_address=server.address, temporal_ui=server.ui_url,
                    namespace=server.namespace)
        log.info("temporal.dev_server", address=server.address, ui=server.ui_url,
                 pid=server.pid)
        return server

    def stop_now(self) -> None:
        """The last resort when stopping overran its deadline: no waiting for anyone."""
        if self._dev_server is not None:
            self._dev_server.kill()
        if self._postgres is not None:
            self._postgres.stop_immediately()
        self.forget()


def _is_running(pid: int | None, name: str, data_dir: Path) -> bool:
    """Whether `pid` is alive and still the `name` process of this data directory (a pid
    can be reused once its process is gone)."""
    if not pid or not pid_alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return True  # no /proc: trust the pid
    return name in cmdline and str(data_dir) in cmdline


def _stop_process(pid: int) -> None:
    """SIGTERM, then SIGKILL if it is still there after LEFTOVER_STOP_S."""
    try:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + LEFTOVER_STOP_S
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
