"""Seeding the catalogue from a JSON file: warehouses, products, shipping methods, stock."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from activities.db.catalogue_repository import CatalogueRepository, SeedCounts
from activities.db.engine import SessionFactory
from activities.db.stock_repository import StockRepository
from activities.db.tables import StockMovementRow
from api.text import Name
from domain.catalogue import Product, ShippingMethod
from domain.errors import InvalidOrder
from domain.money import Money

Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]

# Used when a seed file names no shipping methods: one per simulated carrier.
DEFAULT_SHIPPING = (("standard", "sim-standard", "4.90", 3), ("express", "sim-express", "12.90", 1))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WarehouseIn(_Strict):
    code: Code
    name: Name
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
    priority: int = 100


class ProductIn(_Strict):
    sku: Code
    name: Name
    price: str
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
    backorderable: bool = False


class ShippingMethodIn(_Strict):
    code: Code
    carrier: Name
    price: str
    currency: str
    transit_days: Annotated[int, Field(ge=0)]


class StockIn(_Strict):
    sku: str
    warehouse: str
    on_hand: Annotated[int, Field(ge=0)]
    safety_stock: Annotated[int, Field(ge=0)] | None = None
    reorder_point: Annotated[int, Field(ge=0)] | None = None


class SeedFile(_Strict):
    warehouses: list[WarehouseIn] = []
    products: list[ProductIn] = []
    shipping_methods: list[ShippingMethodIn] | None = None
    stock: list[StockIn] = []


def parse_seed(raw: str | bytes | dict[str, Any]) -> SeedFile:
    try:
        data = json.loads(raw) if isinstance(raw, str | bytes) else raw
        return SeedFile.model_validate(data)
    except json.JSONDecodeError as error:
        raise InvalidOrder("body", f"malformed JSON: {error.msg}") from None
    except ValidationError as error:
        first = error.errors()[0]
        raise InvalidOrder(".".join(str(p) for p in first["loc"]), first["msg"]) from None


async def seed_catalogue(session_factory: SessionFactory, seed: SeedFile) -> SeedCounts:
    """Upserts the catalogue and stock policies; opening stock is only set where no level
    exists yet."""
    products = [Product(p.sku, p.name, Money.parse(p.price, p.currency), p.backorderable)
                for p in seed.products]
    currency = products[0].price.currency if products else "EUR"
    methods = [ShippingMethod(m.code, m.carrier, Money.parse(m.price, m.currency), m.transit_days)
               for m in seed.shipping_methods or []] or [
        ShippingMethod(code, carrier, Money.parse(price, currency), days)
        for code, carrier, price, days in DEFAULT_SHIPPING]
    stock_rows = 0
    async with session_factory.begin() as session:
        repo = CatalogueRepository(session)
        for w in seed.warehouses:
            await repo.upsert_warehouse(w.code, w.name, w.country, w.priority)
        for product in products:
            await repo.upsert_product(product)
        for method in methods:
            await repo.upsert_shipping_method(method)
        await session.flush()
        for s in seed.stock:
            if await repo.set_opening_stock(s.sku, s.warehouse, s.on_hand):
                session.add(StockMovementRow(sku=s.sku, warehouse=s.warehouse, kind="seed",
                                             on_hand_delta=s.on_hand, reserved_delta=0,
                                             order_id=None, reason="opening stock"))
                stock_rows += 1
            if s.safety_stock is not None or s.reorder_point is not None:
                await StockRepository(session).set_policy(s.sku, s.warehouse, s.safety_stock,
                                                          s.reorder_point, actor="seed")
    return SeedCounts(len(seed.warehouses), len(products), len(methods), stock_rows)
