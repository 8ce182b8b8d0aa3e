"""The support console's order pages: search, the order itself (refreshed as it moves on),
and cancel, refund and open-a-return, each behind a confirmation step."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import structlog
from fastapi import APIRouter, Depends, Form, Query, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from temporalio.service import RPCError

from api.console.pages import page
from api.console.session import (
    COOKIE_PATH,
    Agent,
    check_form_token,
    check_origin,
    services_of,
    signed_in,
)
from api.orders import OrderNotFound, checked_reason
from domain.errors import ActionRefused, DomainError, InvalidRequest
from domain.money import Money
from domain.returns import ReturnReason
from domain.status import AFTER_DELIVERY, OrderStatus
from domain.text_rules import MAX_COMMENT, MAX_NAME, checked_text
from workflows.order_contract import OrderView, order_workflow_id

router = APIRouter(prefix="/console/orders", include_in_schema=False)
log = structlog.get_logger(__name__)
SignedIn = Annotated[Agent, Depends(signed_in)]
Text = Annotated[str, Form()]
SEARCH_LIMIT = 50
# What the order page says after an action went through, by the code in its `done` parameter.
DONE = {
    "cancelled": "The order was cancelled.",
    "refunded": "The refund was given.",
    "return-opened": "The return was opened.",
    "retried": "The failed step runs again; its outcome shows on the timeline.",
}


def _order_url(order_id: str, **params: str) -> str:
    query = f"?{urlencode(params)}" if params else ""
    return f"{COOKIE_PATH}/orders/{quote(order_id, safe='')}{query}"


def _temporal_link(request: Request, order_id: str) -> str:
    namespace = services_of(request).orders.client.namespace
    return (f"{request.app.state.console.temporal_ui_url}/namespaces/{quote(namespace)}"
            f"/workflows/{quote(order_workflow_id(order_id), safe='')}")


def _may_open_returns(view: OrderView) -> bool:
    """Returns open once the order is delivered, while its window runs."""
    return OrderStatus(view.status) in AFTER_DELIVERY


def _order_context(request: Request, agent: Agent, view: OrderView) -> dict[str, Any]:
    payment = view.payment
    return {
        "agent": agent, "view": view, "order": view.order,
        "refundable": payment.captured - payment.refunded,
        "returns": getattr(view, "returns", []),
        "may_return": _may_open_returns(view),
        "return_reasons": list(ReturnReason),
        "temporal_link": _temporal_link(request, view.order.order_id),
        "order_url": _order_url(view.order.order_id),
        "live_url": _order_url(view.order.order_id) + "/live",
    }


async def _order_page(request: Request, agent: Agent, order_id: str, *, status_code: int = 200,
                      **extra: Any) -> HTMLResponse:
    try:
        view = await services_of(request).orders.view(order_id)
    except OrderNotFound:
        return page(request, "message.html", {
            "agent": agent, "title": "Order not found",
            "reason": f"There is no order {order_id!r}."}, status_code=404)
    return page(request, "order.html", {**_order_context(request, agent, view), **extra},
                status_code=status_code)


def _day(text: str, field: str) -> datetime | None:
    """A `YYYY-MM-DD` from a date input, as the start of that day in UTC."""
    if not text.strip():
        return None
    try:
        return datetime.combine(date.fromisoformat(text.strip()), time(), UTC)
    except ValueError:
        raise ActionRefused(f"{field}: not a date {text!r}") from None


def _page_after(after_at: str, after_id: str) -> tuple[datetime, str] | None:
    """Where the previous page ended: the (placed_at, order_id) of its last row."""
    if not (after_at and after_id):
        return None
    try:
        return datetime.fromisoformat(after_at), after_id
    except ValueError:
        raise ActionRefused(f"page: not a time {after_at!r}") from None


@router.get("")
async def search(request: Request, agent: SignedIn, order_id: str = "", customer_id: str = "",
                 email: str = "", status: str = "", placed_from: str = "", placed_to: str = "",
                 after_at: str = "", after_id: str = "",
                 limit: Annotated[int, Query(ge=1, le=500)] = SEARCH_LIMIT) -> Response:
    """Finds orders by id, customer, e-mail, status and day placed; an order id opens it."""
    if order_id.strip():
        return RedirectResponse(_order_url(order_id.strip()), status_code=303)
    filters = {"customer_id": customer_id, "email": email, "status": status,
               "placed_from": placed_from, "placed_to": placed_to}
    try:
        for field, value in (("customer", customer_id), ("e-mail", email), ("status", status),
                             ("page", after_id)):
            checked_text(field, value, max_length=MAX_NAME)
        rows = await services_of(request).orders.list(
            status=status or None, customer_id=customer_id.strip() or None,
            email=email.strip() or None, placed_from=_day(placed_from, "placed from"),
            placed_to=_until_end_of(_day(placed_to, "placed to")),
            after=_page_after(after_at, after_id), limit=limit)
    except (ActionRefused, InvalidRequest) as error:
        return page(request, "orders.html", {
            "agent": agent, "rows": [], "statuses": list(OrderStatus), "filters": filters,
            "searched": True, "error": str(error)}, status_code=422)
    more = None
    if len(rows) == limit:
        last = rows[-1]
        more = urlencode({**filters, "after_at": last.placed_at.isoformat(),
                          "after_id": last.order_id, "limit": limit})
    return page(request, "orders.html", {
        "agent": agent, "rows": rows, "statuses": list(OrderStatus), "filters": filters,
        "searched": any(filters.values()), "more": more, "paged": bool(after_id)})


def _until_end_of(day: datetime | None) -> datetime | None:
    """The search's `placed to` day is included: the query's bound is the next midnight."""
    return day + timedelta(days=1) if day else None


@router.get("/{order_id}")
async def order_page(request: Request, agent: SignedIn, order_id: str,
                     done: str = "") -> HTMLResponse:
    """Everything about one order, with its actions."""
    return await _order_page(request, agent, order_id, notice=DONE.get(done, ""))


@router.get("/{order_id}/live")
async def order_live(request: Request, agent: SignedIn, order_id: str) -> HTMLResponse:
    """The changing part of the order page, which the page polls to follow the order."""
    try:
        view = await services_of(request).orders.view(order_id)
    except OrderNotFound:
        return HTMLResponse("", status_code=404)
    except RPCError as error:
        # The workflow cannot answer just now (e.g. its worker is restarting): the page keeps
        # what it shows and asks again on its next poll.
        log.warning("console.order_unavailable", order_id=order_id, error=str(error))
        return HTMLResponse("", status_code=503, headers={"Retry-After": "3"})
    return page(request, "_order_live.html", _order_context(request, agent, view))


def _confirm(request: Request, agent: Agent, order_id: str, action: str,
             fields: dict[str, str], summary: list[tuple[str, str]]) -> HTMLResponse:
    return page(request, "confirm.html", {
        "agent": agent, "order_id": order_id, "action": action, "fields": fields,
        "summary": summary, "order_url": _order_url(order_id)})


async def _checked(request: Request, agent: Agent, csrf: str) -> None:
    check_origin(request)
    check_form_token(agent, csrf)


@router.post("/{order_id}/cancel")
async def cancel(request: Request, agent: SignedIn, order_id: str, csrf: Text = "",
                 reason: Text = "", confirmed: Text = "") -> Response:
    """Asks for confirmation, then cancels the order; a refusal shows its reason."""
    await _checked(request, agent, csrf)
    reason = reason.strip()
    if not reason:
        return await _order_page(request, agent, order_id, status_code=422,
                                 cancel_error="Give a reason for the cancellation.")
    try:
        reason = checked_reason(reason)
    except InvalidRequest as invalid:
        return await _order_page(request, agent, order_id, status_code=422,
                                 cancel_error=f"Reason: {invalid.message}.")
    if confirmed != "yes":
        return _confirm(request, agent, order_id, "cancel", {"reason": reason},
                        [("Reason", reason)])
    try:
        await services_of(request).orders.cancel(order_id, reason, actor=agent.name)
    except ActionRefused as refused:
        log.info("console.cancel_refused", order_id=order_id, agent=agent.name)
        return await _order_page(request, agent, order_id, status_code=409,
                                 refusal=f"The cancellation was refused: {refused}")
    log.info("console.order_cancelled", order_id=order_id, agent=agent.name)
    return RedirectResponse(_order_url(order_id, done="cancelled"), status_code=303)


@router.post("/{order_id}/retry")
async def retry(request: Request, agent: SignedIn, order_id: str, csrf: Text = "",
                confirmed: Text = "") -> Response:
    """Asks for confirmation, then runs again the step the order waits on for support."""
    await _checked(request, agent, csrf)
    if confirmed != "yes":
        return _confirm(request, agent, order_id, "retry", {},
                        [("Action", "run the failed step again")])
    try:
        await services_of(request).orders.retry(order_id, actor=agent.name)
    except ActionRefused as refused:
        log.info("console.retry_refused", order_id=order_id, agent=agent.name)
        return await _order_page(request, agent, order_id, status_code=409,
                                 refusal=f"The retry was refused: {refused}")
    log.info("console.step_retried", order_id=order_id, agent=agent.name)
    return RedirectResponse(_order_url(order_id, done="retried"), status_code=303)


@router.post("/{order_id}/refund")
async def refund(request: Request, agent: SignedIn, order_id: str, csrf: Text = "",
                 amount: Text = "", reason: Text = "", confirmed: Text = "") -> Response:
    """Asks for confirmation, then refunds the amount; a refusal shows its reason."""
    await _checked(request, agent, csrf)
    amount, reason = amount.strip(), reason.strip()
    orders = services_of(request).orders
    try:
        currency = (await orders.view(order_id)).order.currency
        money = Money.parse(amount, currency)
    except OrderNotFound:
        return await _order_page(request, agent, order_id)
    except DomainError as error:
        return await _order_page(request, agent, order_id, status_code=422,
                                 refund_error=f"Amount: {error}", refund_form=(amount, reason))
    if not reason:
        return await _order_page(request, agent, order_id, status_code=422,
                                 refund_error="Give a reason for the refund.",
                                 refund_form=(amount, reason))
    try:
        reason = checked_reason(reason)
    except InvalidRequest as invalid:
        return await _order_page(request, agent, order_id, status_code=422,
                                 refund_error=f"Reason: {invalid.message}.",
                                 refund_form=(amount, ""))
    if confirmed != "yes":
        return _confirm(request, agent, order_id, "refund", {"amount": amount, "reason": reason},
                        [("Amount", str(money)), ("Reason", reason)])
    try:
        await orders.refund(order_id, amount, reason, actor=agent.name)
    except ActionRefused as refused:
        log.info("console.refund_refused", order_id=order_id, agent=agent.name)
        return await _order_page(request, agent, order_id, status_code=409,
                                 refusal=f"The refund was refused: {refused}")
    log.info("console.order_refunded", order_id=order_id, agent=agent.name, amount=money.amount)
    return RedirectResponse(_order_url(order_id, done="refunded"), status_code=303)


def _return_lines(form: Any, view: OrderView) -> dict[str, int]:
    """The quantities asked for per SKU (fields `qty-<sku>`); blanks and zeros are left out."""
    lines = {}
    for line in view.order.lines:
        raw = str(form.get(f"qty-{line.sku}", "") or "0").strip()
        if not raw.isdigit():
            raise ActionRefused(f"quantity of {line.sku} must be a whole number, got {raw!r}")
        if int(raw) > 0:
            lines[line.sku] = int(raw)
    if not lines:
        raise ActionRefused("choose at least one item to return")
    return lines


@router.post("/{order_id}/returns")
async def open_return(request: Request, agent: SignedIn, order_id: str) -> Response:
    """Asks for confirmation, then opens a return for the chosen lines."""
    form = await request.form()
    await _checked(request, agent, str(form.get("csrf", "")))
    orders = services_of(request).orders
    try:
        view = await orders.view(order_id)
        lines = _return_lines(form, view)
    except OrderNotFound:
        return await _order_page(request, agent, order_id)
    except ActionRefused as error:
        return await _order_page(request, agent, order_id, status_code=422,
                                 return_error=str(error))
    reason, comment = str(form.get("reason", "")), str(form.get("comment", ""))
    try:
        comment = checked_text("comment", comment, max_length=MAX_COMMENT, multiline=True)
    except InvalidRequest as invalid:
        return await _order_page(request, agent, order_id, status_code=422,
                                 return_error=f"Comment: {invalid.message}.")
    if form.get("confirmed") != "yes":
        fields = {"reason": reason, "comment": comment,
                  **{f"qty-{sku}": str(qty) for sku, qty in lines.items()}}
        summary = [("Items", ", ".join(f"{qty} × {sku}" for sku, qty in lines.items())),
                   ("Reason", reason), ("Comment", comment or "–")]
        return _confirm(request, agent, order_id, "return", fields, summary)
    try:
        await services_of(request).aftercare.request_return(
            order_id, lines, reason, comment, actor=agent.name)
    except InvalidRequest as invalid:
        return await _order_page(request, agent, order_id, status_code=422,
                                 return_error=invalid.message)
    except ActionRefused as refused:
        log.info("console.return_refused", order_id=order_id, agent=agent.name)
        return await _order_page(request, agent, order_id, status_code=409,
                                 refusal=f"The return was refused: {refused}")
    log.info("console.return_opened", order_id=order_id, agent=agent.name)
    return RedirectResponse(_order_url(order_id, done="return-opened"), status_code=303)
