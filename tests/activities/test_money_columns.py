"""Money columns hold 64-bit minor units: an order within the order limits whose total passes
2^31 cents is recorded, not retried for ever with NumericValueOutOfRange."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from temporalio.testing import ActivityEnvironment

from activities.db.catalogue_repository import CatalogueRepository
from activities.db.engine import SessionFactory
from activities.db.order_repository import OrderRepository
from activities.db.tables import OrderLineRow
from activities.records import RecordActivities, RecordOrderInput
from api.catalogue import parse_seed, seed_catalogue
from api.checkout import parse_checkout
from domain.catalogue import Catalogue, Product, ShippingMethod, price_order
from domain.money import Money
from domain.order import MAX_UNITS_PER_LINE
from tests.support import checkout

PLACED_AT = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
INT32_MAX = 2**31 - 1


def eur(cents: int) -> Money:
    return Money(cents, "EUR")


# A bullion dealer's catalogue: one bar costs 25,000.00 EUR.
BULLION = Catalogue(
    currency="EUR",
    products={"GOLD-1KG": Product("GOLD-1KG", "Gold bar 1 kg", eur(2_500_000))},
    shipping_methods={"standard": ShippingMethod("standard", "sim-standard", eur(490), 3)},
)


async def test_an_order_worth_more_than_32_bits_of_cents_is_recorded_with_its_totals(
        db: SessionFactory, activity_env: ActivityEnvironment) -> None:
    # Given an order of the most units a line may hold, worth 25,000,004.90 EUR in all
    request = parse_checkout(checkout(lines=[{"sku": "GOLD-1KG", "quantity": MAX_UNITS_PER_LINE}]))
    order = price_order(request, BULLION)
    assert order.totals.grand_total.amount > INT32_MAX

    # When the workflow records it
    recorded = await activity_env.run(RecordActivities(db).record_order,
                                      RecordOrderInput(order, "wf-gold", PLACED_AT))

    # Then the order and its line are stored with their full amounts
    assert recorded is True
    async with db() as session:
        row = await OrderRepository(session).get(order.order_id)
        line = (await session.scalars(select(OrderLineRow))).one()
    assert row is not None
    assert (row.subtotal, row.shipping_cost, row.grand_total) == (
        2_500_000_000, 490, 2_500_000_490)
    assert (line.quantity, line.unit_price) == (MAX_UNITS_PER_LINE, 2_500_000)


async def test_a_catalogue_price_beyond_32_bits_of_cents_is_seeded(db: SessionFactory) -> None:
    # Given a product priced 30,000,000.00 EUR
    seed = parse_seed({"products": [
        {"sku": "YACHT", "name": "Yacht", "price": "30000000.00", "currency": "EUR"}]})

    # When it is seeded
    await seed_catalogue(db, seed)

    # Then it is stored and read back whole
    async with db() as session:
        catalogue = await CatalogueRepository(session).load()
    assert catalogue.products["YACHT"].price == eur(3_000_000_000)
