"""The support console over HTTP: signing in with the right keys only, redirects, forged
forms refused, and cancel and refund each behind a confirmation step."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from api.api_keys import ApiKeyService
from api.console.session import COOKIE
from api.http.app import create_app
from api.http.services import ApiServices
from api.orders import OrderService
from tests.api.conftest import Keys
from tests.support import checkout
from tests.workflows.checks import deliver_now, reach
from tests.workflows.conftest import Stack
from workflows.order_workflow import OrderWorkflow

ORIGIN = "http://fulfil.test"


@pytest.fixture
async def browser(stack: Stack, keys: Keys) -> AsyncIterator[httpx.AsyncClient]:
    """A client that behaves like a browser on the console: keeps cookies, sends its Origin."""
    transport = httpx.ASGITransport(create_app(ApiServices.of(stack.orders)))
    async with httpx.AsyncClient(transport=transport, base_url=ORIGIN,
                                 headers={"Origin": ORIGIN}) as client:
        yield client


async def sign_in(client: httpx.AsyncClient, key: str) -> httpx.Response:
    return await client.post("/console/sign-in", data={"key": key, "next": "/console/orders"})


def form_token(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert found, "the page has no form token"
    return found.group(1)


async def test_a_page_redirects_to_sign_in_when_nobody_is_signed_in(browser: httpx.AsyncClient):
    response = await browser.get("/console/orders", params={"status": "PICKING"})

    assert response.status_code == 303
    assert response.headers["location"] == (
        "/console/sign-in?next=%2Fconsole%2Forders%3Fstatus%3DPICKING&reason=required")
    form = await browser.get(response.headers["location"])
    assert form.status_code == 200
    assert '<label for="key">API key</label>' in form.text
    assert 'value="/console/orders?status=PICKING"' in form.text


async def test_a_support_key_signs_in_with_an_httponly_strict_cookie(
        browser: httpx.AsyncClient, keys: Keys):
    response = await sign_in(browser, keys.support)

    assert response.status_code == 303
    assert response.headers["location"] == "/console/orders"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    orders = await browser.get("/console/orders")
    assert orders.status_code == 200
    assert "Signed in as <strong>agent-7</strong> (support)" in orders.text


@pytest.mark.parametrize(("which", "status", "message"), [
    ("storefront", 403, "A storefront key cannot sign in to the support console"),
    ("warehouse", 403, "A warehouse key cannot sign in to the support console"),
    ("revoked", 401, "That API key is unknown or has been revoked."),
    ("unknown", 401, "That API key is unknown or has been revoked."),
])
async def test_keys_without_the_support_role_are_refused_with_a_clear_message(
        browser: httpx.AsyncClient, keys: Keys, which: str, status: int, message: str):
    key = "fk_not-a-real-key" if which == "unknown" else getattr(keys, which)

    response = await sign_in(browser, key)

    assert response.status_code == status
    assert message in response.text
    assert "set-cookie" not in response.headers
    assert (await browser.get("/console/orders")).status_code == 303


async def test_an_admin_key_may_use_the_console(browser: httpx.AsyncClient, stack: Stack):
    from domain.access import Role
    admin = await ApiKeyService(stack.db).create("boss", Role.ADMIN)

    assert (await sign_in(browser, admin.key)).status_code == 303
    assert "Signed in as <strong>boss</strong> (admin)" in (await browser.get("/console/orders")).text


async def test_a_sign_in_from_another_site_is_refused(browser: httpx.AsyncClient, keys: Keys):
    response = await browser.post("/console/sign-in", data={"key": keys.support},
                                  headers={"Origin": "http://evil.example"})

    assert response.status_code == 403
    assert "the form was not sent from this console" in response.text
    assert "set-cookie" not in response.headers


async def test_a_key_revoked_after_sign_in_signs_the_agent_out(
        browser: httpx.AsyncClient, keys: Keys, stack: Stack):
    await sign_in(browser, keys.support)
    await ApiKeyService(stack.db).revoke("agent-7")

    response = await browser.get("/console/orders")

    assert response.status_code == 303
    assert response.headers["location"].endswith("reason=revoked")
    assert f'{COOKIE}=""' in response.headers["set-cookie"]


async def test_signing_out_needs_the_form_token_and_ends_the_session(
        browser: httpx.AsyncClient, keys: Keys):
    await sign_in(browser, keys.support)
    token = form_token((await browser.get("/console/orders")).text)

    forged = await browser.post("/console/sign-out", data={"csrf": "0" * 64})
    signed_out = await browser.post("/console/sign-out", data={"csrf": token})

    assert forged.status_code == 403
    assert signed_out.status_code == 303
    assert (await browser.get("/console/orders")).status_code == 303


async def test_support_finds_orders_by_customer_email_and_status_and_opens_one_by_id(
        browser: httpx.AsyncClient, keys: Keys, stack: Stack):
    placed = await stack.orders.place(checkout())
    order_id = placed.order.order_id
    await reach(placed.handle, "PICKING")
    await sign_in(browser, keys.support)

    by_customer = await browser.get("/console/orders", params={"customer_id": "cus_42"})
    by_email = await browser.get("/console/orders", params={"email": "ADA@example.com"})
    other_email = await browser.get("/console/orders", params={"email": "bob@example.com"})
    by_id = await browser.get("/console/orders", params={"order_id": order_id})

    assert f">{order_id}</a>" in by_customer.text
    assert f">{order_id}</a>" in by_email.text
    assert order_id not in other_email.text and "No orders match." in other_email.text
    assert by_id.status_code == 303 and by_id.headers["location"] == f"/console/orders/{order_id}"


async def test_the_order_page_shows_money_lines_timeline_and_the_temporal_link(
        browser: httpx.AsyncClient, keys: Keys, manual_orders: OrderService):
    placed = await manual_orders.place(checkout())
    order_id = placed.order.order_id
    await deliver_now(placed.handle)
    await sign_in(browser, keys.support)

    page = (await browser.get(f"/console/orders/{order_id}")).text
    live = await browser.get(f"/console/orders/{order_id}/live")

    assert 'data-status="DELIVERED"' in page
    assert '<dd id="money-captured">44.88 EUR</dd>' in page
    assert "T-shirt black M" in page and "Ada Lovelace" in page
    assert re.search(r"<th scope=\"row\">SIM[^<]*</th><td>sim-standard</td>", page)
    assert "Payment captured" in page  # the timeline, in words
    assert (f'href="http://localhost:8233/namespaces/default/workflows/order-{order_id}"'
            in page)
    assert live.status_code == 200 and "<html" not in live.text
    assert 'data-status="DELIVERED"' in live.text


async def test_an_unknown_order_is_a_404_page(browser: httpx.AsyncClient, keys: Keys):
    await sign_in(browser, keys.support)

    response = await browser.get("/console/orders/NOPE-1")

    assert response.status_code == 404
    assert "There is no order &#39;NOPE-1&#39;." in response.text


async def test_cancel_asks_for_confirmation_then_cancels_as_the_agent(
        browser: httpx.AsyncClient, keys: Keys, manual_orders: OrderService):
    placed = await manual_orders.place(checkout())
    order_id, handle = placed.order.order_id, placed.handle
    await reach(handle, "PICKING")
    await sign_in(browser, keys.support)
    token = form_token((await browser.get(f"/console/orders/{order_id}")).text)
    form = {"csrf": token, "reason": "customer changed their mind"}

    asked = await browser.post(f"/console/orders/{order_id}/cancel", data=form)
    status_after_asking = await handle.query(OrderWorkflow.status)
    done = await browser.post(f"/console/orders/{order_id}/cancel",
                              data={**form, "confirmed": "yes"})

    assert asked.status_code == 200
    assert f"Cancel order {order_id}?" in asked.text
    assert status_after_asking == "PICKING"
    assert done.status_code == 303
    assert done.headers["location"] == f"/console/orders/{order_id}?done=cancelled"
    page = (await browser.get(done.headers["location"])).text
    assert "The order was cancelled." in page and 'data-status="CANCELLED"' in page
    cancelled = [e for e in await handle.query(OrderWorkflow.timeline)
                 if e.kind == "order.cancelled"]
    assert [e.actor for e in cancelled] == ["agent-7"]


async def test_a_forged_cancel_is_refused_and_changes_nothing(
        browser: httpx.AsyncClient, keys: Keys, manual_orders: OrderService):
    placed = await manual_orders.place(checkout())
    order_id, handle = placed.order.order_id, placed.handle
    await reach(handle, "PICKING")
    await sign_in(browser, keys.support)
    token = form_token((await browser.get(f"/console/orders/{order_id}")).text)
    form = {"reason": "forged", "confirmed": "yes"}

    wrong_token = await browser.post(f"/console/orders/{order_id}/cancel",
                                     data={**form, "csrf": "f" * 64})
    no_token = await browser.post(f"/console/orders/{order_id}/cancel", data=form)
    other_site = await browser.post(f"/console/orders/{order_id}/cancel",
                                    data={**form, "csrf": token},
                                    headers={"Origin": "http://evil.example"})

    assert [r.status_code for r in (wrong_token, no_token, other_site)] == [403, 403, 403]
    assert await handle.query(OrderWorkflow.status) == "PICKING"


async def test_a_refund_is_confirmed_given_and_a_refused_one_shows_why(
        browser: httpx.AsyncClient, keys: Keys, manual_orders: OrderService):
    placed = await manual_orders.place(checkout())
    order_id, handle = placed.order.order_id, placed.handle
    await deliver_now(handle)
    await sign_in(browser, keys.support)
    token = form_token((await browser.get(f"/console/orders/{order_id}")).text)
    url = f"/console/orders/{order_id}/refund"

    asked = await browser.post(url, data={"csrf": token, "amount": "5.00", "reason": "late"})
    given = await browser.post(url, data={"csrf": token, "amount": "5.00", "reason": "late",
                                          "confirmed": "yes"})
    too_much = await browser.post(url, data={"csrf": token, "amount": "100.00",
                                             "reason": "goodwill", "confirmed": "yes"})
    no_sum = await browser.post(url, data={"csrf": token, "amount": "lots", "reason": "x"})

    assert "<dt>Amount</dt><dd>5.00 EUR</dd>" in asked.text
    assert given.status_code == 303
    assert too_much.status_code == 409
    assert ("The refund was refused: refund of 100.00 EUR exceeds the refundable balance "
            "of 39.88 EUR") in too_much.text
    assert '<dd id="money-refunded">5.00 EUR</dd>' in too_much.text
    assert no_sum.status_code == 422 and "Amount: &#39;lots&#39; is not an amount" in no_sum.text
    refunds = [e.actor for e in await handle.query(OrderWorkflow.timeline)
               if e.kind == "payment.refunded"]
    assert refunds == ["agent-7"]


async def test_cancelling_a_shipped_order_shows_the_refusal(
        browser: httpx.AsyncClient, keys: Keys, manual_orders: OrderService):
    placed = await manual_orders.place(checkout())
    order_id = placed.order.order_id
    await deliver_now(placed.handle)
    await sign_in(browser, keys.support)
    token = form_token((await browser.get(f"/console/orders/{order_id}")).text)

    refused = await browser.post(f"/console/orders/{order_id}/cancel",
                                 data={"csrf": token, "reason": "too late", "confirmed": "yes"})

    assert refused.status_code == 409
    assert re.search(r'role="alert" id="refusal">The cancellation was refused: [^<]+</p>',
                     refused.text)
    assert 'data-status="DELIVERED"' in refused.text


async def test_search_pages_through_older_orders_and_filters_by_day(
        browser: httpx.AsyncClient, keys: Keys, stack: Stack):
    first = await stack.orders.place(checkout())
    await reach(first.handle, "PICKING")
    second = await stack.orders.place(checkout())
    await reach(second.handle, "PICKING")
    await sign_in(browser, keys.support)

    newest = await browser.get("/console/orders", params={"customer_id": "cus_42", "limit": 1})
    more = re.search(r'<a href="(/console/orders\?[^"]+)">Older orders</a>', newest.text)
    assert more, "no link to the older orders"
    older = await browser.get(more.group(1).replace("&amp;", "&"))
    tomorrow = await browser.get("/console/orders", params={"placed_from": "2999-01-01"})
    bad_day = await browser.get("/console/orders", params={"placed_to": "yesterday"})

    assert f">{second.order.order_id}</a>" in newest.text
    assert f">{first.order.order_id}</a>" in older.text
    assert second.order.order_id not in older.text
    assert "No orders match." in tomorrow.text
    assert bad_day.status_code == 422 and "placed to: not a date &#39;yesterday&#39;" in bad_day.text


async def test_support_opens_a_return_from_the_order_page_after_confirming(
        stack: Stack, keys: Keys):
    # Given a delivered order, and an agent signed in to a console on the manual warehouse
    from tests.workflows.conftest import manual_service
    orders = manual_service(stack)
    placed = await orders.place(checkout())
    await deliver_now(placed.handle)
    transport = httpx.ASGITransport(create_app(ApiServices.of(orders)))
    async with httpx.AsyncClient(transport=transport, base_url=ORIGIN,
                                 headers={"Origin": ORIGIN}) as client:
        await sign_in(client, keys.support)
        page = (await client.get(f"/console/orders/{placed.order.order_id}")).text
        assert "Open a return" in page
        form = {"csrf": form_token(page), "qty-TEE-BLK-M": "1", "reason": "DEFECTIVE",
                "comment": "seam open"}

        # When the agent asks, then confirms
        asked = await client.post(f"/console/orders/{placed.order.order_id}/returns", data=form)
        assert asked.status_code == 200 and "1 × TEE-BLK-M" in asked.text
        done = await client.post(f"/console/orders/{placed.order.order_id}/returns",
                                 data={**form, "confirmed": "yes"})

        # Then the return is open, with its RMA on the order page
        assert done.status_code == 303
        shown = (await client.get(done.headers["location"])).text
    assert f"RMA-{placed.order.order_id}-1" in shown
    view = await placed.handle.query(OrderWorkflow.view)
    assert view.status == "RETURN_REQUESTED"
    assert [e.actor for e in view.timeline if e.kind == "return.requested"] == ["agent-7"]
