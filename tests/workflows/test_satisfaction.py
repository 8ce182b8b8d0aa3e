"""The satisfaction survey: sent some days after delivery, one rating from 1 to 5, and it
expires unanswered."""

from __future__ import annotations

from datetime import timedelta

import pytest

from activities.db.survey_repository import SurveyRepository
from api.aftercare import AftercareService
from api.orders import OrderService
from domain.errors import ActionRefused, InvalidRequest
from tests.support import checkout
from tests.workflows.checks import deliver_now, event, noted
from tests.workflows.conftest import TIMINGS, Stack
from workflows.order_workflow import OrderWorkflow


async def test_the_survey_is_sent_after_delivery_and_takes_one_rating(
        stack: Stack, manual_orders: OrderService) -> None:
    # Given an order delivered just now
    placed = await manual_orders.place(checkout())
    order_id = placed.order.order_id
    await deliver_now(placed.handle)
    aftercare = AftercareService(manual_orders)

    # A rating before the survey is sent is refused
    with pytest.raises(ActionRefused, match="no survey has been sent"):
        await aftercare.rate(order_id, 5)

    # When the survey's days have passed
    await stack.env.sleep(timedelta(seconds=TIMINGS.survey_after_s + 60))
    sent = await noted(placed.handle, "survey.sent")

    # Then the customer rates the order once; out of range and a second answer are refused
    with pytest.raises(InvalidRequest, match="between 1 and 5"):
        await aftercare.rate(order_id, 6)
    survey = await aftercare.rate(order_id, 4, "quick, but the box was dented")
    assert (survey.status, survey.rating) == ("answered", 4)
    with pytest.raises(ActionRefused, match="already been rated"):
        await aftercare.rate(order_id, 1)

    # And the answer is kept with the order
    async with stack.db() as session:
        stored = await SurveyRepository(session).get(order_id)
    assert stored is not None and (stored.status, stored.rating) == ("answered", 4)
    assert stored.comment == "quick, but the box was dented"
    result = await placed.handle.result()
    assert result.status == "COMPLETED"
    timeline = await placed.handle.query(OrderWorkflow.timeline)
    assert event(timeline, "survey.answered").detail == "4/5 quick, but the box was dented"
    assert sent.at >= event(timeline, "shipment.delivered").at + timedelta(
        seconds=TIMINGS.survey_after_s)


async def test_an_unanswered_survey_expires(stack: Stack) -> None:
    placed = await stack.orders.place(checkout())
    result = await placed.handle.result()
    assert result.status == "COMPLETED"
    async with stack.db() as session:
        stored = await SurveyRepository(session).get(placed.order.order_id)
    assert stored is not None and (stored.status, stored.rating) == ("expired", None)
    with pytest.raises(ActionRefused, match="can no longer change"):
        await AftercareService(stack.orders).rate(placed.order.order_id, 5)
