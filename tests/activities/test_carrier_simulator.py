"""The simulated carriers against real PostgreSQL: one label per key, one scan per poll."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from activities.carriers.carrier import (
    AddressRejected,
    CarrierUnavailable,
    CreatedShipment,
    Parcel,
    ShipmentNotCancellable,
)
from activities.carriers.simulator import SimulatedCarrier, UnknownShipment, simulated_carriers
from activities.db.engine import SessionFactory
from domain.money import Money
from domain.order import Address

HOME = Address(name="Ada Lovelace", line1="1 Analytical Way", city="Berlin",
               postal_code="10115", country="DE")
JOURNEY = ["label_created", "picked_up", "in_transit", "out_for_delivery", "delivered"]


@pytest.fixture
def carrier(db: SessionFactory) -> SimulatedCarrier:
    return simulated_carriers(db, latency_ms=0)["sim-standard"]


async def ship(
    carrier: SimulatedCarrier, *, key: str = "order-1:ship", address: Address = HOME
) -> CreatedShipment:
    return await carrier.create_shipment(
        idempotency_key=key, order_id="order-1", address=address, parcels=[Parcel("SKU-1", 2)]
    )


async def test_the_two_carriers_quote_their_service_in_the_requested_currency(
    db: SessionFactory,
) -> None:
    carriers = simulated_carriers(db, latency_ms=0)

    quotes = {
        code: (await carrier.rates(address=HOME, parcels=[Parcel("SKU-1", 1)], currency="EUR"))[0]
        for code, carrier in carriers.items()
    }

    assert quotes["sim-standard"].price == Money(490, "EUR")
    assert (quotes["sim-standard"].service, quotes["sim-standard"].transit_days) == ("standard", 3)
    assert quotes["sim-express"].price == Money(1290, "EUR")
    assert (quotes["sim-express"].service, quotes["sim-express"].transit_days) == ("express", 1)


async def test_units_beyond_the_first_three_cost_one_each(carrier: SimulatedCarrier) -> None:
    parcels = [Parcel("SKU-1", 2), Parcel("SKU-2", 3)]

    [rate] = await carrier.rates(address=HOME, parcels=parcels, currency="USD")

    assert rate.price == Money(490 + 2 * 100, "USD")


async def test_a_label_is_printed_with_a_tracking_number_of_the_carrier(
    carrier: SimulatedCarrier,
) -> None:
    shipment = await ship(carrier)

    assert shipment.carrier == "sim-standard"
    assert shipment.tracking_number.startswith("SIMS")
    assert shipment.label_url == (
        f"https://labels.sim-standard.example/{shipment.tracking_number}.pdf"
    )


async def test_address_with_postal_code_00000_is_rejected_without_a_label(
    carrier: SimulatedCarrier,
) -> None:
    nowhere = Address(name="N", line1="Nowhere 1", city="Void", postal_code="00000", country="DE")

    with pytest.raises(AddressRejected):
        await ship(carrier, address=nowhere)

    assert await carrier.shipments_for("order-1") == []


async def test_repeated_key_returns_the_first_shipment_instead_of_a_second_label(
    carrier: SimulatedCarrier,
) -> None:
    first = await ship(carrier)
    again = await ship(carrier)

    assert again == first
    assert len(await carrier.shipments_for("order-1")) == 1


async def test_concurrent_retries_of_one_key_print_one_label(carrier: SimulatedCarrier) -> None:
    shipments = await asyncio.gather(*(ship(carrier) for _ in range(5)))

    assert len(set(shipments)) == 1
    assert len(await carrier.shipments_for("order-1")) == 1


async def test_each_poll_moves_the_parcel_one_scan_until_delivered(
    carrier: SimulatedCarrier,
) -> None:
    shipment = await ship(carrier)

    polls = [await carrier.track(tracking_number=shipment.tracking_number) for _ in range(5)]

    assert [[event.code for event in poll] for poll in polls] == [
        JOURNEY[:2], JOURNEY[:3], JOURNEY[:4], JOURNEY, JOURNEY,
    ]
    delivered = polls[-1][-1]
    assert delivered.at.utcoffset() == timedelta(0)
    assert delivered.location == "Berlin, DE"
    assert delivered.description == "Delivered to Ada Lovelace"


async def test_a_new_carrier_instance_continues_the_journey(db: SessionFactory) -> None:
    shipment = await ship(simulated_carriers(db, latency_ms=0)["sim-standard"])
    await simulated_carriers(db, latency_ms=0)["sim-standard"].track(
        tracking_number=shipment.tracking_number
    )

    restarted = simulated_carriers(db, latency_ms=0)["sim-standard"]
    events = await restarted.track(tracking_number=shipment.tracking_number)

    assert [event.code for event in events] == JOURNEY[:3]


async def test_cancel_before_pickup_stops_the_parcel_and_may_be_repeated(
    carrier: SimulatedCarrier,
) -> None:
    shipment = await ship(carrier)

    await carrier.cancel_shipment(tracking_number=shipment.tracking_number)
    await carrier.cancel_shipment(tracking_number=shipment.tracking_number)
    events = await carrier.track(tracking_number=shipment.tracking_number)

    assert [event.code for event in events] == ["label_created"]
    [state] = await carrier.shipments_for("order-1")
    assert (state.status, state.cancelled) == ("cancelled", True)


async def test_cancel_after_pickup_is_refused(carrier: SimulatedCarrier) -> None:
    shipment = await ship(carrier)
    await carrier.track(tracking_number=shipment.tracking_number)

    with pytest.raises(ShipmentNotCancellable):
        await carrier.cancel_shipment(tracking_number=shipment.tracking_number)

    [state] = await carrier.shipments_for("order-1")
    assert (state.status, state.cancelled) == ("picked_up", False)


async def test_unknown_tracking_number_is_a_clear_error(db: SessionFactory) -> None:
    carriers = simulated_carriers(db, latency_ms=0)
    shipment = await ship(carriers["sim-standard"])

    with pytest.raises(UnknownShipment):
        await carriers["sim-standard"].track(tracking_number="SIMS0000000000")
    with pytest.raises(UnknownShipment):
        await carriers["sim-express"].track(tracking_number=shipment.tracking_number)


async def test_transient_failures_happen_before_the_carrier_does_anything(
    db: SessionFactory,
) -> None:
    unreliable = SimulatedCarrier(
        "sim-standard", db, service="standard", base_price_minor=490, transit_days=3,
        latency_ms=0, transient_failure_rate=1.0,
    )

    with pytest.raises(CarrierUnavailable):
        await ship(unreliable)

    assert await simulated_carriers(db, latency_ms=0)["sim-standard"].shipments_for("order-1") == []


# -- exceptions and return labels -----------------------------------------------------------

def at(postal_code: str) -> Address:
    return Address(name="Ada Lovelace", line1="1 Analytical Way", city="Berlin",
                   postal_code=postal_code, country="DE")


async def polled_to_the_end(carrier: SimulatedCarrier, tracking_number: str) -> list[str]:
    """Polls until the parcel stops moving; the codes of every scan it had."""
    seen: list[str] = []
    for _ in range(12):
        codes = [event.code for event in await carrier.track(tracking_number=tracking_number)]
        if codes == seen:
            return codes
        seen = codes
    raise AssertionError(f"{tracking_number} never stopped moving: {seen}")


async def send_back(carrier: SimulatedCarrier, *, key: str = "order-1:return:RMA-1",
                    sender: Address = HOME) -> CreatedShipment:
    return await carrier.create_return_label(
        idempotency_key=key, order_id="order-1", rma="RMA-1", sender=sender,
        parcels=[Parcel("SKU-1", 1)])


async def test_a_failed_first_attempt_is_delivered_on_the_second(
    carrier: SimulatedCarrier,
) -> None:
    shipment = await ship(carrier, address=at("99001"))

    codes = await polled_to_the_end(carrier, shipment.tracking_number)

    assert codes == [*JOURNEY[:4], "delivery_failed", "out_for_delivery", "delivered"]


async def test_a_parcel_nobody_takes_is_returned_to_the_sender_for_good(
    carrier: SimulatedCarrier,
) -> None:
    shipment = await ship(carrier, address=at("99002"))

    codes = await polled_to_the_end(carrier, shipment.tracking_number)

    assert codes == [*JOURNEY[:4], "delivery_failed", "returned_to_sender"]
    [state] = await carrier.shipments_for("order-1")
    assert state.status == "returned_to_sender"


async def test_a_lost_parcel_ends_lost_after_transit(carrier: SimulatedCarrier) -> None:
    shipment = await ship(carrier, address=at("99003"))

    codes = await polled_to_the_end(carrier, shipment.tracking_number)

    assert codes == [*JOURNEY[:3], "lost"]
    events = await carrier.track(tracking_number=shipment.tracking_number)
    assert events[-1].description == "Parcel cannot be found and is declared lost"


async def test_a_return_label_travels_from_the_customer_to_the_warehouse(
    carrier: SimulatedCarrier,
) -> None:
    label = await send_back(carrier)

    codes = await polled_to_the_end(carrier, label.tracking_number)

    assert codes == ["label_created", "in_transit", "delivered"]
    assert label.carrier == "sim-standard"
    assert label.label_url == f"https://labels.sim-standard.example/{label.tracking_number}.pdf"
    [state] = await carrier.shipments_for("order-1")
    assert (state.kind, state.rma, state.status) == ("return", "RMA-1", "delivered")


async def test_a_repeated_return_label_key_returns_the_first_label(
    carrier: SimulatedCarrier,
) -> None:
    labels = await asyncio.gather(*(send_back(carrier) for _ in range(3)))
    outbound = await ship(carrier)

    assert len(set(labels)) == 1
    assert labels[0].tracking_number != outbound.tracking_number
    assert sorted(s.kind for s in await carrier.shipments_for("order-1")) == ["outbound", "return"]


async def test_a_return_parcel_sent_from_99003_is_lost(carrier: SimulatedCarrier) -> None:
    label = await send_back(carrier, sender=at("99003"))

    assert await polled_to_the_end(carrier, label.tracking_number) == [
        "label_created", "in_transit", "lost"]


async def test_a_return_label_for_an_address_the_carrier_refuses_is_not_printed(
    carrier: SimulatedCarrier,
) -> None:
    with pytest.raises(AddressRejected):
        await send_back(carrier, sender=at("00000"))

    assert await carrier.shipments_for("order-1") == []
