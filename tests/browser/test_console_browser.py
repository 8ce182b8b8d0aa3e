"""An agent at the support console in a real browser: signs in, finds an order, cancels one,
refunds one, sees a refusal and its reason, watches an order move on, and opens the
operations dashboard. Each step leaves a screenshot."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from api.orders import OrderService
from tests.api.conftest import Keys
from tests.browser.conftest import screenshot
from tests.support import checkout
from tests.workflows.checks import deliver_now, reach
from tests.workflows.conftest import Stack


async def sign_in(page: Page, console_url: str, key: str, start: str = "/console/orders") -> None:
    """Opens a console page, is sent to the sign-in form, and signs in with the keyboard."""
    await page.goto(console_url + start)
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await page.get_by_label("API key").fill(key)
    await page.keyboard.press("Enter")
    await expect(page.get_by_text("Signed in as")).to_be_visible()


async def test_an_agent_signs_in_searches_and_opens_an_order(
        page: Page, console_url: str, keys: Keys, stack: Stack):
    # Given an order being picked
    placed = await stack.orders.place(checkout())
    order_id = placed.order.order_id
    await reach(placed.handle, "PICKING")

    # When agent-7 signs in, searches by customer id and opens the order
    await sign_in(page, console_url, keys.support)
    await screenshot(page, "01-signed-in-orders")
    await page.get_by_label("Customer id").fill("cus_42")
    await page.get_by_role("button", name="Search").click()
    await expect(page.get_by_role("heading", name=re.compile("Matching orders"))).to_be_visible()
    await page.get_by_role("link", name=order_id).click()

    # Then the order page shows its status, customer, money and timeline
    await expect(page.get_by_role("heading", name=f"Order {order_id}")).to_be_visible()
    await expect(page.locator("#order-status")).to_have_text("Picking")
    await expect(page.locator("#money-captured")).to_have_text("44.88 EUR")
    await expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    link = page.get_by_role("link", name=re.compile("Temporal UI"))
    await expect(link).to_have_attribute("href", re.compile(f"/workflows/order-{order_id}$"))
    await screenshot(page, "02-order-page")


async def test_a_storefront_key_is_refused_with_a_clear_message(
        page: Page, console_url: str, keys: Keys):
    await page.goto(console_url + "/console/orders")
    await page.get_by_label("API key").fill(keys.storefront)
    await page.get_by_role("button", name="Sign in").click()

    await expect(page.get_by_role("alert")).to_contain_text(
        "A storefront key cannot sign in to the support console")
    await screenshot(page, "03-storefront-key-refused")


async def test_an_agent_cancels_an_order_after_confirming(
        page: Page, console_url: str, keys: Keys, manual_orders: OrderService):
    # Given an order waiting in PICKING for the warehouse
    placed = await manual_orders.place(checkout())
    order_id, handle = placed.order.order_id, placed.handle
    await reach(handle, "PICKING")
    await sign_in(page, console_url, keys.support, f"/console/orders/{order_id}")

    # When agent-7 asks to cancel it, then confirms
    await page.get_by_label("Reason").first.fill("customer changed their mind")
    await page.get_by_role("button", name="Cancel order…").click()
    await expect(page.get_by_role("heading", name=f"Cancel order {order_id}?")).to_be_visible()
    await screenshot(page, "04-cancel-confirmation")
    await page.get_by_role("button", name="Yes, cancel order").click()

    # Then the order is cancelled, in the agent's name
    await expect(page.get_by_role("status")).to_have_text("The order was cancelled.")
    await expect(page.locator("#order-status")).to_have_text("Cancelled")
    await expect(page.get_by_role("row", name=re.compile("Order cancelled"))).to_contain_text(
        "agent-7")
    await screenshot(page, "05-cancelled")
    assert (await handle.result()).status == "CANCELLED"


async def test_an_agent_refunds_part_of_an_order_and_a_refund_too_large_is_refused(
        page: Page, console_url: str, keys: Keys, manual_orders: OrderService):
    # Given a delivered order of 44.88 EUR
    placed = await manual_orders.place(checkout())
    order_id = placed.order.order_id
    await deliver_now(placed.handle)
    await sign_in(page, console_url, keys.support, f"/console/orders/{order_id}")
    refund = page.get_by_role("form", name="Refund")

    # When agent-7 refunds 5.00 and confirms
    await refund.get_by_label(re.compile("Amount")).fill("5.00")
    await refund.get_by_label("Reason").fill("late delivery")
    await refund.get_by_role("button", name="Refund…").click()
    await expect(page.get_by_text("5.00 EUR")).to_be_visible()
    await page.get_by_role("button", name="Yes, refund").click()

    # Then the refund shows on the order
    await expect(page.get_by_role("status")).to_have_text("The refund was given.")
    await expect(page.locator("#money-refunded")).to_have_text("5.00 EUR")
    await screenshot(page, "06-refunded")

    # When agent-7 then asks for 100.00 more
    await refund.get_by_label(re.compile("Amount")).fill("100.00")
    await refund.get_by_label("Reason").fill("goodwill")
    await refund.get_by_role("button", name="Refund…").click()
    await page.get_by_role("button", name="Yes, refund").click()

    # Then it is refused, with the reason on the page
    await expect(page.get_by_role("alert")).to_have_text(
        "The refund was refused: refund of 100.00 EUR exceeds the refundable balance "
        "of 39.88 EUR")
    await expect(page.locator("#money-refunded")).to_have_text("5.00 EUR")
    await screenshot(page, "07-refund-refused")


async def test_the_order_page_follows_the_order_without_a_reload(
        page: Page, console_url: str, keys: Keys, manual_orders: OrderService):
    # Given agent-7 looking at an order in PICKING
    placed = await manual_orders.place(checkout())
    order_id, handle = placed.order.order_id, placed.handle
    await reach(handle, "PICKING")
    await sign_in(page, console_url, keys.support, f"/console/orders/{order_id}")
    await expect(page.locator("#order-status")).to_have_text("Picking")

    # When someone else cancels it (another agent, through the API)
    await manual_orders.cancel(order_id, "duplicate order", actor="agent-9")

    # Then the open page shows it cancelled by them, and says so to screen readers
    await expect(page.locator("#order-status")).to_have_text("Cancelled")
    await expect(page.get_by_role("row", name=re.compile("Order cancelled"))).to_contain_text(
        "agent-9")
    await expect(page.locator("#live-announce")).to_have_text("The order is now Cancelled.")
    await screenshot(page, "08-followed-to-cancelled")


async def test_the_operations_dashboard_loads_with_its_charts(
        page: Page, console_url: str, keys: Keys, stack: Stack):
    placed = await stack.orders.place(checkout())
    await reach(placed.handle, "PICKING")

    await sign_in(page, console_url, keys.support, "/console/ops")

    await expect(page.get_by_role("heading", name="Operations", exact=True)).to_be_visible()
    for chart in ("Orders by status now", "Orders placed per hour, last 24 hours (UTC)"):
        await expect(page.get_by_role("img", name=re.compile(re.escape(chart)))).to_be_visible()
    await expect(page.locator("#by-status rect")).to_have_count(1)
    for section in ("Shipping", "Returns", "Stock", "Satisfaction"):
        await expect(page.get_by_role("heading", name=section, exact=True)).to_be_visible()
    await screenshot(page, "09-operations-dashboard")
