"""A scripted month of orders, parcels, returns and surveys with known times, written straight
into the tables; the report tests assert every figure it must give.

Six orders are placed in March 2026 (T = 2 March 08:00 UTC; times below are hours after T):

order  carrier / method         lines         placed  shipped  delivered  also
O1     sim-standard / standard  TEE 2         0       20       68         exchange; rated 4
O2     sim-standard / standard  TEE 1, MUG 1  0       30       130        delivery_failed x2,
                                                                          delivery SLA breached,
                                                                          refunded; rated 1
O3     sim-standard / standard  MUG 3         0       60       lost       ship SLA breached,
                                                                          claim 28.50, replacement
                                                                          shipped 100, delivered
                                                                          150; rated 3
O4     sim-express / express    CAP 1         0       6        30         return rejected;
                                                                          rated 5
O5     sim-express / express    TEE 1         24      36       60         refunded; survey expired
O6     sim-express / express    MUG 2         48      58       -          in transit

O0 was placed, shipped, delivered, returned and rated in February: outside the period.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from activities.db.aftercare_tables import CarrierClaimRow, ReturnLineRow, ReturnRow, SurveyRow
from activities.db.engine import SessionFactory
from activities.db.tables import OrderLineRow, OrderRow, ShipmentRow

T = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
MARCH = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
FEBRUARY = (datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC))
FEB = datetime(2026, 2, 10, 9, 0, tzinfo=UTC)
TEE, MUG, CAP = "TEE-BLK-M", "MUG-LOGO", "CAP-NAVY"
PRICES = {TEE: 1999, MUG: 950, CAP: 1490}
CARRIER = {"standard": "sim-standard", "express": "sim-express"}


def h(hours: float) -> datetime:
    return T + timedelta(hours=hours)


def order(order_id: str, method: str, placed_at: datetime, lines: dict[str, int], *,
          ship_late: bool = False, deliver_late: bool = False) -> list[object]:
    subtotal = sum(PRICES[sku] * qty for sku, qty in lines.items())
    row = OrderRow(
        order_id=order_id, workflow_id=f"order-{order_id}", customer_id="cus_42",
        customer_email="ada@example.com", customer_name="Ada Lovelace", currency="EUR",
        status="DELIVERED", subtotal=subtotal, shipping_cost=490, grand_total=subtotal + 490,
        shipping_method=method, carrier=CARRIER[method], address={"country": "DE"},
        payment_method="card", ship_sla_breached=ship_late, delivery_sla_breached=deliver_late,
        placed_at=placed_at, updated_at=placed_at)
    return [row, *(OrderLineRow(order_id=order_id, line_no=n, sku=sku, name=sku, quantity=qty,
                                unit_price=PRICES[sku])
                   for n, (sku, qty) in enumerate(lines.items(), start=1))]


def parcel(order_id: str, method: str, shipped_at: datetime, delivered_at: datetime | None, *,
           purpose: str = "outbound", exception: str = "", exception_count: int = 0
           ) -> ShipmentRow:
    number = f"TRK-{order_id}-{purpose}"
    return ShipmentRow(
        idempotency_key=f"ship-{order_id}-{purpose}", order_id=order_id, carrier=CARRIER[method],
        tracking_number=number, label_url=f"https://labels.example/{number}",
        status="delivered" if delivered_at else (exception or "in_transit"), warehouse="BER",
        purpose=purpose, shipped_at=shipped_at, delivered_at=delivered_at, exception=exception,
        exception_count=exception_count, created_at=shipped_at, updated_at=shipped_at)


def a_return(rma: str, order_id: str, reason: str, lines: dict[str, int], requested_at: datetime,
             *, resolution: str = "refund", acceptance: str = "accepted", refund: int = 0,
             refunded_at: datetime | None = None) -> list[object]:
    row = ReturnRow(rma=rma, order_id=order_id, reason=reason, resolution=resolution,
                    reception="received", acceptance=acceptance, currency="EUR",
                    refund_amount=refund, requested_at=requested_at, refunded_at=refunded_at)
    return [row, *(ReturnLineRow(rma=rma, sku=sku, quantity=qty, unit_price=PRICES[sku],
                                 exchange_sku="TEE-BLK-L" if resolution == "exchange" else "")
                   for sku, qty in lines.items())]


def survey(order_id: str, sent_at: datetime, rating: int | None = None, comment: str = "",
           answered_at: datetime | None = None, *, status: str = "answered") -> SurveyRow:
    return SurveyRow(order_id=order_id, status=status, sent_at=sent_at,
                     expires_at=sent_at + timedelta(days=14), rating=rating, comment=comment,
                     answered_at=answered_at)


def scripted_rows() -> list[object]:
    return [
        *order("O0", "standard", FEB, {TEE: 5}),
        parcel("O0", "standard", FEB + timedelta(days=1), FEB + timedelta(days=3)),
        *a_return("RMA-O0-1", "O0", "CHANGED_MIND", {TEE: 1}, FEB + timedelta(days=5),
                  refund=1999, refunded_at=FEB + timedelta(days=6)),
        survey("O0", FEB + timedelta(days=3), 2, "meh", FEB + timedelta(days=4)),

        *order("O1", "standard", h(0), {TEE: 2}),
        parcel("O1", "standard", h(20), h(68)),
        *a_return("RMA-O1-1", "O1", "SIZE_TOO_SMALL", {TEE: 1}, h(80), resolution="exchange"),
        survey("O1", h(70), 4, "fits well after the exchange", h(75)),

        *order("O2", "standard", h(0), {TEE: 1, MUG: 1}, deliver_late=True),
        parcel("O2", "standard", h(30), h(130), exception="delivery_failed", exception_count=2),
        *a_return("RMA-O2-1", "O2", "DEFECTIVE", {MUG: 1}, h(140), refund=1440,
                  refunded_at=h(164)),
        survey("O2", h(132), 1, "arrived late and broken", h(140)),

        *order("O3", "standard", h(0), {MUG: 3}, ship_late=True),
        parcel("O3", "standard", h(60), None, exception="lost", exception_count=1),
        CarrierClaimRow(order_id="O3", carrier="sim-standard", tracking_number="TRK-O3-outbound",
                        reason="lost", amount=2850, currency="EUR", filed_at=h(96)),
        parcel("O3", "standard", h(100), h(150), purpose="replacement"),
        survey("O3", h(152), 3, "", h(160)),

        *order("O4", "express", h(0), {CAP: 1}),
        parcel("O4", "express", h(6), h(30)),
        *a_return("RMA-O4-1", "O4", "CHANGED_MIND", {CAP: 1}, h(40), acceptance="rejected"),
        survey("O4", h(32), 5, "fast delivery", h(33)),

        *order("O5", "express", h(24), {TEE: 1}),
        parcel("O5", "express", h(36), h(60)),
        *a_return("RMA-O5-1", "O5", "DAMAGED_IN_TRANSIT", {TEE: 1}, h(70), refund=1999,
                  refunded_at=h(130)),
        survey("O5", h(62), status="expired"),

        *order("O6", "express", h(48), {MUG: 2}),
        parcel("O6", "express", h(58), None),
    ]


async def write_script(session_factory: SessionFactory) -> None:
    """Writes the scripted rows: orders first, then what refers to them."""
    rows = scripted_rows()
    async with session_factory.begin() as session:
        session.add_all([r for r in rows if isinstance(r, OrderRow)])
        await session.flush()
        session.add_all([r for r in rows if isinstance(r, ReturnRow)])
        await session.flush()
        session.add_all([r for r in rows if not isinstance(r, OrderRow | ReturnRow)])
