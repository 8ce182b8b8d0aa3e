"""The promises a chaos run checks: every order ends as its scenario expects, money moved
once and matches the order, stock adds up, each message went out once for a real event, and
the database tells the same story as the workflow's history."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from activities.db.repair_repository import RepairRecord
from activities.db.repair_tables import RESET
from domain.notifications import OrderFacts, message_for
from workers.chaos.evidence import OrderEvidence, StockEvidence
from workers.chaos.scenarios import HOT_SKU, REFUND_MINOR

OrderCheck = Callable[[OrderEvidence], Iterable[str]]


@dataclass
class CheckResult:
    name: str
    checked: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  # order id (or place), detail

    @property
    def passed(self) -> bool:
        return not self.failures


def status_reached(e: OrderEvidence) -> Iterable[str]:
    """The workflow closed in time, in a status its scenario expects."""
    outcome = e.outcome
    if outcome.error:
        yield f"run error: {outcome.error}"
    if outcome.workflow_status != "COMPLETED":
        yield (f"workflow {outcome.workflow_status} at the deadline (order status "
               f"{outcome.status} when checked)")
    elif outcome.view and outcome.status not in outcome.planned.scenario.expect:
        yield (f"ended {outcome.status}, expected {'/'.join(sorted(outcome.planned.scenario.expect))}"
               f" ({outcome.view.failure or 'no failure given'}; support: "
               f"{', '.join(outcome.actions or []) or 'nothing'})")


def no_attention(e: OrderEvidence) -> Iterable[str]:
    """No order was left for an operator: neither the column nor the search attribute."""
    if e.row and e.row.get("attention"):
        yield f"orders.attention is set ({e.row.get('attention')!r})"
    if e.needs_attention:
        yield "NeedsAttention search attribute is true"
    for failure in e.attention:
        yield f"order_attention: {failure[:300]}"


def money_matches(e: OrderEvidence) -> Iterable[str]:
    """The gateway's book agrees with the order's money and with fulfil's payment rows."""
    view = e.outcome.view
    if view is None:
        return
    if len(e.authorizations) > 1:
        yield f"{len(e.authorizations)} authorizations at the gateway: " + ", ".join(
            a.reference for a in e.authorizations)
    captured = sum(a.captured.amount for a in e.authorizations)
    refunded = sum(a.refunded.amount for a in e.authorizations)
    if (captured, refunded) != (view.payment.captured.amount, view.payment.refunded.amount):
        yield (f"gateway captured {captured} refunded {refunded}, order says "
               f"{view.payment.captured.amount} / {view.payment.refunded.amount}")
    booked = {kind: sum(a for k, a, _ in e.payments if k == kind) for kind in ("capture", "refund")}
    if (booked["capture"], booked["refund"]) != (captured, refunded):
        yield f"payments rows capture {booked['capture']} refund {booked['refund']}, gateway " \
              f"{captured} / {refunded}"
    yield from _expected_money(e, captured, refunded)


def _expected_money(e: OrderEvidence, captured: int, refunded: int) -> Iterable[str]:
    view, scenario = e.outcome.view, e.outcome.planned.scenario
    assert view is not None
    total = view.order.totals.grand_total.amount
    if view.status == "PAYMENT_FAILED" and e.authorizations:
        yield "payment failed, yet the gateway holds an authorization"
    if view.status == "COMPLETED":
        if captured != total:
            yield f"completed with {captured} captured of {total}"
        wanted = {"refund": REFUND_MINOR, "return": None}.get(scenario.action, 0)
        if _refused(e):  # support was told no, so nothing was owed; a lost request has no refusal
            wanted = 0
        if wanted is None and refunded == 0:
            yield f"return scenario refunded nothing (support: {', '.join(e.outcome.actions or [])})"
        elif wanted is not None and refunded != wanted:
            yield (f"refunded {refunded}, expected {wanted} "
                   f"(support: {', '.join(e.outcome.actions or []) or 'nothing'})")
    if view.status in ("CANCELLED", "FAILED") and captured != refunded:
        yield f"{view.status} with {captured} captured and only {refunded} refunded"


def _refused(e: OrderEvidence) -> bool:
    return any(" refused: " in action for action in e.outcome.actions or [])


def no_open_authorization(e: OrderEvidence) -> Iterable[str]:
    """A finished order leaves no money held: every authorization captured or voided."""
    if e.outcome.workflow_status != "COMPLETED":
        return
    for auth in e.authorizations:
        if not auth.voided and auth.captured.amount == 0:
            yield f"authorization {auth.reference} of {auth.authorized} still open"


def once_at_networks(e: OrderEvidence) -> Iterable[str]:
    """Every gateway and carrier call that took effect belongs to one step of the workflow,
    and fulfil recorded each one once."""
    view = e.outcome.view
    answered = {op.idempotency_key for op in e.operations
                if op.status not in ("pending", "declined")}
    keys = [key for _, _, key in e.payments]
    if len(keys) != len(set(keys)):
        yield f"payment rows repeat a key: {sorted(keys)}"
    if set(keys) != answered:
        yield f"gateway answered {sorted(answered - set(keys))} unrecorded, recorded " \
              f"{sorted(set(keys) - answered)} unanswered"
    if view is None:
        return
    shown = {s.tracking_number for s in view.shipments if s.tracking_number}
    shown |= {r.tracking_number for r in view.returns if r.tracking_number}
    printed = {tracking for tracking, _, _, _ in e.labels}
    if printed != shown:
        yield f"carrier printed {sorted(printed - shown)} the order never used; order shows " \
              f"{sorted(shown - printed)} the carrier never printed"
    cancelled = {s.tracking_number for s in view.shipments if s.status == "cancelled"}
    for tracking, _, was_cancelled, _ in e.labels:
        if was_cancelled != (tracking in cancelled):
            yield f"label {tracking} cancelled at the carrier: {was_cancelled}, in the order: " \
                  f"{tracking in cancelled}"
    if e.outcome.workflow_status == "COMPLETED" and e.open_reservation_lines:
        yield f"finished, yet {e.open_reservation_lines} units still reserved"


def messages_once(e: OrderEvidence) -> Iterable[str]:
    """One message per event that tells the customer something, sent once, none for events
    the workflow's history lacks."""
    view = e.outcome.view
    if view is None or e.outcome.workflow_status != "COMPLETED":
        return  # a running order's relay may still be sending; its status check fails anyway
    facts = OrderFacts(view.order.order_id, view.order.customer.name)
    expected = {}
    for event in view.timeline:
        message = message_for(event.kind, event.detail, facts)
        if message is not None:
            expected[event.seq] = message.template
    queued = {seq: template for _, seq, template, _ in e.outbox}
    for seq in sorted(set(expected) | set(queued)):
        if expected.get(seq) != queued.get(seq):
            yield f"event {seq}: history says {expected.get(seq) or 'no message'}, outbox " \
                  f"{queued.get(seq) or 'no message'}"
    for row_id, seq, template, status in e.outbox:
        copies = sum(1 for key, _ in e.sent if key == f"outbox-{row_id}")
        if status != "sent" or copies != 1:
            yield f"event {seq} {template}: outbox {status}, sent {copies} times"
    asked = {f"outbox-{row_id}" for row_id, *_ in e.outbox}
    strays = sorted(key for key, _ in e.sent if key not in asked)
    if strays:
        yield f"sent {strays}, which no outbox row of the order asked for"


def record_agrees(e: OrderEvidence) -> Iterable[str]:
    """The order's rows in PostgreSQL say what its workflow's history says."""
    view = e.outcome.view
    if view is None or e.outcome.workflow_status != "COMPLETED":
        return  # a running order may write its next event between the two reads
    if e.row is None:
        yield "no orders row"
        return
    if e.row["status"] != view.status:
        yield f"orders.status {e.row['status']}, workflow {view.status}"
    history = [(t.seq, t.status, t.kind, t.detail) for t in view.timeline]
    if e.events != history:
        yield from _timeline_differences(e.events, history)


def history_replays(e: OrderEvidence) -> Iterable[str]:
    """The workflow's history replays on this code: no worker can wedge on it."""
    if e.replay_failure:
        yield f"replay fails: {e.replay_failure[:300]}"


def _timeline_differences(rows: list[tuple[int, str, str, str]],
                          history: list[tuple[int, str, str, str]]) -> Iterable[str]:
    by_seq = {r[0]: r for r in rows}
    for event in history:
        row = by_seq.pop(event[0], None)
        if row != event:
            yield f"event {event[0]}: history {event[2]} ({event[1]}), database " \
                  f"{f'{row[2]} ({row[1]})' if row else 'missing'}"
    for seq, row in sorted(by_seq.items()):
        yield f"event {seq}: database {row[2]} ({row[1]}) that history lacks"


ORDER_CHECKS: tuple[tuple[str, OrderCheck], ...] = (
    ("status as expected, in time", status_reached),
    ("none needs attention", no_attention),
    ("gateway book = order money", money_matches),
    ("no open authorization", no_open_authorization),
    ("once at gateway and carrier", once_at_networks),
    ("messages once, for real events", messages_once),
    ("database = workflow history", record_agrees),
    ("history replays", history_replays),
)


def check_orders(evidence: list[OrderEvidence]) -> list[CheckResult]:
    results = []
    for name, check in ORDER_CHECKS:
        result = CheckResult(name, len(evidence))
        for e in evidence:
            result.failures += [(e.order_id, detail) for detail in check(e)]
        results.append(result)
    return results


def check_stock(stock: StockEvidence, evidence: list[OrderEvidence],
                hot_units: int) -> CheckResult:
    """Sold never exceeds received, the ledger sums to every level, reserved is what open
    reservations hold, salable never negative, the hot SKU never oversold."""
    result = CheckResult("stock ledger and levels", len(stock.levels))
    for place, (on_hand, reserved, unsalable) in sorted(stock.levels.items()):
        where = f"{place[0]}@{place[1]}"
        problems = []
        if stock.ledger.get(place, (0, 0)) != (on_hand, reserved):
            problems.append(f"ledger sums to {stock.ledger.get(place)}, level is "
                            f"({on_hand}, {reserved})")
        if stock.shipped[place] > stock.received[place]:
            problems.append(f"shipped {stock.shipped[place]} of {stock.received[place]} received")
        if reserved != stock.held[place]:
            problems.append(f"reserved {reserved}, open reservations hold {stock.held[place]}")
        if on_hand - reserved - unsalable < 0 or reserved < 0:
            problems.append(f"salable {on_hand - reserved - unsalable} (on hand {on_hand}, "
                            f"reserved {reserved})")
        result.failures += [(where, p) for p in problems]
    sold = sum(qty for e in evidence if e.outcome.status == "COMPLETED"
               for sku, qty in e.outcome.planned.scenario.lines if sku == HOT_SKU)
    if sold > hot_units:
        result.failures.append((HOT_SKU, f"{sold} units sold in completed orders, {hot_units} "
                                         "existed"))
    return result


def check_repairs(repairs: list[RepairRecord]) -> CheckResult:
    """Every workflow the repairer found wedged was reset (README: the repairer)."""
    result = CheckResult("wedged workflows repaired", len(repairs))
    result.failures += [(r.workflow_id, f"{r.outcome}: {r.problem[:200]}")
                        for r in repairs if r.outcome != RESET]
    return result

