"""fulfil's own tables: catalogue, stock, orders and what happened to them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from activities.db.base import Base, utcnow


class WarehouseRow(Base):
    __tablename__ = "warehouses"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str]
    country: Mapped[str] = mapped_column(String(2))
    priority: Mapped[int] = mapped_column(default=100)


class ProductRow(Base):
    __tablename__ = "products"
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str]
    price: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    # A backorderable SKU may be ordered beyond stock; the order waits for the next receipt.
    backorderable: Mapped[bool] = mapped_column(default=False, server_default="false")


class ShippingMethodRow(Base):
    __tablename__ = "shipping_methods"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    carrier: Mapped[str] = mapped_column(String(32))
    price: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    transit_days: Mapped[int]


class StockLevelRow(Base):
    __tablename__ = "stock_levels"
    __table_args__ = (
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("on_hand >= reserved", name="reserved_within_on_hand"),
        CheckConstraint("safety_stock >= 0", name="safety_not_negative"),
        CheckConstraint("reorder_point >= 0", name="reorder_point_not_negative"),
    )
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku"), primary_key=True)
    warehouse: Mapped[str] = mapped_column(ForeignKey("warehouses.code"), primary_key=True)
    on_hand: Mapped[int] = mapped_column(BigInteger)
    reserved: Mapped[int] = mapped_column(BigInteger, default=0)
    # Held back from ordinary orders (damage buffer, display stock); never sold.
    safety_stock: Mapped[int] = mapped_column(default=0, server_default="0")
    reorder_point: Mapped[int] = mapped_column(default=0, server_default="0")


class OrderRow(Base):
    __tablename__ = "orders"
    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    workflow_id: Mapped[str] = mapped_column(unique=True)
    customer_id: Mapped[str] = mapped_column(index=True)
    customer_email: Mapped[str]
    customer_name: Mapped[str]
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(32), index=True)
    subtotal: Mapped[int] = mapped_column(BigInteger)
    shipping_cost: Mapped[int] = mapped_column(BigInteger)
    grand_total: Mapped[int] = mapped_column(BigInteger)
    shipping_method: Mapped[str]
    carrier: Mapped[str]
    address: Mapped[dict[str, Any]] = mapped_column(JSON)
    payment_method: Mapped[str]
    # Set when the order broke its shipping method's promise (domain/shipping_sla.py).
    ship_sla_breached: Mapped[bool] = mapped_column(default=False, server_default="false")
    delivery_sla_breached: Mapped[bool] = mapped_column(default=False, server_default="false")
    # Set when a step failed in a way no retry can fix (attention_tables.py says what).
    attention: Mapped[bool] = mapped_column(default=False, server_default="false")
    placed_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class OrderLineRow(Base):
    __tablename__ = "order_lines"
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.order_id"), primary_key=True)
    line_no: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str]
    name: Mapped[str]
    quantity: Mapped[int]
    unit_price: Mapped[int] = mapped_column(BigInteger)


class ReservationRow(Base):
    """One allocation of stock to an order; `idempotency_key` makes a retried reserve a no-op."""

    __tablename__ = "reservations"
    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(unique=True)
    order_id: Mapped[str] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(16))  # held | released | shipped
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReservationLineRow(Base):
    __tablename__ = "reservation_lines"
    reservation_id: Mapped[int] = mapped_column(ForeignKey("reservations.id"), primary_key=True)
    sku: Mapped[str] = mapped_column(primary_key=True)
    warehouse: Mapped[str] = mapped_column(primary_key=True)
    # '' for general stock, else the campaign whose held stock this line draws on.
    campaign: Mapped[str] = mapped_column(String(32), primary_key=True, default="",
                                          server_default="")
    quantity: Mapped[int]
    # Lines settle one warehouse at a time when an order ships in several parcels.
    status: Mapped[str] = mapped_column(String(16), default="held", server_default="held")


class StockMovementRow(Base):
    """Append-only ledger: every change of on-hand or reserved stock, with its cause."""

    __tablename__ = "stock_movements"
    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str]
    warehouse: Mapped[str]
    kind: Mapped[str] = mapped_column(String(16))  # receipt | reserve | release | ship | seed
    on_hand_delta: Mapped[int]
    reserved_delta: Mapped[int]
    order_id: Mapped[str | None]
    reason: Mapped[str] = mapped_column(default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (Index("ix_stock_movements_sku_warehouse", "sku", "warehouse"),)


class PaymentRow(Base):
    """Our record of each gateway operation; the key is the one sent to the gateway."""

    __tablename__ = "payments"
    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(unique=True)
    order_id: Mapped[str] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(16))  # authorize | capture | void | refund
    method: Mapped[str]
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    gateway_ref: Mapped[str]
    reason: Mapped[str] = mapped_column(default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ShipmentRow(Base):
    __tablename__ = "shipments"
    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(unique=True)
    order_id: Mapped[str] = mapped_column(index=True)
    carrier: Mapped[str]
    tracking_number: Mapped[str] = mapped_column(unique=True)
    label_url: Mapped[str]
    status: Mapped[str] = mapped_column(String(32))  # created | cancelled | the last scan's code
    warehouse: Mapped[str] = mapped_column(String(16), default="", server_default="")
    # outbound | replacement (reshipped after a loss, a return to sender or an exchange)
    purpose: Mapped[str] = mapped_column(String(16), default="outbound", server_default="outbound")
    shipped_at: Mapped[datetime | None]  # handed to the carrier
    delivered_at: Mapped[datetime | None]  # the carrier's time of delivery
    exception: Mapped[str] = mapped_column(String(32), default="", server_default="")
    exception_count: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class OrderEventRow(Base):
    """The order's timeline as a durable record for reporting; `seq` comes from the workflow."""

    __tablename__ = "order_events"
    __table_args__ = (UniqueConstraint("order_id", "seq", name="order_seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[str] = mapped_column(index=True)
    seq: Mapped[int]
    at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(48))
    detail: Mapped[str] = mapped_column(default="")
    actor: Mapped[str] = mapped_column(default="system")
    # The workflow's history length when it noted the event: a later task's path supersedes
    # the events of an earlier task that never completed (activities/db/order_repository.py).
    task: Mapped[int] = mapped_column(default=0, server_default="0")


class IncomingStockRow(Base):
    """Stock on its way to a warehouse (a purchase order): tells customers when to expect it."""

    __tablename__ = "incoming_stock"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku"))
    warehouse: Mapped[str] = mapped_column(ForeignKey("warehouses.code"))
    quantity: Mapped[int]
    expected_at: Mapped[datetime]
    reference: Mapped[str] = mapped_column(default="")
    status: Mapped[str] = mapped_column(String(16), default="expected")  # expected | received
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StockAlertRow(Base):
    """A level that fell to or below its reorder point."""

    __tablename__ = "stock_alerts"
    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str]
    warehouse: Mapped[str]
    kind: Mapped[str] = mapped_column(String(16), default="low_stock")
    salable: Mapped[int]
    reorder_point: Mapped[int]
    at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]


class CampaignRow(Base):
    """A promotion or sale period with stock held back for its orders only."""

    __tablename__ = "campaigns"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ends_after_start"),)
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str]
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | ended
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CampaignAllocationRow(Base):
    """Units of one SKU in one warehouse set aside for a campaign; `used` counts the units
    its orders hold or have shipped."""

    __tablename__ = "campaign_allocations"
    __table_args__ = (
        UniqueConstraint("campaign", "sku", "warehouse", name="campaign_stock"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("used >= 0 AND used <= quantity", name="used_within_quantity"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign: Mapped[str] = mapped_column(ForeignKey("campaigns.code"))
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku"))
    warehouse: Mapped[str] = mapped_column(ForeignKey("warehouses.code"))
    quantity: Mapped[int]
    used: Mapped[int] = mapped_column(default=0)


class BackorderRow(Base):
    """Units an order is waiting for; receipts fill the oldest first."""

    __tablename__ = "backorders"
    __table_args__ = (
        Index("ix_backorders_waiting", "sku", "status", "created_at"),
        CheckConstraint("filled >= 0 AND filled <= quantity", name="filled_within_quantity"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[str] = mapped_column(index=True)
    workflow_id: Mapped[str]
    reservation_key: Mapped[str]
    sku: Mapped[str]
    campaign: Mapped[str] = mapped_column(String(32), default="")
    destination_country: Mapped[str] = mapped_column(String(2))
    quantity: Mapped[int]
    filled: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default="waiting")  # waiting|filled|cancelled
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deadline_at: Mapped[datetime]


class ApiKeyRow(Base):
    """A key of the HTTP API: only its hash is kept, the key itself is shown once."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
