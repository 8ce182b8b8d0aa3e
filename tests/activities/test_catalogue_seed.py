"""Seeding the catalogue into real PostgreSQL: a re-seed updates the catalogue but never
resets stock, bad input names its field, and an empty catalogue says how to fill it."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlalchemy import func, select
from temporalio.testing import ActivityEnvironment

from activities.db.catalogue_repository import CatalogueRepository, EmptyCatalogue
from activities.db.engine import SessionFactory
from activities.db.stock_repository import StockRepository
from activities.db.tables import StockMovementRow
from activities.stock import ReserveInput, SettleInput, StockActivities, StockLine
from api.catalogue import parse_seed, seed_catalogue
from domain.catalogue import Catalogue, ShippingMethod
from domain.errors import InvalidOrder
from domain.money import Money
from tests.support import CATALOGUE


def catalogue_with(**changes: Any) -> dict[str, Any]:
    """The test CATALOGUE with top-level parts replaced."""
    return {**copy.deepcopy(CATALOGUE), **changes}


async def load(db: SessionFactory) -> Catalogue:
    async with db() as session:
        return await CatalogueRepository(session).load()


async def on_hand_and_seed_movements(db: SessionFactory) -> tuple[dict[str, int], int]:
    """TEE-BLK-M on hand per warehouse, and how many opening-stock movements exist."""
    async with db() as session:
        levels = await StockRepository(session).levels(sku="TEE-BLK-M")
        seeds = await session.scalar(
            select(func.count()).where(StockMovementRow.kind == "seed"))
    return {level.warehouse: level.on_hand for level in levels}, seeds or 0


async def test_seeding_twice_keeps_the_stock_that_has_moved_since_the_first_seed(
    db: SessionFactory, activity_env: ActivityEnvironment
) -> None:
    first = await seed_catalogue(db, parse_seed(CATALOGUE))
    stock = StockActivities(db)
    await activity_env.run(stock.reserve_stock,
                           ReserveInput("ORD-1", "k1", [StockLine("TEE-BLK-M", 3)]))
    await activity_env.run(stock.ship_stock, SettleInput("ORD-1", "k1"))

    again = await seed_catalogue(db, parse_seed(CATALOGUE))

    assert (first.stock_rows, again.stock_rows) == (len(CATALOGUE["stock"]), 0)
    assert await on_hand_and_seed_movements(db) == ({"BER": 7, "HAM": 5}, len(CATALOGUE["stock"]))


async def test_seeding_again_updates_products_and_adds_new_stock_levels(
    db: SessionFactory,
) -> None:
    await seed_catalogue(db, parse_seed(CATALOGUE))
    products = [{**p, "price": "24.99"} if p["sku"] == "TEE-BLK-M" else p
                for p in CATALOGUE["products"]]
    stock = [{"sku": "TEE-BLK-M", "warehouse": "BER", "on_hand": 99},
             {"sku": "MUG-LOGO", "warehouse": "HAM", "on_hand": 8}]

    counts = await seed_catalogue(db, parse_seed(catalogue_with(products=products, stock=stock)))

    assert counts.stock_rows == 1
    assert (await load(db)).products["TEE-BLK-M"].price == Money(2499, "EUR")
    async with db() as session:
        levels = await StockRepository(session).levels(warehouse="HAM")
    assert {(level.sku, level.on_hand) for level in levels} == {
        ("TEE-BLK-M", 5), ("CAP-NAVY", 1), ("MUG-LOGO", 8)}


async def test_a_seed_without_shipping_methods_gets_one_per_simulated_carrier(
    db: SessionFactory,
) -> None:
    counts = await seed_catalogue(db, parse_seed(CATALOGUE))

    assert counts.shipping_methods == 2
    assert (await load(db)).shipping_methods == {
        "standard": ShippingMethod("standard", "sim-standard", Money(490, "EUR"), 3),
        "express": ShippingMethod("express", "sim-express", Money(1290, "EUR"), 1),
    }


@pytest.mark.parametrize(("raw", "field"), [
    (catalogue_with(stock=[{"sku": "TEE-BLK-M", "warehouse": "BER", "on_hand": -1}]),
     "stock.0.on_hand"),
    (catalogue_with(warehouses=[{"code": "BER", "name": "Berlin", "country": "Germany"}]),
     "warehouses.0.country"),
    ('{"warehouses": [', "body"),
])
def test_bad_seed_input_is_refused_naming_the_field(raw: Any, field: str) -> None:
    with pytest.raises(InvalidOrder) as refused:
        parse_seed(raw)

    assert refused.value.field == field


async def test_loading_an_empty_catalogue_says_to_seed_it_first(db: SessionFactory) -> None:
    with pytest.raises(EmptyCatalogue, match="fulfil seed"):
        await load(db)
