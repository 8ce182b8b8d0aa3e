"""/metrics: business figures read from PostgreSQL whatever process did the work, and the
Temporal SDK's worker metrics beside them when a worker runs in the API's process."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families
from temporalio.client import Client

from activities.carriers.simulator import simulated_carriers
from activities.db.order_repository import ShipmentRepository
from activities.db.tables import OrderRow
from activities.payments.simulator import SimulatedGateway
from api.http.app import create_app
from api.http.routes_metrics import serve_sdk_metrics_from
from api.http.services import ApiServices
from api.orders import OrderService
from api.stock import StockService
from tests.support import checkout
from tests.workflows.checks import deliver_now, reach
from tests.workflows.conftest import TIMINGS, Stack
from workers.logging import temporal_runtime
from workers.runtime import scrape_url
from workers.stack import find_free_port
from workers.worker import build_activities, build_worker

TOTAL = 2 * 1999 + 490
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    """Every sample of a scrape by (name, sorted labels)."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def scrape(api: httpx.AsyncClient) -> Samples:
    response = await api.get("/metrics")  # no API key: scraped on the internal network
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return samples(response.text)


async def test_order_outcomes_refunds_and_stock_alerts_are_counted_from_the_database(
        api: httpx.AsyncClient, stack: Stack, manual_orders: OrderService):
    # Given an order that completed, one declined, one cancelled while picking (its capture
    # refunded) and one delivered with 5.00 refunded
    completed = await stack.orders.place(checkout())
    declined = await stack.orders.place(checkout(token="tok_declined"))
    cancelled = await manual_orders.place(checkout())
    refunded = await manual_orders.place(checkout())
    await reach(cancelled.handle, "PICKING")
    await stack.orders.cancel(cancelled.order.order_id, "changed their mind")
    await deliver_now(refunded.handle)
    await stack.orders.refund(refunded.order.order_id, "5.00", "late")
    for placed in (completed, declined, cancelled, refunded):
        await placed.handle.result()
    # And two low-stock alerts, one of them resolved again
    stock = StockService(stack.db)
    await stock.set_policy("MUG-LOGO", "BER", reorder_point=1000)
    await stock.set_policy("MUG-LOGO", "BER", reorder_point=0)
    await stock.set_policy("CAP-NAVY", "HAM", reorder_point=5)

    # When Prometheus scrapes
    found = await scrape(api)

    # Then each figure is what the database holds
    assert found[("fulfil_orders_placed_total", ())] == 4
    assert found[("fulfil_orders_completed_total", ())] == 2
    assert found[("fulfil_payment_failures_total", ())] == 1
    assert found[("fulfil_orders_cancelled_total", ())] == 1
    assert found[("fulfil_orders_failed_total", ())] == 0
    assert found[("fulfil_orders", (("status", "COMPLETED"),))] == 2
    assert found[("fulfil_orders", (("status", "PICKING"),))] == 0
    assert found[("fulfil_refunds_total", (("currency", "EUR"),))] == 2
    assert found[("fulfil_refunded_minor_units_total", (("currency", "EUR"),))] == TOTAL + 500
    assert found[("fulfil_stock_alerts_raised_total", ())] == 2
    assert found[("fulfil_stock_alerts_open", ())] == 1
    # And the two orders that shipped are in the time-to-ship histogram
    assert found[("fulfil_order_to_ship_seconds_count", ())] == 2
    assert found[("fulfil_order_to_ship_seconds_bucket", (("le", "+Inf"),))] == 2


def _order(order_id: str, placed_at: datetime) -> OrderRow:
    return OrderRow(order_id=order_id, workflow_id=f"order-{order_id}", customer_id="cus_1",
                    customer_email="a@example.com", customer_name="A", currency="EUR",
                    status="SHIPPED", subtotal=100, shipping_cost=0, grand_total=100,
                    shipping_method="standard", carrier="sim-standard", address={},
                    payment_method="card", placed_at=placed_at, updated_at=placed_at)


async def test_time_to_ship_counts_each_order_once_from_its_first_outbound_parcel(
        api: httpx.AsyncClient, stack: Stack):
    # Given orders placed at T: A's first parcel left after 10 minutes (its second after 2
    # hours), B's after 2 days; C has a label but no hand-over yet, D only a replacement,
    # E's parcel was cancelled
    placed = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    parcels: dict[str, list[tuple[str, timedelta | None]]] = {
        "A": [("outbound", timedelta(minutes=10)), ("outbound", timedelta(hours=2))],
        "B": [("outbound", timedelta(days=2))],
        "C": [("outbound", None)],
        "D": [("replacement", timedelta(minutes=1))],
        "E": [("outbound", timedelta(minutes=1))]}
    async with stack.db.begin() as session:
        session.add_all([_order(f"M-{name}", placed) for name in parcels])
        await session.flush()
        shipments = ShipmentRepository(session)
        for name, sent in parcels.items():
            for n, (purpose, after) in enumerate(sent):
                tracking_number = f"TRK-{uuid.uuid4().hex[:10]}"
                await shipments.record(
                    key=f"M-{name}-{n}", order_id=f"M-{name}", carrier="sim-standard",
                    tracking_number=tracking_number, label_url="",
                    purpose=purpose, shipped_at=placed + after if after else None)
        await shipments.set_status(tracking_number, "cancelled")  # E's, the last one

    found = await scrape(api)

    # Then A counts 600 s and B 172800 s; C, D and E are not shipped orders
    def bucket(le: str) -> float:
        return found[("fulfil_order_to_ship_seconds_bucket", (("le", le),))]
    assert found[("fulfil_order_to_ship_seconds_count", ())] == 2
    assert found[("fulfil_order_to_ship_seconds_sum", ())] == 600 + 172800
    assert (bucket("300"), bucket("900"), bucket("86400"), bucket("172800"),
            bucket("+Inf")) == (0, 1, 1, 2, 2)


async def test_a_worker_in_the_apis_process_shows_its_sdk_metrics_on_the_same_scrape(
        stack: Stack):
    # Given a worker whose Temporal runtime serves the SDK's metrics (as in `fulfil dev`)
    address = f"127.0.0.1:{find_free_port()}"
    client = await Client.connect(stack.env.client.service_client.config.target_host,
                                  namespace=stack.env.client.namespace,
                                  runtime=temporal_runtime(address))
    task_queue = f"orders-metrics-{uuid.uuid4()}"
    activities = build_activities(stack.db, SimulatedGateway(stack.db, latency_ms=0),
                                  simulated_carriers(stack.db, latency_ms=0))  # type: ignore[arg-type]
    orders = OrderService(client, stack.db, task_queue, TIMINGS)
    app = create_app(ApiServices.of(orders))
    serve_sdk_metrics_from(app, scrape_url(address))

    async with build_worker(client, task_queue, activities):
        # When it runs an order (declined at once, so nothing is left running) and
        # Prometheus scrapes the API
        placed = await orders.place(checkout(token="tok_declined"))
        assert (await placed.handle.result()).status == "PAYMENT_FAILED"
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app),
                                     base_url="http://fulfil.test") as api:
            response = await api.get("/metrics")

    # Then one scrape holds the worker's slots and activity latencies and the business figures
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert {"temporal_worker_task_slots_available", "temporal_activity_execution_latency",
            "temporal_workflow_completed", "fulfil_orders_placed",
            "fulfil_order_to_ship_seconds"} <= names
