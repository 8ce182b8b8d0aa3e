"""Shipping activities over the simulated carriers and real PostgreSQL: one label per key,
undeliverable addresses are final, and our shipments record follows the carrier's scans."""

from __future__ import annotations

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.carriers.activities import (
    CreateShipmentInput,
    ShipmentInfo,
    ShipmentRef,
    ShippingActivities,
)
from activities.carriers.carrier import Parcel
from activities.carriers.simulator import SimulatedCarrier, simulated_carriers
from activities.db.engine import SessionFactory
from activities.db.order_repository import ShipmentRepository
from domain.order import Address

ORDER = "ORD-1"
CARRIER = "sim-standard"
JOURNEY = ["label_created", "picked_up", "in_transit", "out_for_delivery", "delivered"]


@pytest.fixture
def carriers(db: SessionFactory) -> dict[str, SimulatedCarrier]:
    return simulated_carriers(db, latency_ms=0)


@pytest.fixture
def shipping(db: SessionFactory, carriers: dict[str, SimulatedCarrier]) -> ShippingActivities:
    return ShippingActivities(carriers, db)  # type: ignore[arg-type]


async def create(env: ActivityEnvironment, shipping: ShippingActivities,
                 postal_code: str = "10117") -> ShipmentInfo:
    address = Address("Ada Lovelace", "Unter den Linden 1", "Berlin", postal_code, "DE")
    return await env.run(shipping.create_shipment, CreateShipmentInput(
        ORDER, f"{ORDER}:ship", CARRIER, address, [Parcel("TEE-BLK-M", 2)]))


def ref(info: ShipmentInfo) -> ShipmentRef:
    return ShipmentRef(ORDER, info.carrier, info.tracking_number)


async def recorded(db: SessionFactory) -> list[tuple[str, str, str]]:
    """The order's shipments rows as (key, tracking_number, status)."""
    async with db() as session:
        rows = await ShipmentRepository(session).for_order(ORDER)
    return [(r.idempotency_key, r.tracking_number, r.status) for r in rows]


async def test_creating_a_shipment_twice_with_one_key_records_one_label(
    db: SessionFactory, shipping: ShippingActivities, carriers: dict[str, SimulatedCarrier],
    activity_env: ActivityEnvironment,
) -> None:
    first = await create(activity_env, shipping)
    again = await create(activity_env, shipping)

    assert again == first
    assert first.carrier == CARRIER and first.label_url.endswith(f"{first.tracking_number}.pdf")
    assert await recorded(db) == [(f"{ORDER}:ship", first.tracking_number, "created")]
    assert len(await carriers[CARRIER].shipments_for(ORDER)) == 1


async def test_an_address_the_carrier_refuses_fails_for_good_and_records_nothing(
    db: SessionFactory, shipping: ShippingActivities, activity_env: ActivityEnvironment
) -> None:
    with pytest.raises(ApplicationError) as failure:
        await create(activity_env, shipping, postal_code="00000")

    assert (failure.value.type, failure.value.non_retryable) == ("AddressRejected", True)
    assert await recorded(db) == []


async def test_cancelling_a_shipment_marks_it_cancelled_here_and_at_the_carrier(
    db: SessionFactory, shipping: ShippingActivities, carriers: dict[str, SimulatedCarrier],
    activity_env: ActivityEnvironment,
) -> None:
    info = await create(activity_env, shipping)

    await activity_env.run(shipping.cancel_shipment, ref(info))

    assert await recorded(db) == [(f"{ORDER}:ship", info.tracking_number, "cancelled")]
    [at_carrier] = await carriers[CARRIER].shipments_for(ORDER)
    assert at_carrier.cancelled


async def test_a_parcel_already_picked_up_cannot_be_cancelled(
    db: SessionFactory, shipping: ShippingActivities, activity_env: ActivityEnvironment
) -> None:
    info = await create(activity_env, shipping)
    await activity_env.run(shipping.poll_tracking, ref(info))

    with pytest.raises(ApplicationError) as failure:
        await activity_env.run(shipping.cancel_shipment, ref(info))

    assert (failure.value.type, failure.value.non_retryable) == ("ShipmentNotCancellable", True)
    assert await recorded(db) == [(f"{ORDER}:ship", info.tracking_number, "picked_up")]


async def test_each_tracking_poll_moves_the_parcel_one_scan_on_until_it_is_delivered(
    db: SessionFactory, shipping: ShippingActivities, activity_env: ActivityEnvironment
) -> None:
    info = await create(activity_env, shipping)

    for scans in range(2, len(JOURNEY) + 1):
        updates = await activity_env.run(shipping.poll_tracking, ref(info))
        assert [u.code for u in updates] == JOURNEY[:scans]
        assert await recorded(db) == [(f"{ORDER}:ship", info.tracking_number, JOURNEY[scans - 1])]

    after_delivery = await activity_env.run(shipping.poll_tracking, ref(info))

    assert [u.code for u in after_delivery] == JOURNEY
    assert after_delivery[-1].description == "Delivered to Ada Lovelace"
    assert await recorded(db) == [(f"{ORDER}:ship", info.tracking_number, "delivered")]
