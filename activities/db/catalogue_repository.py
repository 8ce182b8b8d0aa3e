"""Reads and writes the catalogue: warehouses, products, shipping methods, opening stock."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from activities.db.tables import ProductRow, ShippingMethodRow, StockLevelRow, WarehouseRow
from domain.catalogue import Catalogue, Product, ShippingMethod
from domain.errors import DomainError
from domain.money import Money


class EmptyCatalogue(DomainError):
    """No products yet: run `fulfil seed FILE` first."""


@dataclass(frozen=True)
class SeedCounts:
    warehouses: int
    products: int
    shipping_methods: int
    stock_rows: int


class CatalogueRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def load(self) -> Catalogue:
        products = (await self.session.scalars(select(ProductRow))).all()
        methods = (await self.session.scalars(select(ShippingMethodRow))).all()
        if not products:
            raise EmptyCatalogue("the catalogue is empty: seed it with `fulfil seed FILE`")
        currencies = {p.currency for p in products}
        if len(currencies) != 1:
            raise DomainError(f"the catalogue mixes currencies {sorted(currencies)}")
        return Catalogue(
            currency=currencies.pop(),
            products={p.sku: Product(p.sku, p.name, Money(p.price, p.currency), p.backorderable)
                      for p in products},
            shipping_methods={
                m.code: ShippingMethod(m.code, m.carrier, Money(m.price, m.currency), m.transit_days)
                for m in methods
            },
        )

    async def is_empty(self) -> bool:
        return (await self.session.scalar(select(ProductRow.sku).limit(1))) is None

    async def upsert_warehouse(self, code: str, name: str, country: str, priority: int) -> None:
        stmt = insert(WarehouseRow).values(code=code, name=name, country=country, priority=priority)
        await self.session.execute(stmt.on_conflict_do_update(
            index_elements=[WarehouseRow.code],
            set_={"name": name, "country": country, "priority": priority},
        ))

    async def upsert_product(self, product: Product) -> None:
        values = {"name": product.name, "price": product.price.amount,
                  "currency": product.price.currency, "backorderable": product.backorderable}
        stmt = insert(ProductRow).values(sku=product.sku, **values)
        await self.session.execute(
            stmt.on_conflict_do_update(index_elements=[ProductRow.sku], set_=values)
        )

    async def upsert_shipping_method(self, method: ShippingMethod) -> None:
        values = {"carrier": method.carrier, "price": method.price.amount,
                  "currency": method.price.currency, "transit_days": method.transit_days}
        stmt = insert(ShippingMethodRow).values(code=method.code, **values)
        await self.session.execute(
            stmt.on_conflict_do_update(index_elements=[ShippingMethodRow.code], set_=values)
        )

    async def set_opening_stock(self, sku: str, warehouse: str, on_hand: int) -> bool:
        """Creates a stock level; an existing level is left alone (stock changes by movements)."""
        stmt = insert(StockLevelRow).values(sku=sku, warehouse=warehouse, on_hand=on_hand,
                                            reserved=0)
        # RETURNING tells whether the row is new: SQLAlchemy 2.1 reports -1 as an INSERT's rowcount.
        created = await self.session.scalar(
            stmt.on_conflict_do_nothing().returning(StockLevelRow.sku))
        return created is not None
