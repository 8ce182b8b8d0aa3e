"""Turns orders and stock into JSON for scripts and tables for people."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from rich.console import Console
from rich.table import Table

from activities.db.stock_repository import StockAlert, StockLevel
from activities.db.tables import OrderRow
from domain.money import Money
from domain.order import PricedOrder
from workflows.order_contract import OrderView, ReturnView, SurveyView


def money(value: Money) -> dict[str, Any]:
    return {"amount": value.amount, "currency": value.currency, "display": str(value)}


def order_json(view: OrderView) -> dict[str, Any]:
    order = view.order
    return {
        "order_id": order.order_id,
        "status": view.status,
        "customer": vars(order.customer),
        "lines": [{"sku": line.sku, "name": line.name, "quantity": line.quantity,
                   "unit_price": money(line.unit_price), "total": money(line.total)}
                  for line in order.lines],
        "totals": order_json_totals(order),
        "shipping": {"method": order.shipping_method, "carrier": order.carrier,
                     "address": vars(order.address)},
        "payments": {"method": view.payment.method,
                     "authorization": view.payment.authorization,
                     "authorized": money(view.payment.authorized),
                     "captured": money(view.payment.captured),
                     "refunded": money(view.payment.refunded)},
        "shipments": [asdict(s) for s in view.shipments],
        "backorders": [{"sku": b.sku, "quantity": b.quantity,
                        "expected_at": b.expected_at.isoformat() if b.expected_at else None}
                       for b in view.backorders],
        "timeline": [{"seq": e.seq, "at": e.at.isoformat(), "status": e.status, "kind": e.kind,
                      "detail": e.detail, "actor": e.actor} for e in view.timeline],
        "failure": view.failure,
        "returns": [return_json(r) for r in view.returns],
        "survey": survey_json(view.survey) if view.survey else None,
        "sla_breaches": list(view.sla_breaches),
        "attention": list(view.attention),
        "waiting_for_support": list(view.waiting_for_support),
    }


def return_json(view: ReturnView) -> dict[str, Any]:
    return {"rma": view.rma, "reason": view.reason, "comment": view.comment,
            "resolution": view.resolution,
            "lines": [{"sku": line.sku, "quantity": line.quantity,
                       "exchange_sku": line.exchange_sku} for line in view.lines],
            "reception": view.reception, "acceptance": view.acceptance,
            "rejection_reason": view.rejection_reason, "carrier": view.carrier,
            "tracking_number": view.tracking_number, "label_url": view.label_url,
            "refunded": money(view.refunded) if view.refunded else None}


def survey_json(view: SurveyView) -> dict[str, Any]:
    return {"status": view.status, "sent_at": view.sent_at.isoformat(),
            "expires_at": view.expires_at.isoformat(), "rating": view.rating,
            "comment": view.comment}


def describe_return(view: ReturnView) -> str:
    lines = ", ".join(f"{line.quantity}x {line.sku}"
                      + (f" -> {line.exchange_sku}" if line.exchange_sku else "")
                      for line in view.lines)
    refunded = f", refunded {view.refunded}" if view.refunded else ""
    rejected = f" ({view.rejection_reason})" if view.rejection_reason else ""
    return (f"return {view.rma} {view.reason}: {lines}; {view.reception}, "
            f"{view.acceptance}{rejected}{refunded}; label {view.label_url}")


def order_json_totals(order: PricedOrder) -> dict[str, Any]:
    return {name: money(getattr(order.totals, name))
            for name in ("subtotal", "shipping", "grand_total")}


def order_row_json(row: OrderRow) -> dict[str, Any]:
    return {"order_id": row.order_id, "status": row.status, "customer_id": row.customer_id,
            "grand_total": money(Money(row.grand_total, row.currency)),
            "carrier": row.carrier, "placed_at": row.placed_at.isoformat()}


def stock_json(level: StockLevel) -> dict[str, Any]:
    return {"sku": level.sku, "warehouse": level.warehouse, "on_hand": level.on_hand,
            "reserved": level.reserved, "safety_stock": level.safety_stock,
            "salable": level.salable, "incoming": level.incoming}


def stock_alert_json(alert: StockAlert) -> dict[str, Any]:
    return {"id": alert.id, "sku": alert.sku, "warehouse": alert.warehouse,
            "salable": alert.salable, "reorder_point": alert.reorder_point,
            "at": alert.at.isoformat(),
            "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None}


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def print_order(view: OrderView, console: Console) -> None:
    data = order_json(view)
    console.print(f"[bold]{data['order_id']}[/bold]  {data['status']}"
                  f"  {view.order.customer.name} <{view.order.customer.email}>")
    if view.failure:
        console.print(f"reason: {view.failure}")
    p = view.payment
    console.print(f"total {view.order.totals.grand_total} by {p.method}: authorized "
                  f"{p.authorized}, captured {p.captured}, refunded {p.refunded}")
    for s in view.shipments:
        waiting = ", waiting for reship-or-refund" if s.awaiting_decision else ""
        console.print(f"shipment {s.carrier} {s.tracking_number} ({s.status}{waiting}) "
                      f"{s.label_url}")
    for r in view.returns:
        console.print(describe_return(r))
    if view.survey:
        rating = f", rated {view.survey.rating}/5" if view.survey.rating else ""
        console.print(f"survey {view.survey.status}{rating}")
    if view.sla_breaches:
        console.print(f"late: broke the {' and '.join(view.sla_breaches)} promise")
    for failure in view.attention:
        console.print(f"needed attention: {failure}")
    for step in view.waiting_for_support:
        console.print(f"waiting for support: fix the cause, then `fulfil order retry "
                      f"{view.order.order_id}` runs {step} again")
    timeline = Table("#", "at (UTC)", "status", "event", "detail", "by")
    for e in view.timeline:
        timeline.add_row(str(e.seq), e.at.strftime("%Y-%m-%d %H:%M:%S"), e.status, e.kind,
                         e.detail, e.actor)
    console.print(timeline)


def print_orders(rows: Sequence[OrderRow], console: Console) -> None:
    table = Table("order", "status", "customer", "total", "carrier", "placed (UTC)")
    for row in rows:
        table.add_row(row.order_id, row.status, row.customer_id,
                      str(Money(row.grand_total, row.currency)), row.carrier,
                      row.placed_at.strftime("%Y-%m-%d %H:%M:%S"))
    console.print(table)


def print_stock(levels: Sequence[StockLevel], console: Console) -> None:
    table = Table("sku", "warehouse", "on hand", "reserved", "safety", "salable", "incoming")
    for level in levels:
        table.add_row(level.sku, level.warehouse, str(level.on_hand), str(level.reserved),
                      str(level.safety_stock), str(level.salable), str(level.incoming))
    console.print(table)


def print_stock_alerts(alerts: Sequence[StockAlert], console: Console) -> None:
    table = Table("sku", "warehouse", "salable", "reorder point", "at (UTC)", "resolved (UTC)")
    for alert in alerts:
        table.add_row(alert.sku, alert.warehouse, str(alert.salable), str(alert.reorder_point),
                      alert.at.strftime("%Y-%m-%d %H:%M:%S"),
                      alert.resolved_at.strftime("%Y-%m-%d %H:%M:%S") if alert.resolved_at
                      else "open")
    console.print(table)
