"""Which timeline events reach the customer, and what each message says."""

from __future__ import annotations

import pytest

from domain.notifications import OrderFacts, message_for

ADA = OrderFacts("ORD-1001", "Ada Lovelace")


def test_an_authorized_payment_confirms_the_order_with_its_amount() -> None:
    message = message_for("payment.authorized", "EUR 12.34", ADA)

    assert message is not None
    assert message.template == "order_confirmed"
    assert message.subject == "Order ORD-1001 confirmed"
    assert message.body.startswith("Hello Ada Lovelace,\n\n")
    assert "EUR 12.34" in message.body


def test_a_handed_over_parcel_sends_its_tracking_link() -> None:
    message = message_for("shipment.handed_over", "sim-standard SIMS1A2B3C4D5E", ADA)

    assert message is not None
    assert message.template == "shipped"
    assert "ORD-1001" in message.subject
    assert "https://track.sim-standard.example/SIMS1A2B3C4D5E" in message.body
    assert "SIMS1A2B3C4D5E" in message.body


def test_the_closing_handover_of_a_split_order_sends_nothing_more() -> None:
    assert message_for("shipment.handed_over", "every remaining parcel has left", ADA) is None


def test_delivery_is_announced() -> None:
    message = message_for("shipment.delivered", "", ADA)

    assert message is not None
    assert (message.template, message.subject) == ("delivered", "Order ORD-1001 delivered")


def test_a_return_request_sends_the_rma_reason_and_label_link() -> None:
    detail = "RMA-ORD-1001-1 wrong_size: https://labels.sim-standard.example/SIMS99.pdf"

    message = message_for("return.requested", detail, ADA)

    assert message is not None
    assert message.template == "return_label"
    assert "RMA-ORD-1001-1" in message.body
    assert "(wrong_size)" in message.body
    assert "label here: https://labels.sim-standard.example/SIMS99.pdf" in message.body


def test_a_return_request_uses_the_last_link_as_the_label() -> None:
    detail = "RMA-7 damaged see https://example.com/photo: https://labels.x.example/L.pdf"

    message = message_for("return.requested", detail, ADA)

    assert message is not None
    assert "label here: https://labels.x.example/L.pdf" in message.body


def test_a_return_request_without_a_label_still_tells_the_customer() -> None:
    message = message_for("return.requested", "RMA-7 changed_mind", ADA)

    assert message is not None
    assert "RMA-7" in message.body and "label here" not in message.body


def test_a_refund_names_its_amount_and_reason() -> None:
    message = message_for("payment.refunded", "EUR 5.00: late delivery goodwill", ADA)

    assert message is not None
    assert message.template == "refund_issued"
    assert "a refund of EUR 5.00" in message.body
    assert "(late delivery goodwill)" in message.body


def test_a_refund_without_a_reason_names_the_amount_alone() -> None:
    message = message_for("payment.refunded", "EUR 24.88", ADA)

    assert message is not None
    assert "a refund of EUR 24.88 for your order ORD-1001." in message.body


def test_a_survey_says_until_when_it_is_open() -> None:
    message = message_for("survey.sent", "open until 2025-04-01 09:30 UTC", ADA)

    assert message is not None
    assert message.template == "satisfaction_survey"
    assert "The survey is open until 2025-04-01 09:30 UTC." in message.body


def test_a_survey_expiry_given_as_a_bare_date_reads_the_same() -> None:
    message = message_for("survey.sent", "2025-04-01", ADA)

    assert message is not None
    assert "The survey is open until 2025-04-01." in message.body


def test_a_cancellation_gives_the_reason() -> None:
    message = message_for("order.cancelled", "customer changed their mind", ADA)

    assert message is not None
    assert message.template == "order_cancelled"
    assert "Reason: customer changed their mind." in message.body


@pytest.mark.parametrize("kind", ["order.placed", "payment.captured", "stock.reserved",
                                  "warehouse.picked", "payment.voided", "order.completed",
                                  "shipment.parcel_delivered", "payment.failed"])
def test_internal_events_send_no_message(kind: str) -> None:
    assert message_for(kind, "anything", ADA) is None


def test_a_customer_without_a_name_is_greeted_plainly() -> None:
    message = message_for("shipment.delivered", "", OrderFacts("ORD-1", ""))

    assert message is not None
    assert message.body.startswith("Hello,\n\nYour order ORD-1 has been delivered.")
