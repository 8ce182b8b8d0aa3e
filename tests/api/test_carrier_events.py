"""Tracking events carriers push: signed webhooks, scans the warehouse enters by hand and the
`fulfil carrier event` command, each delivered to the order its parcel belongs to."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from typer.testing import CliRunner

from activities.db.aftercare_tables import ReturnRow
from activities.db.order_repository import ShipmentRepository
from api.carrier_events import CarrierEventService, InvalidCarrierEvent, UnknownParcel
from api.http.routes_carriers import sign
from api.http.services import ApiServices
from api.orders import OrderService
from tests.api.conftest import Keys, bearer, client_for
from tests.support import checkout
from tests.workflows.checks import confirm_pick_and_pack, eventually, reach
from tests.workflows.conftest import Stack
from workers.cli import app as fulfil

SECRETS = {"sim-standard": "whsec_test_standard", "sim-express": "whsec_test_express"}


@dataclass(frozen=True)
class Shipped:
    order_id: str
    handle: WorkflowHandle[Any, Any]
    tracking_number: str


@pytest.fixture
async def carrier_api(stack: Stack, keys: Keys) -> Any:
    async with client_for(ApiServices.of(stack.orders, carrier_secrets=SECRETS)) as client:
        yield client


@pytest.fixture
async def shipped(stack: Stack, manual_orders: OrderService) -> Shipped:
    """An order whose parcel has left with sim-standard."""
    placed = await manual_orders.place(checkout())
    await confirm_pick_and_pack(placed.handle)
    async with stack.db() as session:
        [shipment] = await ShipmentRepository(session).for_order(placed.order.order_id)
    return Shipped(placed.order.order_id, placed.handle, shipment.tracking_number)


def scan(tracking_number: str, code: str = "delivered", **changes: Any) -> bytes:
    body = {"tracking_number": tracking_number, "code": code,
            "at": datetime.now(UTC).isoformat(), "location": "Berlin, DE",
            "description": "Delivered to Ada Lovelace", **changes}
    return json.dumps(body).encode()


async def post_webhook(api: httpx.AsyncClient, body: bytes, *, carrier: str = "sim-standard",
                       signature: str | None = None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Fulfil-Signature"] = signature
    return await api.post(f"/v1/webhooks/carriers/{carrier}", content=body, headers=headers)


async def pushed_events(handle: WorkflowHandle[Any, Any]) -> list[dict[str, Any]]:
    """The carrier_event signals in the order's history, as their payloads. A signal that
    arrives during a workflow task is written to the history when the task completes."""
    found = []
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            signaled = event.workflow_execution_signaled_event_attributes
            if signaled.signal_name == "carrier_event":
                found.append(json.loads(signaled.input.payloads[0].data))
    return found


# -- signed webhooks -----------------------------------------------------------------------

async def test_a_signed_webhook_is_accepted_and_the_order_is_delivered(
        carrier_api: httpx.AsyncClient, shipped: Shipped):
    # Given a parcel on its way, and the carrier's signed delivery scan
    body = scan(shipped.tracking_number)

    # When the carrier posts it
    response = await post_webhook(carrier_api, body,
                                  signature=sign(SECRETS["sim-standard"], body, int(time.time())))

    # Then it is accepted, and the order's workflow receives the scan
    assert response.status_code == 202, response.text
    assert response.json()["order_id"] == shipped.order_id
    assert (response.json()["tracking_number"], response.json()["code"]) == (
        shipped.tracking_number, "delivered")
    [pushed] = await eventually(lambda: pushed_events(shipped.handle), "the pushed event")
    assert (pushed["tracking_number"], pushed["code"], pushed["location"]) == (
        shipped.tracking_number, "delivered", "Berlin, DE")
    # and the order is delivered on the strength of it
    await reach(shipped.handle, "DELIVERED")


def _unsigned(body: bytes) -> tuple[str, bytes, str | None]:
    return "sim-standard", body, None


def _tampered(body: bytes) -> tuple[str, bytes, str | None]:
    signature = sign(SECRETS["sim-standard"], body, int(time.time()))
    return "sim-standard", body.replace(b"delivered", b"lost", 1), signature


def _stale(body: bytes) -> tuple[str, bytes, str | None]:
    return "sim-standard", body, sign(SECRETS["sim-standard"], body, int(time.time()) - 301)


def _other_carriers_secret(body: bytes) -> tuple[str, bytes, str | None]:
    return "sim-standard", body, sign(SECRETS["sim-express"], body, int(time.time()))


def _unknown_carrier(body: bytes) -> tuple[str, bytes, str | None]:
    return "dhl", body, sign(SECRETS["sim-standard"], body, int(time.time()))


def _malformed(body: bytes) -> tuple[str, bytes, str | None]:
    return "sim-standard", body, "v1=deadbeef"


@pytest.mark.parametrize(("forge", "reason"), [
    (_unsigned, "missing signature"), (_tampered, "signature mismatch"),
    (_stale, "stale timestamp"), (_other_carriers_secret, "signature mismatch"),
    (_unknown_carrier, "unknown carrier"), (_malformed, "malformed signature"),
], ids=["unsigned", "tampered", "stale", "wrong-carrier", "unknown-carrier", "malformed"])
async def test_a_webhook_that_does_not_prove_its_carrier_is_401_and_moves_nothing(
        carrier_api: httpx.AsyncClient, shipped: Shipped, forge: Any, reason: str):
    # Given a request for a real parcel that is unsigned, altered, old or not the carrier's
    carrier, body, signature = forge(scan(shipped.tracking_number))

    # When it reaches the webhook
    with capture_logs() as logs:
        response = await post_webhook(carrier_api, body, carrier=carrier, signature=signature)

    # Then it is refused as a problem, logged with the reason, and the order hears nothing
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == f"webhook rejected: {reason}"
    assert {"event": "carrier.webhook_rejected", "carrier": carrier, "reason": reason,
            "log_level": "warning"} in logs
    assert await pushed_events(shipped.handle) == []


async def test_a_signed_webhook_about_an_unknown_parcel_is_404(carrier_api: httpx.AsyncClient):
    body = scan("SIMS0000000000")

    response = await post_webhook(carrier_api, body,
                                  signature=sign(SECRETS["sim-standard"], body, int(time.time())))

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "no parcel 'SIMS0000000000' of sim-standard"


async def test_a_carrier_cannot_report_on_another_carriers_parcel(
        carrier_api: httpx.AsyncClient, shipped: Shipped):
    body = scan(shipped.tracking_number)

    response = await post_webhook(carrier_api, body, carrier="sim-express",
                                  signature=sign(SECRETS["sim-express"], body, int(time.time())))

    assert response.status_code == 404
    assert await pushed_events(shipped.handle) == []


async def test_a_signed_webhook_with_an_unknown_code_names_the_field(
        carrier_api: httpx.AsyncClient, shipped: Shipped):
    body = scan(shipped.tracking_number, code="teleported")

    response = await post_webhook(carrier_api, body,
                                  signature=sign(SECRETS["sim-standard"], body, int(time.time())))

    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "code" and "not 'teleported'" in error["message"]
    assert await pushed_events(shipped.handle) == []


async def test_a_signed_webhook_with_a_malformed_body_names_the_missing_field(
        carrier_api: httpx.AsyncClient):
    body = json.dumps({"code": "delivered", "at": datetime.now(UTC).isoformat()}).encode()

    response = await post_webhook(carrier_api, body,
                                  signature=sign(SECRETS["sim-standard"], body, int(time.time())))

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["tracking_number"]


# -- scans entered by the warehouse --------------------------------------------------------

async def test_the_warehouse_enters_a_failed_delivery_and_the_storefront_may_not(
        carrier_api: httpx.AsyncClient, keys: Keys, shipped: Shipped):
    body = json.loads(scan(shipped.tracking_number, code="delivery_failed",
                           description="Nobody at home"))

    refused = await carrier_api.post("/v1/carrier-events", json=body,
                                     headers=bearer(keys.storefront))
    unauthenticated = await carrier_api.post("/v1/carrier-events", json=body)
    accepted = await carrier_api.post("/v1/carrier-events", json=body,
                                      headers=bearer(keys.warehouse))

    assert (refused.status_code, unauthenticated.status_code) == (403, 401)
    assert accepted.status_code == 202, accepted.text
    [pushed] = await eventually(lambda: pushed_events(shipped.handle), "the pushed event")
    assert (pushed["code"], pushed["description"]) == ("delivery_failed", "Nobody at home")


# -- the service itself --------------------------------------------------------------------

async def test_the_service_refuses_unknown_codes_zoneless_and_future_times_and_unknown_parcels(
        stack: Stack):
    service = CarrierEventService(stack.orders.client, stack.db)
    now = datetime.now(UTC)

    with pytest.raises(InvalidCarrierEvent) as bad_code:
        await service.deliver("SIMS1", "teleported", now)
    with pytest.raises(InvalidCarrierEvent) as zoneless:
        await service.deliver("SIMS1", "delivered", now.replace(tzinfo=None))
    with pytest.raises(InvalidCarrierEvent) as future:
        await service.deliver("SIMS1", "delivered", now + timedelta(hours=1))
    with pytest.raises(UnknownParcel):
        await service.deliver("SIMS1", "delivered", now)

    assert (bad_code.value.field, zoneless.value.field, future.value.field) == ("code", "at", "at")


async def test_a_return_parcels_scan_reaches_the_order_it_belongs_to(
        stack: Stack, shipped: Shipped):
    # Given a return on its way back, known by the tracking number of its label
    async with stack.db.begin() as session:
        session.add(ReturnRow(rma=f"RMA-{shipped.order_id}", order_id=shipped.order_id,
                              reason="too_small", resolution="refund", carrier="sim-standard",
                              tracking_number="RETS00000000AA", currency="EUR"))

    # When the carrier reports it in transit
    delivered = await CarrierEventService(stack.orders.client, stack.db).deliver(
        "RETS00000000AA", "IN_TRANSIT", datetime.now(UTC), carrier="sim-standard")

    # Then the order's workflow receives the scan with the return's tracking number
    assert delivered.order_id == shipped.order_id
    [pushed] = await eventually(lambda: pushed_events(shipped.handle), "the pushed event")
    assert (pushed["tracking_number"], pushed["code"]) == ("RETS00000000AA", "in_transit")


# -- fulfil carrier event -----------------------------------------------------------------

def cli_env(stack: Stack, database_url: str) -> dict[str, str]:
    return {"FULFIL_DATABASE_URL": database_url,
            "FULFIL_TEMPORAL_ADDRESS": stack.env.client.service_client.config.target_host}


def test_the_cli_refuses_an_unknown_code_before_connecting(database_url: str):
    result = CliRunner().invoke(fulfil, ["carrier", "event", "SIMS1", "teleported"],
                                env={"FULFIL_DATABASE_URL": database_url})

    assert result.exit_code == 2
    assert "code: unknown tracking code 'teleported'" in result.stderr


async def test_the_cli_refuses_an_unknown_tracking_number(stack: Stack, database_url: str):
    result = await asyncio.to_thread(CliRunner().invoke, fulfil, [
        "carrier", "event", "SIMS0000000000", "delivered"], env=cli_env(stack, database_url))

    assert result.exit_code == 2
    assert "no parcel 'SIMS0000000000'" in result.stderr


async def test_the_cli_delivers_a_scan_to_the_order(
        stack: Stack, shipped: Shipped, database_url: str):
    at = (datetime.now(UTC) - timedelta(minutes=3)).replace(microsecond=0)

    result = await asyncio.to_thread(CliRunner().invoke, fulfil, [
        "carrier", "event", shipped.tracking_number, "delivered", "--at",
        at.replace(tzinfo=None).isoformat(), "--location", "Berlin, DE", "--json"],
        env=cli_env(stack, database_url))

    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert (printed["order_id"], printed["code"], printed["at"]) == (
        shipped.order_id, "delivered", at.isoformat())
    [pushed] = await eventually(lambda: pushed_events(shipped.handle), "the pushed event")
    assert (pushed["tracking_number"], pushed["location"]) == (shipped.tracking_number,
                                                               "Berlin, DE")
