"""One owner for the embedded stack: `fulfil dev` owns the embedded PostgreSQL and the dev
server of its data directory; every other command joins it and never starts or stops it.

Each test runs `fulfil dev` on the zero-setup default (no FULFIL_DATABASE_URL, no
FULFIL_TEMPORAL_ADDRESS) in a fresh data directory, on free ports.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
import psutil
import psycopg
import pytest

from tests.support import checkout
from workers.stack import find_free_port

pytestmark = pytest.mark.e2e

FULFIL = str(Path(sys.executable).with_name("fulfil"))
DEV_START_TIMEOUT_S = 180.0
COMMAND_TIMEOUT_S = 60.0
# Twelve CLI processes at once share two cores with the stack: each waits its turn.
PLACEMENT_TIMEOUT_S = 180.0
STOP_DEADLINE_S = 10.0
PLACEMENTS = 60
AT_ONCE = 12
HOT_SKU, HOT_WAREHOUSE, HOT_ON_HAND = "CAP-NAVY", "HAM", 2  # from the demo catalogue
HOT_ORDERS = 8
SHUTTING_DOWN = "the database system is shutting down"  # what joiners saw when one stopped it
KEY_LINE = re.compile(r"\s+(\w+)\s+local-\w+\s+(fk_\S+)")


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str


@dataclass
class Dev:
    """A `fulfil dev` process writing stdout and stderr to `log`."""

    process: asyncio.subprocess.Process
    log: Path
    api: str

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def local_keys(self) -> dict[str, str]:
        return {m[1]: m[2] for m in map(KEY_LINE.match, self.text().splitlines()) if m}

    async def ready(self) -> None:
        deadline = time.monotonic() + DEV_START_TIMEOUT_S
        while "admin" not in self.local_keys():
            assert self.process.returncode is None, (
                f"fulfil dev exited {self.process.returncode}:\n{self.tail()}")
            assert time.monotonic() < deadline, f"fulfil dev not up:\n{self.tail()}"
            await asyncio.sleep(0.2)

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.text().splitlines()[-lines:])

    async def stop(self, sig: int = signal.SIGINT) -> float:
        """Sends `sig`; the seconds until the process was gone (killed after 60)."""
        started = time.monotonic()
        if self.process.returncode is None:
            self.process.send_signal(sig)
            try:
                await asyncio.wait_for(self.process.wait(), 60)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        return time.monotonic() - started


def stack_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FULFIL_")}
    ports: set[int] = set()
    while len(ports) < 3:
        ports.add(find_free_port())
    port, ui_port, api_port = sorted(ports)
    env.update(FULFIL_DATA_DIR=str(data_dir), FULFIL_LOG_FORMAT="json",
               FULFIL_DEV_SERVER_PORT=str(port), FULFIL_UI_PORT=str(ui_port),
               FULFIL_API_PORT=str(api_port), FULFIL_PAYMENT_LATENCY_MS="0",
               FULFIL_CARRIER_LATENCY_MS="0", FULFIL_NOTIFY_LATENCY_MS="0")
    return env


def _open(path: Path) -> IO[bytes]:
    return path.open("ab")


async def start_dev(env: dict[str, str], log: Path, command: str = "dev") -> Dev:
    with _open(log) as out:
        process = await asyncio.create_subprocess_exec(
            FULFIL, command, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=out,
            stderr=asyncio.subprocess.STDOUT)
    return Dev(process, log, f"http://127.0.0.1:{env['FULFIL_API_PORT']}")


async def fulfil(env: dict[str, str], *args: str, stdin: str | None = None,
                 timeout_s: float = COMMAND_TIMEOUT_S) -> Result:
    process = await asyncio.create_subprocess_exec(
        FULFIL, *args, env=env,
        stdin=asyncio.subprocess.DEVNULL if stdin is None else asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(
            process.communicate(None if stdin is None else stdin.encode()), timeout_s)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"`fulfil {' '.join(args)}` ran over {timeout_s}s") from None
    assert process.returncode is not None
    return Result(process.returncode, out.decode(), err.decode())


def resolved(path: Path) -> Path:
    return path.resolve()


def stack_processes(data_dir: Path) -> list[psutil.Process]:
    """The postgres and temporal processes still running on this data directory."""
    found = []
    for proc in psutil.process_iter(attrs=["name", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(data_dir.resolve()) in cmdline and proc.info["name"] in ("postgres", "temporal"):
            found.append(proc)
    return found


def assert_nothing_left(data_dir: Path) -> None:
    left = stack_processes(data_dir)
    assert not left, [f"{p.pid} {p.info['name']}" for p in left]


def kill_leftovers(data_dir: Path) -> None:
    for proc in stack_processes(data_dir):
        proc.kill()


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "data"
    yield path
    kill_leftovers(path)


async def place(env: dict[str, str], body: dict[str, Any]) -> Result:
    return await fulfil(env, "order", "place", "-", "--json", stdin=json.dumps(body),
                        timeout_s=PLACEMENT_TIMEOUT_S)


def bodies() -> list[dict[str, Any]]:
    """Mugs and shirts in plenty, and HOT_ORDERS orders for a cap of which two are on hand."""
    hot = [checkout(lines=[{"sku": HOT_SKU, "quantity": 1}]) for _ in range(HOT_ORDERS)]
    plain = [checkout(lines=[{"sku": "MUG-LOGO", "quantity": 1}] if n % 2 else
                      [{"sku": "TEE-BLK-M", "quantity": 1}])
             for n in range(PLACEMENTS - HOT_ORDERS)]
    for n, order in enumerate(hot):  # spread over the run, among the others
        plain.insert(n * 7, order)
    return plain


def recorded(data_dir: Path) -> dict[str, Any]:
    """The owner's state file."""
    return json.loads((data_dir / "stack.json").read_text())


def database_url(data_dir: Path) -> str:
    return recorded(data_dir)["database_url"]


async def until_recorded(url: str, placed: int, within_s: float = 180.0) -> None:
    """Waits until the workflows have written every placed order's row."""
    deadline = time.monotonic() + within_s
    while True:
        async with await psycopg.AsyncConnection.connect(url) as conn:
            row = await (await conn.execute("SELECT count(*) FROM orders")).fetchone()
        if row is not None and row[0] >= placed:
            return
        assert time.monotonic() < deadline, f"{row} of {placed} orders recorded"
        await asyncio.sleep(1)


def hot_sku_books(url: str) -> tuple[int, int, int]:
    """(on hand, reserved, shipped) of the hot SKU in its warehouse."""
    with psycopg.connect(url) as conn:
        on_hand, reserved = conn.execute(
            "SELECT on_hand, reserved FROM stock_levels WHERE sku = %s AND warehouse = %s",
            (HOT_SKU, HOT_WAREHOUSE)).fetchone() or (0, 0)
        shipped = conn.execute(
            "SELECT coalesce(-sum(on_hand_delta), 0) FROM stock_movements "
            "WHERE sku = %s AND kind = 'ship'", (HOT_SKU,)).fetchone()
    return on_hand, reserved, int(shipped[0] if shipped else 0)


async def test_sixty_cli_placements_twelve_at_a_time_keep_the_dev_stack_up_and_oversell_nothing(
    data_dir: Path, tmp_path: Path
) -> None:
    # Given `fulfil dev` on the embedded default in a fresh folder
    env = stack_env(data_dir)
    dev = await start_dev(env, tmp_path / "dev.log")
    try:
        await dev.ready()
        # When 60 `fulfil order place` processes run, 12 at a time
        gate = asyncio.Semaphore(AT_ONCE)

        async def one(body: dict[str, Any]) -> Result:
            async with gate:
                return await place(env, body)

        started = time.monotonic()
        results = await asyncio.gather(*(one(body) for body in bodies()))
        elapsed = time.monotonic() - started
        print(f"{PLACEMENTS} placements, {AT_ONCE} at a time: {elapsed:.1f}s")

        # Then every one exits 0 or 2, and the stack stays up
        failed = [(r.code, r.stderr.strip()[-300:]) for r in results if r.code not in (0, 2)]
        assert not failed, failed
        listed = await fulfil(env, "order", "list", "--json", "--limit", "100")
        assert listed.code == 0, listed.stderr
        url = database_url(data_dir)
        await until_recorded(url, sum(r.code == 0 for r in results))
        assert dev.process.returncode is None, dev.tail()
        assert SHUTTING_DOWN not in dev.text()
        assert SHUTTING_DOWN not in (data_dir / "postgres" / "log").read_text(errors="replace")
        # And the hot SKU is never oversold while the orders go on
        for _ in range(20):
            on_hand, reserved, shipped = hot_sku_books(url)
            assert 0 <= reserved <= on_hand and shipped + on_hand <= HOT_ON_HAND
            await asyncio.sleep(0.5)
    finally:
        await dev.stop()


async def test_a_command_run_while_fulfil_dev_starts_does_not_break_its_start(
    data_dir: Path, tmp_path: Path
) -> None:
    # Given `fulfil dev` starting in a fresh folder
    env = stack_env(data_dir)
    dev = await start_dev(env, tmp_path / "dev.log")
    try:
        # When `fulfil order list` runs again and again while it starts
        codes = []
        while "admin" not in dev.local_keys() and dev.process.returncode is None:
            codes.append((await fulfil(env, "order", "list", "--json")).code)
        # Then `fulfil dev` comes up, and the commands run once it is up
        await dev.ready()
        assert (await fulfil(env, "order", "list", "--json")).code == 0
        assert codes, "no command ran while fulfil dev started"
        assert dev.process.returncode is None
    finally:
        assert await dev.stop() < STOP_DEADLINE_S
    assert dev.process.returncode == 0, dev.tail()


async def test_a_fulfil_dev_started_after_one_was_killed_takes_over_what_it_left(
    data_dir: Path, tmp_path: Path
) -> None:
    # Given `fulfil dev` killed with SIGKILL
    env = stack_env(data_dir)
    first = await start_dev(env, tmp_path / "first.log")
    await first.ready()
    dev_server = psutil.Process(recorded(data_dir)["dev_server_pid"])
    first.process.kill()
    await first.process.wait()
    # (on Linux its dev server follows it: the kernel sends it SIGTERM)
    await asyncio.to_thread(dev_server.wait, 10)

    # When `fulfil dev` starts again on the same folder and ports
    second = await start_dev(env, tmp_path / "second.log")
    try:
        # Then it comes up, says what it found, and serves orders
        await second.ready()
        log = second.text()
        assert "stack.leftover_" in log, second.tail()
        assert "postgres" in next(line for line in log.splitlines() if "stack.leftover_" in line)
        placed = await place(env, checkout(lines=[{"sku": "MUG-LOGO", "quantity": 1}]))
        assert placed.code == 0, placed.stderr
    finally:
        assert await second.stop() < STOP_DEADLINE_S
    assert_nothing_left(data_dir)


async def test_a_second_fulfil_dev_on_the_same_folder_is_refused_in_one_line(
    data_dir: Path, tmp_path: Path
) -> None:
    env = stack_env(data_dir)
    dev = await start_dev(env, tmp_path / "dev.log")
    try:
        await dev.ready()
        other = await fulfil(stack_env(data_dir), "dev")
        assert other.code == 1
        assert other.stderr.strip().splitlines() == [
            f"fulfil: a fulfil stack is already running for {resolved(data_dir)} "
            f"(`fulfil dev`, pid {dev.process.pid})"]
        assert dev.process.returncode is None
    finally:
        await dev.stop()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_fulfil_dev_stops_everything_within_ten_seconds_even_with_a_request_waiting(
    data_dir: Path, tmp_path: Path, sig: int
) -> None:
    # Given `fulfil dev`, and an order on a task queue no worker polls: a cancel of it
    # through the API waits for an update that never comes
    env = stack_env(data_dir)
    dev = await start_dev(env, tmp_path / "dev.log")
    try:
        await dev.ready()
        body = checkout(lines=[{"sku": "MUG-LOGO", "quantity": 1}])
        nobody = {**env, "FULFIL_TASK_QUEUE": f"nobody-{uuid.uuid4().hex[:6]}"}
        assert (await place(nobody, body)).code == 0
        async with httpx.AsyncClient(base_url=dev.api, timeout=60) as client:
            waiting = asyncio.create_task(client.post(
                f"/v1/orders/{body['order_id']}/cancel", json={"reason": "changed my mind"},
                headers={"Authorization": f"Bearer {dev.local_keys()['support']}"}))
            await asyncio.sleep(2)
            assert not waiting.done(), waiting.result().text

            # When it gets the signal
            seconds = await dev.stop(sig)
            waiting.cancel()
    finally:
        await dev.stop(signal.SIGKILL)
    # Then it is gone within ten seconds and left no postgres or temporal process behind
    print(f"stopped by {signal.Signals(sig).name} in {seconds:.1f}s")
    assert seconds < STOP_DEADLINE_S, dev.tail()
    assert_nothing_left(data_dir)
    assert not (data_dir / "stack.json").exists()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_fulfil_demo_stopped_while_its_orders_run_stops_everything_within_ten_seconds(
    data_dir: Path, tmp_path: Path, sig: int
) -> None:
    # Given `fulfil demo` placing its orders
    dev = await start_dev(stack_env(data_dir), tmp_path / "demo.log", command="demo")
    try:
        deadline = time.monotonic() + DEV_START_TIMEOUT_S
        while "placing 16 demo orders" not in dev.text():
            assert dev.process.returncode is None, dev.tail()
            assert time.monotonic() < deadline, f"fulfil demo not placing:\n{dev.tail()}"
            await asyncio.sleep(0.2)

        # When it gets the signal
        seconds = await dev.stop(sig)
    finally:
        await dev.stop(signal.SIGKILL)
    # Then it is gone within ten seconds, says it was stopped, and left nothing behind
    print(f"demo stopped by {signal.Signals(sig).name} in {seconds:.1f}s")
    assert seconds < STOP_DEADLINE_S, dev.tail()
    assert dev.process.returncode == 1, dev.tail()
    assert_nothing_left(data_dir)
    assert not (data_dir / "stack.json").exists()


async def test_a_command_with_no_stack_running_says_so_in_one_line(data_dir: Path) -> None:
    env = stack_env(data_dir)
    result = await fulfil(env, "order", "list")
    assert (result.code, result.stdout) == (1, "")
    assert result.stderr.splitlines() == [
        f"fulfil: no fulfil stack is running for {resolved(data_dir)}: start `fulfil dev`"]
    assert_nothing_left(data_dir)
