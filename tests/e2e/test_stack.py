"""The local stack really starts, serves and stops: embedded PostgreSQL and the dev server."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import httpx
import psycopg
import pytest
from google.protobuf.duration_pb2 import Duration
from sqlalchemy import text
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.client import Client

from activities.db.engine import build_engine
from workers.stack import (
    SEARCH_ATTRIBUTES,
    DevServer,
    StackError,
    ensure_search_attributes,
    find_free_port,
    start_embedded_postgres,
    start_temporal_dev_server,
)

pytestmark = pytest.mark.e2e

T = TypeVar("T")


def _two_free_ports() -> tuple[int, int]:
    port = find_free_port()
    ui_port = find_free_port()
    while ui_port == port:
        ui_port = find_free_port()
    return port, ui_port


async def _start_dev_server(data_dir: Path) -> DevServer:
    # A free port can be taken by another process before the server binds it; only that
    # race earns another try.
    for _ in range(2):
        port, ui_port = _two_free_ports()
        try:
            return await start_temporal_dev_server(data_dir, port=port, ui_port=ui_port)
        except StackError as err:
            if "already in use" not in str(err):
                raise
    port, ui_port = _two_free_ports()
    return await start_temporal_dev_server(data_dir, port=port, ui_port=ui_port)


async def _custom_attributes(client: Client, namespace: str) -> dict[str, int]:
    response = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    return dict(response.custom_attributes)


async def _eventually(attempt: Callable[[], Awaitable[T]], timeout_s: float = 30.0) -> T:
    """Retries while a just-registered namespace propagates through the server's caches."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        try:
            return await attempt()
        except Exception:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)


async def test_embedded_postgres_serves_the_fulfil_database_and_keeps_it_across_restarts(
    tmp_path: Path,
) -> None:
    # Given an embedded PostgreSQL started in an empty data dir
    pg = await asyncio.to_thread(start_embedded_postgres, tmp_path)
    try:
        # When we write to the fulfil database over psycopg
        with psycopg.connect(pg.url, autocommit=True) as conn:
            assert conn.execute("SELECT current_database(), 1").fetchone() == ("fulfil", 1)
            conn.execute("CREATE TABLE survives (id int)")
    finally:
        pg.stop()
    # Then it stopped
    assert not (pg.pgdata / "postmaster.pid").exists()

    # And a second start on the same dir finds the data again
    pg = await asyncio.to_thread(start_embedded_postgres, tmp_path)
    try:
        with psycopg.connect(pg.url) as conn:
            assert conn.execute("SELECT count(*) FROM survives").fetchone() == (0,)
    finally:
        pg.stop()


async def test_embedded_postgres_url_works_with_the_async_engine(tmp_path: Path) -> None:
    pg = await asyncio.to_thread(start_embedded_postgres, tmp_path)
    engine = build_engine(pg.url, pool_size=1)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await engine.dispose()
        pg.stop()


async def test_dev_server_registers_fulfils_search_attributes_and_restarts_on_its_db_file(
    tmp_path: Path,
) -> None:
    # Given a dev server started on free ports with a db file
    server = await _start_dev_server(tmp_path)
    try:
        client = await Client.connect(server.address)
        # Then all four search attributes exist
        assert SEARCH_ATTRIBUTES.keys() <= (await _custom_attributes(client, "default")).keys()
    finally:
        server.stop()
    assert not server.running
    assert (tmp_path / "temporal.db").exists()

    # When it restarts on the same db file with the same attribute flags, it comes up again
    server = await _start_dev_server(tmp_path)
    try:
        client = await Client.connect(server.address)
        assert SEARCH_ATTRIBUTES.keys() <= (await _custom_attributes(client, "default")).keys()
    finally:
        server.stop()


async def test_ensure_search_attributes_adds_the_missing_ones_once(tmp_path: Path) -> None:
    server = await _start_dev_server(tmp_path)
    try:
        client = await Client.connect(server.address)
        # Given a namespace created after start-up, which has none of fulfil's attributes
        await client.workflow_service.register_namespace(
            RegisterNamespaceRequest(
                namespace="orders-elsewhere",
                workflow_execution_retention_period=Duration(seconds=86_400),
            )
        )

        # When the setup runs twice
        added = await _eventually(lambda: ensure_search_attributes(client, "orders-elsewhere"))
        added_again = await ensure_search_attributes(client, "orders-elsewhere")

        # Then the first run added all four and the second nothing
        assert sorted(added) == sorted(SEARCH_ATTRIBUTES)
        assert added_again == []
        present = await _custom_attributes(client, "orders-elsewhere")
        assert SEARCH_ATTRIBUTES.keys() <= present.keys()
    finally:
        server.stop()


async def test_dev_server_refuses_a_port_that_is_taken(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(StackError, match=f"port {port} is already in use"):
            await start_temporal_dev_server(tmp_path, port=port, ui_port=find_free_port())


async def test_dev_server_that_dies_at_start_reports_its_log(tmp_path: Path) -> None:
    # Given the UI port is taken, so the server exits right after launch
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        ui_port = busy.getsockname()[1]
        with pytest.raises(StackError) as raised:
            await start_temporal_dev_server(tmp_path, port=find_free_port(), ui_port=ui_port)
    # Then the error carries the server's own explanation
    assert "exited with code" in str(raised.value)
    assert f"can't set UI port {ui_port}" in str(raised.value)


DEV_START_TIMEOUT_S = 180.0


async def _start_dev(env: dict[str, str]) -> tuple[asyncio.subprocess.Process, dict[str, str]]:
    """`fulfil dev` running, and the local keys it printed by role."""
    fulfil = Path(sys.executable).parent / "fulfil"
    process = await asyncio.create_subprocess_exec(
        str(fulfil), "dev", env=env, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL)
    assert process.stdout is not None
    keys: dict[str, str] = {}
    async with asyncio.timeout(DEV_START_TIMEOUT_S):
        while "admin" not in keys:
            line = (await process.stdout.readline()).decode()
            assert line, "fulfil dev ended before printing its keys"
            if found := re.match(r"\s+(\w+)\s+local-\w+\s+(fk_\S+)", line):
                keys[found[1]] = found[2]
    return process, keys


async def _stop_dev(process: asyncio.subprocess.Process) -> int:
    process.send_signal(signal.SIGINT)
    return await asyncio.wait_for(process.wait(), 60)


async def test_fulfil_dev_serves_the_api_with_fresh_local_keys_and_metrics(tmp_path: Path):
    # Given `fulfil dev` on free ports and its own data directory
    api_port = find_free_port()
    port, ui_port = _two_free_ports()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FULFIL_")}
    env.update(FULFIL_DATA_DIR=str(tmp_path / "data"), FULFIL_LOG_FORMAT="json",
               FULFIL_DEV_SERVER_PORT=str(port), FULFIL_UI_PORT=str(ui_port),
               FULFIL_API_PORT=str(api_port))
    api = f"http://127.0.0.1:{api_port}"
    process, first_keys = await _start_dev(env)
    try:
        # Then it printed a key of every role, and the API answers on its port
        assert set(first_keys) == {"storefront", "support", "warehouse", "admin"}
        async with httpx.AsyncClient(base_url=api, timeout=10) as client:
            listed = await client.get("/v1/orders", headers={
                "Authorization": f"Bearer {first_keys['support']}"})
            metrics = await client.get("/metrics")
        assert listed.status_code == 200, listed.text
        # And /metrics shows the in-process worker's SDK metrics beside the business ones
        assert "temporal_worker_task_slots_available{" in metrics.text
        assert "fulfil_orders_placed_total" in metrics.text
    finally:
        assert await _stop_dev(process) == 0

    # When it starts again, its keys are replaced: the old ones stop working
    process, second_keys = await _start_dev(env)
    try:
        async with httpx.AsyncClient(base_url=api, timeout=10) as client:
            old = await client.get("/v1/orders", headers={
                "Authorization": f"Bearer {first_keys['support']}"})
            new = await client.get("/v1/orders", headers={
                "Authorization": f"Bearer {second_keys['support']}"})
        assert (old.status_code, new.status_code) == (401, 200)
    finally:
        assert await _stop_dev(process) == 0
