"""Shipping activities over the simulated carriers and real PostgreSQL: one label per key,
undeliverable addresses are final, and our shipments record follows the carrier's scans."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.carriers.activities import (
    ClaimInput,
    CreateShipmentInput,
    ReturnLabelInput,
    ShipmentInfo,
    ShipmentRef,
    ShippingActivities,
)
from activities.carriers.carrier import Parcel
from activities.carriers.simulator import SimulatedCarrier, simulated_carriers
from activities.db.engine import SessionFactory
from activities.db.order_repository import ShipmentRepository
from activities.db.tables import ShipmentRow
from activities.records import RecordActivities, ShipmentStatusInput
from domain.money import Money
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


def home(postal_code: str = "10117") -> Address:
    return Address("Ada Lovelace", "Unter den Linden 1", "Berlin", postal_code, "DE")


async def create(env: ActivityEnvironment, shipping: ShippingActivities,
                 postal_code: str = "10117", **fields: str) -> ShipmentInfo:
    return await env.run(shipping.create_shipment, CreateShipmentInput(
        ORDER, f"{ORDER}:ship", CARRIER, home(postal_code), [Parcel("TEE-BLK-M", 2)], **fields))


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


# -- what the shipments record keeps after the hand-over ------------------------------------

async def shipment_row(db: SessionFactory) -> ShipmentRow:
    async with db() as session:
        [row] = await ShipmentRepository(session).for_order(ORDER)
    return row


async def test_a_shipment_records_its_warehouse_purpose_and_when_it_left(
    db: SessionFactory, shipping: ShippingActivities, activity_env: ActivityEnvironment
) -> None:
    before = datetime.now(UTC)

    await create(activity_env, shipping, warehouse="HAM", purpose="replacement")

    row = await shipment_row(db)
    assert (row.warehouse, row.purpose) == ("HAM", "replacement")
    assert row.shipped_at is not None and before <= row.shipped_at <= datetime.now(UTC)
    assert row.delivered_at is None and (row.exception, row.exception_count) == ("", 0)


async def test_polling_a_parcel_whose_first_attempt_failed_counts_one_exception_and_the_delivery(
    db: SessionFactory, shipping: ShippingActivities, activity_env: ActivityEnvironment
) -> None:
    info = await create(activity_env, shipping, postal_code="99001")

    for _ in range(8):  # two polls more than the journey has scans
        updates = await activity_env.run(shipping.poll_tracking, ref(info))

    assert [u.code for u in updates] == [*JOURNEY[:4], "delivery_failed", "out_for_delivery",
                                         "delivered"]
    row = await shipment_row(db)
    assert (row.status, row.exception, row.exception_count) == ("delivered", "delivery_failed", 1)
    assert row.delivered_at == updates[-1].at


async def test_polling_a_lost_parcel_records_the_loss_and_no_delivery(
    db: SessionFactory, shipping: ShippingActivities, activity_env: ActivityEnvironment
) -> None:
    info = await create(activity_env, shipping, postal_code="99003")

    for _ in range(5):
        await activity_env.run(shipping.poll_tracking, ref(info))

    row = await shipment_row(db)
    assert (row.status, row.exception, row.exception_count, row.delivered_at) == (
        "lost", "lost", 1, None)


async def test_pushed_scans_count_each_distinct_exception_once_and_keep_the_carriers_time(
    db: SessionFactory, shipping: ShippingActivities, activity_env: ActivityEnvironment
) -> None:
    info = await create(activity_env, shipping)
    records = RecordActivities(db)
    first_try = datetime(2025, 3, 2, 10, 0, tzinfo=UTC)
    delivered = first_try + timedelta(days=1)

    async def push(code: str, at: datetime | None) -> None:
        await activity_env.run(records.record_shipment_status,
                               ShipmentStatusInput(info.tracking_number, code, at))

    await push("delivery_failed", first_try)
    await push("delivery_failed", first_try)  # the same scan delivered twice
    await push("out_for_delivery", first_try + timedelta(hours=20))
    await push("delivery_failed", first_try + timedelta(hours=22))
    await push("delivered", delivered)
    await push("delivered", delivered + timedelta(hours=1))  # a late repeat keeps the first

    row = await shipment_row(db)
    assert (row.status, row.exception, row.exception_count) == ("delivered", "delivery_failed", 2)
    assert row.delivered_at == delivered


async def test_a_pushed_status_without_a_time_is_stamped_when_recorded(
    db: SessionFactory, shipping: ShippingActivities, activity_env: ActivityEnvironment
) -> None:
    info = await create(activity_env, shipping)
    before = datetime.now(UTC)

    await activity_env.run(RecordActivities(db).record_shipment_status,
                           ShipmentStatusInput(info.tracking_number, "delivered"))

    row = await shipment_row(db)
    assert row.delivered_at is not None and before <= row.delivered_at <= datetime.now(UTC)


# -- return labels and claims --------------------------------------------------------------

def return_label(key: str = f"{ORDER}:return:RMA-1", postal_code: str = "10117"
                 ) -> ReturnLabelInput:
    return ReturnLabelInput(ORDER, "RMA-1", key, CARRIER, home(postal_code),
                            [Parcel("TEE-BLK-M", 1)])


async def test_a_return_label_is_bought_once_per_key_and_tracked_to_the_warehouse(
    db: SessionFactory, shipping: ShippingActivities, carriers: dict[str, SimulatedCarrier],
    activity_env: ActivityEnvironment,
) -> None:
    label = await activity_env.run(shipping.create_return_label, return_label())
    again = await activity_env.run(shipping.create_return_label, return_label())

    polls = [await activity_env.run(shipping.track_return, ref(label)) for _ in range(3)]

    assert again == label and label.carrier == CARRIER
    assert [[u.code for u in poll] for poll in polls] == [
        ["label_created", "in_transit"], ["label_created", "in_transit", "delivered"],
        ["label_created", "in_transit", "delivered"]]
    assert polls[-1][-1].description == "Return delivered to the warehouse"
    [at_carrier] = await carriers[CARRIER].shipments_for(ORDER)
    assert (at_carrier.kind, at_carrier.rma) == ("return", "RMA-1")
    assert await recorded(db) == []  # the returns activities keep the label on the RMA


async def test_a_return_label_the_carrier_refuses_fails_for_good(
    shipping: ShippingActivities, activity_env: ActivityEnvironment
) -> None:
    with pytest.raises(ApplicationError) as failure:
        await activity_env.run(shipping.create_return_label, return_label(postal_code="00000"))

    assert (failure.value.type, failure.value.non_retryable) == ("AddressRejected", True)


async def test_a_claim_is_filed_once_per_parcel(
    db: SessionFactory, shipping: ShippingActivities, activity_env: ActivityEnvironment
) -> None:
    lost = ClaimInput(ORDER, CARRIER, "SIMS0000000001", "lost", Money(3998, "EUR"))
    returned = ClaimInput(ORDER, CARRIER, "SIMS0000000002", "returned_to_sender",
                          Money(1999, "EUR"))

    first = await activity_env.run(shipping.file_claim, lost)
    again = await activity_env.run(shipping.file_claim, lost)
    other = await activity_env.run(shipping.file_claim, returned)

    assert first == again and first.startswith("CLM-") and other != first
    async with db() as session:
        claims = await ShipmentRepository(session).claims_for(ORDER)
    assert [(f"CLM-{c.id}", c.tracking_number, c.reason, c.amount, c.currency, c.status)
            for c in claims] == [
        (first, "SIMS0000000001", "lost", 3998, "EUR", "filed"),
        (other, "SIMS0000000002", "returned_to_sender", 1999, "EUR", "filed")]
