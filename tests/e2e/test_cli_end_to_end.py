"""The `fulfil` CLI end to end: a real Temporal dev server, `fulfil worker` processes and
PostgreSQL, driven only through `fulfil` commands, with workers and the server dying mid-order.

Every command runs as its own process with the dev profile compressed to seconds, so one
order takes about twelve seconds from checkout to the end of its return window.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

import pytest
from sqlalchemy import text
from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.client import (
    Client,
    ScheduleActionStartWorkflow,
    ScheduleOverlapPolicy,
    WorkflowHandle,
    WorkflowHistory,
)

from activities.db.engine import SessionFactory
from activities.db.metadata import metadata
from activities.db.order_repository import OrderRepository
from activities.payments.simulator import SimulatedGateway
from tests.e2e.processes import WorkerProcess
from tests.support import CATALOGUE, checkout
from tests.workflows.checks import HeldStock, payments, reservations
from workers.repair_schedule import repair_schedule_id
from workers.stack import DevServer, find_free_port, start_temporal_dev_server

pytestmark = pytest.mark.e2e

FULFIL = str(Path(sys.executable).with_name("fulfil"))
# A query to an order whose worker was killed waits until the server gives up on that
# worker's sticky queue (about ten seconds) and hands the task to the new worker.
COMMAND_TIMEOUT_S = 40.0
WORKER_START_TIMEOUT_S = 30.0
ORDER_TIMEOUT_S = 60.0
# An activity whose worker was SIGKILLed is retried only when its 30 s start-to-close
# timeout expires (it does not heartbeat), so that order needs half a minute more.
CRASHED_ACTIVITY_TIMEOUT_S = 100.0
POLL_S = 0.5

TEES = [{"sku": "TEE-BLK-M", "quantity": 2}]
TEES_TOTAL = 2 * 1999 + 490
MUGS = [{"sku": "MUG-LOGO", "quantity": 3}]
MUGS_TOTAL = 3 * 950 + 490
MUGS_AT = ("MUG-LOGO", "BER")
TEES_AT = ("TEE-BLK-M", "BER")


# -- running fulfil ------------------------------------------------------------------------

@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def _open_log(path: Path) -> IO[bytes]:
    return path.open("wb")


def _read_log(path: Path) -> str:
    return path.read_text(errors="replace")


@dataclass
class Fulfil:
    """Runs `fulfil` commands against one server, database and task queue; `but` gives a copy
    with other settings that shares the list of workers the fixture stops at the end."""

    env: dict[str, str]
    workdir: Path
    workers: list[WorkerProcess] = field(default_factory=list)

    def but(self, **env: str) -> Fulfil:
        return replace(self, env={**self.env, **env})

    async def run(self, *args: str, stdin: str | None = None) -> Result:
        process = await asyncio.create_subprocess_exec(
            FULFIL, *args, env=self.env, cwd=self.workdir,
            stdin=asyncio.subprocess.DEVNULL if stdin is None else asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            out, err = await asyncio.wait_for(
                process.communicate(None if stdin is None else stdin.encode()), COMMAND_TIMEOUT_S)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise AssertionError(f"`fulfil {' '.join(args)}` ran over {COMMAND_TIMEOUT_S}s") from None
        assert process.returncode is not None
        return Result(process.returncode, out.decode(), err.decode())

    async def ok(self, *args: str, stdin: str | None = None) -> Result:
        result = await self.run(*args, stdin=stdin)
        assert result.code == 0, f"`fulfil {' '.join(args)}` exited {result.code}: {result.stderr}"
        return result

    async def refused(self, *args: str, stdin: str | None = None) -> str:
        """Runs a command that must be refused: exit code 2 and a single line on stderr."""
        result = await self.run(*args, stdin=stdin)
        assert result.code == 2, f"`fulfil {' '.join(args)}` exited {result.code}: {result.stderr}"
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, f"expected one line on stderr, got {result.stderr!r}"
        return lines[0]

    async def place(self, body: dict[str, Any]) -> dict[str, Any]:
        return (await self.ok("order", "place", "-", "--json", stdin=json.dumps(body))).json()

    async def show(self, order_id: str) -> dict[str, Any]:
        return (await self.ok("order", "show", order_id, "--json")).json()

    async def stock(self) -> dict[tuple[str, str], dict[str, Any]]:
        rows = (await self.ok("stock", "show", "--json")).json()
        return {(row["sku"], row["warehouse"]): row for row in rows}

    async def order_ids(self, *options: str) -> list[str]:
        rows = (await self.ok("order", "list", "--json", *options)).json()
        return [row["order_id"] for row in rows]

    async def wait_for(self, order_id: str, status: str,
                       within_s: float = ORDER_TIMEOUT_S) -> dict[str, Any]:
        """Polls `order show` until the order is in `status`; fails early on another end."""
        deadline = asyncio.get_running_loop().time() + within_s
        seen: list[str] = []
        while True:
            view = await self.show(order_id)
            if not seen or seen[-1] != view["status"]:
                seen.append(view["status"])
            if view["status"] == status:
                return view
            assert view["status"] not in ("COMPLETED", "CANCELLED", "FAILED", "PAYMENT_FAILED"), (
                f"{order_id} ended {view['status']} ({view['failure']}) instead of {status}")
            assert asyncio.get_running_loop().time() < deadline, (
                f"{order_id} not {status} after {within_s:.0f}s; went {' -> '.join(seen)}"
                + self._worker_log_tail())
            await asyncio.sleep(POLL_S)

    async def start_worker(self) -> WorkerProcess:
        """Starts `fulfil worker` and waits until it polls its task queue."""
        log = self.workdir / f"worker-{len(self.workers) + 1}.log"
        with _open_log(log) as out:
            process = await asyncio.create_subprocess_exec(
                FULFIL, "worker", env=self.env, cwd=self.workdir,
                stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=asyncio.subprocess.STDOUT)
        worker = WorkerProcess(process, log)
        self.workers.append(worker)
        deadline = asyncio.get_running_loop().time() + WORKER_START_TIMEOUT_S
        while '"worker.started"' not in _read_log(log):
            assert process.returncode is None, f"worker exited:\n{_read_log(log)}"
            assert asyncio.get_running_loop().time() < deadline, (
                f"worker not started after {WORKER_START_TIMEOUT_S}s:\n{_read_log(log)}")
            await asyncio.sleep(0.1)
        return worker

    def _worker_log_tail(self) -> str:
        return "".join(f"\n--- {w.log.name} ---\n" + "\n".join(_read_log(w.log).splitlines()[-15:])
                       for w in self.workers)


def fulfil_env(database_url: str, address: str, task_queue: str, data_dir: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("FULFIL_")}
    return {**env,
            "FULFIL_DATABASE_URL": database_url, "FULFIL_TEMPORAL_ADDRESS": address,
            "FULFIL_TASK_QUEUE": task_queue, "FULFIL_PROFILE": "dev",
            "FULFIL_WAREHOUSE_AUTOCONFIRM": "1s", "FULFIL_TRACKING_POLL": "1s",
            "FULFIL_RETURN_WINDOW": "5s", "FULFIL_SURVEY_AFTER": "1s",
            "FULFIL_SURVEY_OPEN": "2s", "FULFIL_LOG_FORMAT": "json",
            "FULFIL_DATA_DIR": str(data_dir / ".fulfil")}


def manual(cli: Fulfil) -> Fulfil:
    """Places orders whose warehouse waits for confirm-pick and confirm-pack."""
    return cli.but(FULFIL_WAREHOUSE_AUTOCONFIRM="manual")


def own_queue(cli: Fulfil, **env: str) -> Fulfil:
    """A task queue no other test's worker polls, so killing this one's worker stops the order."""
    return cli.but(FULFIL_TASK_QUEUE=f"e2e-{uuid.uuid4().hex[:8]}", **env)


def kinds(view: dict[str, Any]) -> list[str]:
    return [event["kind"] for event in view["timeline"]]


def amounts(view: dict[str, Any]) -> tuple[int, int, int]:
    money = view["payments"]
    return money["authorized"]["amount"], money["captured"]["amount"], money["refunded"]["amount"]


# -- fixtures ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
async def dev_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DevServer]:
    server = await start_temporal_dev_server(tmp_path_factory.mktemp("temporal"),
                                             port=find_free_port(), ui_port=find_free_port())
    yield server
    await asyncio.to_thread(server.stop)


@pytest.fixture(scope="module")
async def empty_database(session_factory: SessionFactory) -> SessionFactory:
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    async with session_factory.begin() as session:
        await session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    return session_factory


@pytest.fixture(scope="module")
async def cli(dev_server: DevServer, database_url: str, empty_database: SessionFactory,
              tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Fulfil]:
    """`fulfil` on the module's server and database, on a task queue of its own."""
    workdir = tmp_path_factory.mktemp("fulfil")
    cli = Fulfil(fulfil_env(database_url, dev_server.address, f"e2e-{uuid.uuid4().hex[:8]}",
                            workdir), workdir)
    yield cli
    for worker in cli.workers:
        await worker.stop()


@pytest.fixture(scope="module")
async def seeded(cli: Fulfil) -> dict[str, int]:
    """The test catalogue, loaded through `fulfil seed`; the command's JSON answer."""
    catalogue = cli.workdir / "catalogue.json"
    catalogue.write_text(json.dumps(CATALOGUE))
    return (await cli.ok("seed", str(catalogue), "--json")).json()


@pytest.fixture(scope="module")
async def worker(cli: Fulfil, seeded: dict[str, int]) -> WorkerProcess:
    """One worker on the module's task queue for the tests that do not kill theirs."""
    return await cli.start_worker()


@pytest.fixture
def gateway(empty_database: SessionFactory) -> SimulatedGateway:
    """The payment simulator's books, read from the same PostgreSQL the workers write."""
    return SimulatedGateway(empty_database)


# -- checks shared by the crash tests ------------------------------------------------------

async def assert_mugs_charged_once_and_shipped(db: SessionFactory, gateway: SimulatedGateway,
                                               view: dict[str, Any]) -> None:
    """One authorization and one capture at the gateway and in our books; the three mugs
    reserved once and shipped."""
    order_id, authorization = view["order_id"], view["payments"]["authorization"]
    total = MUGS_TOTAL
    assert amounts(view) == (total, total, 0)
    assert await gateway.count_operations("authorize", authorization=authorization) == 1
    assert await gateway.count_operations("capture", authorization=authorization) == 1
    ledger = await gateway.ledger(authorization)
    assert (ledger.authorized.amount, ledger.captured.amount, ledger.refunded.amount) == (
        total, total, 0)
    # each idempotency key was decided once: a call repeated after a crash got that answer
    operations = await gateway.operations_for(f"order-{order_id}:")
    assert [(op.kind, op.status, op.attempts) for op in operations] == [
        ("authorize", "authorized", 1), ("capture", "captured", 1)]
    assert await payments(db, order_id) == [("authorize", total), ("capture", total)]
    assert await reservations(db, order_id) == [HeldStock("shipped", [("MUG-LOGO", "BER", 3)])]


def activity_attempts(history: WorkflowHistory) -> dict[str, int]:
    """The attempt on which each activity type last started, from the workflow history."""
    scheduled: dict[int, str] = {}
    attempts: dict[str, int] = {}
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled[event.event_id] = event.activity_task_scheduled_event_attributes.activity_type.name
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            started = event.activity_task_started_event_attributes
            attempts[scheduled[started.scheduled_event_id]] = started.attempt
    return attempts


async def until_running(handle: WorkflowHandle[Any, Any], activity_type: str) -> int:
    """Waits until a worker has started `activity_type` and returns the attempt it runs."""
    deadline = asyncio.get_running_loop().time() + ORDER_TIMEOUT_S
    while True:
        description = await handle.describe()
        for pending in description.raw_description.pending_activities:
            if (pending.activity_type.name == activity_type
                    and pending.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED):
                return pending.attempt
        assert asyncio.get_running_loop().time() < deadline, f"{activity_type} never started"
        await asyncio.sleep(0.05)


# -- the catalogue and a whole order -------------------------------------------------------

async def test_seeding_the_same_catalogue_again_adds_nothing_and_keeps_the_stock(
        cli: Fulfil, seeded: dict[str, int]):
    # Given the catalogue was seeded through `fulfil seed` into an empty database
    assert seeded == {"warehouses": 2, "products": 4, "shipping_methods": 2, "stock_rows": 5}
    before = await cli.stock()

    # When the same file is seeded again
    again = (await cli.ok("seed", str(cli.workdir / "catalogue.json"), "--json")).json()

    # Then no opening stock is set twice
    assert again["stock_rows"] == 0
    assert await cli.stock() == before


@dataclass(frozen=True)
class CompletedOrder:
    placed: dict[str, Any]  # what `order place --json` answered
    view: dict[str, Any]  # what `order show --json` answered once it was COMPLETED
    stock_before: dict[tuple[str, str], dict[str, Any]]


@pytest.fixture(scope="module")
async def completed_order(cli: Fulfil, worker: WorkerProcess) -> CompletedOrder:
    """Two T-shirts piped into `fulfil order place -` and followed to COMPLETED."""
    before = await cli.stock()
    placed = await cli.place(checkout(lines=TEES))
    return CompletedOrder(placed, await cli.wait_for(placed["order_id"], "COMPLETED"), before)


async def test_an_order_placed_from_stdin_completes_and_shows_in_list_and_stock(
        cli: Fulfil, completed_order: CompletedOrder):
    # Given a checkout piped into `fulfil order place - --json` with a worker running
    placed, view = completed_order.placed, completed_order.view
    order_id = placed["order_id"]

    # Then the answer named the order, its workflow and its totals
    assert placed["workflow_id"] == f"order-{order_id}"
    assert placed["created"] is True
    assert placed["totals"]["grand_total"] == {"amount": TEES_TOTAL, "currency": "EUR",
                                               "display": "44.88 EUR"}

    # And `order show --json` tells the whole story of the COMPLETED order
    assert (view["order_id"], view["status"], view["failure"]) == (order_id, "COMPLETED", "")
    assert [(line["sku"], line["quantity"], line["total"]["amount"]) for line in view["lines"]] == [
        ("TEE-BLK-M", 2, 3998)]
    assert view["totals"] == placed["totals"]
    assert view["payments"]["method"] == "card"
    assert view["payments"]["authorization"].startswith("auth_")
    assert amounts(view) == (TEES_TOTAL, TEES_TOTAL, 0)
    (shipment,) = view["shipments"]
    assert (shipment["carrier"], shipment["status"]) == ("sim-standard", "delivered")
    assert kinds(view)[:5] == ["order.placed", "payment.authorized", "stock.reserved",
                               "payment.captured", "warehouse.pick_requested"]
    assert kinds(view)[-5:] == ["shipment.delivered", "returns.window_opened", "survey.sent",
                                "survey.expired", "order.completed"]
    assert [event["seq"] for event in view["timeline"]] == list(range(1, len(view["timeline"]) + 1))
    assert {event["actor"] for event in view["timeline"]
            if event["kind"] in ("warehouse.picked", "warehouse.packed")} == {"warehouse-sim"}

    # And the database's order list has it among the completed ones
    assert order_id in await cli.order_ids("--status", "COMPLETED")

    # And `stock show` lists every level, with the two T-shirts gone from Berlin
    before, after = completed_order.stock_before, await cli.stock()
    assert after.keys() == before.keys() == {(row["sku"], row["warehouse"])
                                             for row in CATALOGUE["stock"]}
    assert all(set(row) == {"sku", "warehouse", "on_hand", "reserved", "safety_stock", "salable",
                            "incoming"}
               for row in after.values())
    assert after[TEES_AT] == {**before[TEES_AT], "on_hand": before[TEES_AT]["on_hand"] - 2,
                              "salable": before[TEES_AT]["salable"] - 2}


# -- bad input and refused actions ---------------------------------------------------------

@pytest.mark.parametrize(("order_id", "body", "message"), [
    ("T-malformed", '{"order_id": "T-malformed", "lines": [', "fulfil: body: malformed JSON: "),
    ("T-unknown-sku", json.dumps(checkout(order_id="T-unknown-sku",
                                          lines=[{"sku": "NOPE", "quantity": 1}])),
     "fulfil: lines[0].sku: unknown SKU 'NOPE'"),
    ("T-zero-qty", json.dumps(checkout(order_id="T-zero-qty",
                                       lines=[{"sku": "MUG-LOGO", "quantity": 0}])),
     "fulfil: lines[0].quantity: "),
], ids=["malformed-json", "unknown-sku", "zero-quantity"])
async def test_a_bad_checkout_is_refused_naming_the_field_and_starts_nothing(
        cli: Fulfil, seeded: dict[str, int], empty_database: SessionFactory, order_id: str,
        body: str, message: str):
    # Given the orders known so far
    known = await cli.order_ids()

    # When the checkout is piped in
    refusal = await cli.refused("order", "place", "-", "--json", stdin=body)

    # Then the one line on stderr names the field
    assert refusal.startswith(message), refusal

    # And no workflow was started and no order recorded
    assert await cli.refused("order", "show", order_id) == f"fulfil: no order {order_id!r}"
    async with empty_database() as session:
        assert await OrderRepository(session).get(order_id) is None
    assert await cli.order_ids() == known


async def test_cancel_of_a_completed_order_is_refused(cli: Fulfil,
                                                      completed_order: CompletedOrder):
    # Given an order that has completed
    order_id = completed_order.placed["order_id"]

    # When support tries to cancel it
    refusal = await cli.refused("order", "cancel", order_id, "--reason", "changed mind")

    # Then the refusal says why, and the order stays COMPLETED
    assert refusal == f"fulfil: order {order_id!r} is already COMPLETED: it can no longer change"
    assert (await cli.show(order_id))["status"] == "COMPLETED"


async def test_a_refund_beyond_the_capture_is_refused_and_cancel_gives_everything_back(
        cli: Fulfil, worker: WorkerProcess, empty_database: SessionFactory):
    # Given a paid order waiting in PICKING for a warehouse that confirms by hand
    before = await cli.stock()
    order_id = (await manual(cli).place(checkout(lines=MUGS)))["order_id"]
    await cli.wait_for(order_id, "PICKING")

    # When support asks to refund more than was captured
    refusal = await cli.refused("order", "refund", order_id, "--amount", "100.00",
                                "--reason", "too much")

    # Then it is refused with the balance, and no money moves
    assert refusal == ("fulfil: refund of 100.00 EUR exceeds the refundable balance of "
                       "33.40 EUR")
    assert amounts(await cli.show(order_id)) == (MUGS_TOTAL, MUGS_TOTAL, 0)

    # When support refunds 5.00 and then cancels
    refunded = (await cli.ok("order", "refund", order_id, "--amount", "5.00", "--reason",
                             "goodwill", "--json")).json()
    cancelled = (await cli.ok("order", "cancel", order_id, "--reason", "customer asked",
                              "--json")).json()

    # Then the order is CANCELLED with the rest of the capture refunded and the mugs salable
    assert amounts(refunded) == (MUGS_TOTAL, MUGS_TOTAL, 500)
    assert (cancelled["status"], cancelled["failure"]) == ("CANCELLED", "customer asked")
    assert amounts(cancelled) == (MUGS_TOTAL, MUGS_TOTAL, MUGS_TOTAL)
    assert await payments(empty_database, order_id) == [
        ("authorize", MUGS_TOTAL), ("capture", MUGS_TOTAL), ("refund", 500),
        ("refund", MUGS_TOTAL - 500)]
    assert (await cli.stock())[MUGS_AT] == before[MUGS_AT]


# -- crashes -------------------------------------------------------------------------------

async def test_a_worker_killed_while_the_order_waits_in_picking_is_replaced_without_charging_twice(
        cli: Fulfil, seeded: dict[str, int], empty_database: SessionFactory,
        gateway: SimulatedGateway):
    # Given a paid order with stock reserved, waiting in PICKING, on a worker of its own
    crashy = own_queue(cli)
    first = await crashy.start_worker()
    before = await crashy.stock()
    order_id = (await manual(crashy).place(checkout(lines=MUGS)))["order_id"]
    picking = await crashy.wait_for(order_id, "PICKING")
    assert amounts(picking) == (MUGS_TOTAL, MUGS_TOTAL, 0)
    assert (await crashy.stock())[MUGS_AT]["reserved"] == before[MUGS_AT]["reserved"] + 3

    # When the worker is SIGKILLed and a new one starts
    first.kill()
    await first.process.wait()
    await crashy.start_worker()

    # And the warehouse confirms pick and pack through the CLI
    await crashy.ok("order", "confirm-pick", order_id, "--actor", "picker-1")
    await crashy.ok("order", "confirm-pack", order_id, "--actor", "packer-2")

    # Then the new worker takes the order to COMPLETED from where the dead one left it
    view = await crashy.wait_for(order_id, "COMPLETED")
    assert [(e["kind"], e["actor"]) for e in view["timeline"]
            if e["kind"] in ("warehouse.picked", "warehouse.packed")] == [
        ("warehouse.picked", "picker-1"), ("warehouse.packed", "packer-2")]
    assert kinds(view).count("payment.authorized") == kinds(view).count("payment.captured") == 1

    # And the customer was charged once, and exactly three mugs left Berlin
    await assert_mugs_charged_once_and_shipped(empty_database, gateway, view)
    after = (await crashy.stock())[MUGS_AT]
    assert (after["on_hand"], after["reserved"]) == (before[MUGS_AT]["on_hand"] - 3,
                                                     before[MUGS_AT]["reserved"])


async def test_a_worker_killed_mid_authorization_is_retried_and_charges_once(
        cli: Fulfil, seeded: dict[str, int], dev_server: DevServer,
        empty_database: SessionFactory, gateway: SimulatedGateway):
    # Given a worker whose gateway takes about 1.5 s to answer, on a queue of its own
    slow = own_queue(cli, FULFIL_PAYMENT_LATENCY_MS="1500")
    first = await slow.start_worker()
    before = await slow.stock()
    placed = await slow.place(checkout(lines=MUGS))
    order_id = placed["order_id"]
    handle = (await Client.connect(dev_server.address)).get_workflow_handle(placed["workflow_id"])

    # When the worker is SIGKILLed while the authorization is in flight
    assert await until_running(handle, "authorize_payment") == 1
    first.kill()
    await first.process.wait()
    assert await payments(empty_database, order_id) == []  # nothing recorded yet

    # And a new worker starts
    await slow.start_worker()

    # Then the authorization is retried once its timeout expires, and the order completes
    view = await slow.wait_for(order_id, "COMPLETED", CRASHED_ACTIVITY_TIMEOUT_S)
    attempts = activity_attempts(await handle.fetch_history())
    assert (attempts["authorize_payment"], attempts["capture_payment"]) == (2, 1)

    # And the customer was charged once, and exactly three mugs left Berlin
    await assert_mugs_charged_once_and_shipped(empty_database, gateway, view)
    assert (await slow.stock())[MUGS_AT]["on_hand"] == before[MUGS_AT]["on_hand"] - 3


async def test_a_dev_server_restarted_mid_order_on_its_db_file_loses_nothing(
        cli: Fulfil, seeded: dict[str, int], empty_database: SessionFactory,
        gateway: SimulatedGateway, tmp_path: Path):
    # Given a dev server of its own, persisting to a db file, and a worker connected to it
    port, ui_port = find_free_port(), find_free_port()
    server = await start_temporal_dev_server(tmp_path, port=port, ui_port=ui_port)
    try:
        remote = own_queue(cli, FULFIL_TEMPORAL_ADDRESS=server.address)
        worker = await remote.start_worker()
        before = await remote.stock()
        # And a paid order waiting in PICKING
        order_id = (await manual(remote).place(checkout(lines=MUGS)))["order_id"]
        await remote.wait_for(order_id, "PICKING")

        # When the server stops and starts again on the same file and port
        await asyncio.to_thread(server.stop)
        server = await start_temporal_dev_server(tmp_path, port=port, ui_port=ui_port)

        # And the warehouse confirms pick and pack
        await remote.ok("order", "confirm-pick", order_id)
        await remote.ok("order", "confirm-pack", order_id)

        # Then the same worker process, reconnected, completes the order
        view = await remote.wait_for(order_id, "COMPLETED")
        assert worker.process.returncode is None
        assert (tmp_path / "temporal.db").exists()

        # And the customer was charged once, and exactly three mugs left Berlin
        await assert_mugs_charged_once_and_shipped(empty_database, gateway, view)
        assert (await remote.stock())[MUGS_AT]["on_hand"] == before[MUGS_AT]["on_hand"] - 3
    finally:
        await asyncio.to_thread(server.stop)


# -- after delivery ------------------------------------------------------------------------

async def test_support_returns_a_shirt_and_the_warehouse_books_it_through_the_cli(
        cli: Fulfil, worker: WorkerProcess):
    # Given a delivered order whose return window is still open
    open_window = cli.but(FULFIL_RETURN_WINDOW="90s")
    order_id = (await open_window.place(checkout(lines=TEES)))["order_id"]
    await cli.wait_for(order_id, "DELIVERED")

    # Bad input is refused before the workflow hears of it
    assert await cli.refused("order", "return", order_id, "--line", "TEE-BLK-M=two",
                             "--reason", "DEFECTIVE") == (
        "fulfil: --line: TEE-BLK-M: quantity must be a whole number, not 'two'")
    assert (await cli.refused("order", "return", order_id, "--line", "TEE-BLK-M=1",
                              "--reason", "UGLY")).startswith("fulfil: reason: unknown return")

    # When support opens a return and the warehouse books the shirt as resellable
    opened = (await cli.ok("order", "return", order_id, "--line", "TEE-BLK-M=1",
                           "--reason", "size_too_small", "--json")).json()
    received = (await cli.ok("return", "receive", opened["rma"], "--line", "TEE-BLK-M=1",
                             "--condition", "resellable", "--json")).json()

    # Then the shirt is refunded, and a rejection afterwards is refused with the reason
    assert (received["acceptance"], received["refunded"]["amount"]) == ("accepted", 1999)
    refusal = await cli.refused("return", "reject", opened["rma"], "--reason", "too late")
    assert refusal == f"fulfil: {opened['rma']} has already been accepted"
    view = await cli.show(order_id)
    assert view["status"] == "REFUNDED" and view["returns"][0]["rma"] == opened["rma"]
    assert await cli.refused("return", "accept", "RMA-NOPE-1") == "fulfil: no return 'RMA-NOPE-1'"


# -- the repairer --------------------------------------------------------------------------

async def test_a_worker_schedules_the_repairer_for_its_queue(
        cli: Fulfil, worker: WorkerProcess, dev_server: DevServer):
    # Given a worker started on the module's queue, and a second one on the same queue
    queue = cli.env["FULFIL_TASK_QUEUE"]
    await cli.start_worker()
    client = await Client.connect(dev_server.address, namespace=dev_server.namespace)

    # Then one schedule runs the repairer there every 30 s, one round at a time
    schedule = client.get_schedule_handle(repair_schedule_id(queue))
    described = (await schedule.describe()).schedule
    assert [i.every for i in described.spec.intervals] == [timedelta(seconds=30)]
    assert described.policy.overlap == ScheduleOverlapPolicy.SKIP
    assert isinstance(described.action, ScheduleActionStartWorkflow)
    assert (described.action.workflow, described.action.task_queue) == ("RepairWorkflow", queue)

    # And a round run now finds nothing to repair
    before = {a.action.workflow_id for a in (await schedule.describe()).info.recent_actions}
    await schedule.trigger()
    deadline = asyncio.get_running_loop().time() + ORDER_TIMEOUT_S
    while not (runs := [a.action for a in (await schedule.describe()).info.recent_actions
                        if a.action.workflow_id not in before]):
        assert asyncio.get_running_loop().time() < deadline, "the triggered round never started"
        await asyncio.sleep(POLL_S)
    assert await client.get_workflow_handle(runs[0].workflow_id,
                                            run_id=runs[0].first_execution_run_id).result() == []
