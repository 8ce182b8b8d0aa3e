"""OrderWorkflow after delivery: the return window, returns (RMA, label, reception,
inspection, refund or exchange) and the satisfaction survey."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.carriers.activities import (
        ReturnLabelInput,
        ShipmentRef,
        ShippingActivities,
        TrackingUpdate,
    )
    from activities.carriers.carrier import Parcel
    from activities.records import RecordActivities, ShipmentStatusInput
    from activities.returns import InspectedLine as InspectedUnits
    from activities.returns import (
        OpenReturnInput,
        ReceiveReturnInput,
        ReceptionInput,
        ReturnActivities,
        ReturnLabelRecord,
        ReturnLineInput,
        SettleReturnInput,
    )
    from activities.surveys import RatingInput, SurveyActivities, SurveyInput, SurveyRef
    from domain.money import Money
    from domain.returns import (
        MERCHANT_FAULT,
        Acceptance,
        Reception,
        Resolution,
        parse_reason,
        refund_for_return,
        return_refusal,
        returnable,
        rma_id,
    )
    from domain.satisfaction import rating_refusal
    from domain.status import AFTER_DELIVERY, OrderStatus
    from workflows.order_contract import (
        CarrierEvent,
        Rating,
        ReturnDecision,
        ReturnReceipt,
        ReturnRequest,
        ReturnView,
        SurveyView,
    )
    from workflows.steps import Stop, business_step, until_done, wait_until

from workflows.fulfilment import OrderFulfilment
from workflows.returns import ReturnRun

S = OrderStatus
A = Acceptance

# workflow.patched() ids: each guards a change to the commands the workflow issues.
RECORD_PUSHED_SHIPMENT_STATUS = "record-pushed-shipment-status"
SATISFACTION_SURVEY = "satisfaction-survey"


class OrderAftercare(OrderFulfilment):
    """Keeps a delivered order open for returns and asks the customer how it went."""

    async def _return_window(self) -> None:
        """Accepts returns while a durable timer runs; the order closes once the window has
        closed and every return and the survey are settled."""
        timings = self._input.timings
        await self._note("returns.window_opened", f"{timings.return_window_s}s", actor="system")
        survey = None
        if workflow.patched(SATISFACTION_SURVEY):
            survey = asyncio.create_task(self._run_survey())
        self._window_open = True
        await workflow.sleep(timedelta(seconds=timings.return_window_s))
        self._window_open = False
        await self._expire_unsent_returns()
        await workflow.wait_condition(lambda: all(r.settled for r in self._returns))
        if survey is not None:
            await survey

    # -- returns -------------------------------------------------------------------------

    @workflow.update(name="request_return")
    async def request_return(self, request: ReturnRequest) -> ReturnView:
        refusal = self._return_refusal(request)
        if refusal:  # checked again: another return may have taken the units meanwhile
            raise ApplicationError(refusal, type="ReturnRefused", non_retryable=True)
        reason = parse_reason(request.reason)
        run = ReturnRun(rma_id(self._order.order_id, len(self._returns) + 1), reason.value,
                        request.comment, request.resolution, list(request.lines))
        self._returns.append(run)
        await until_done(ReturnActivities.open_return, OpenReturnInput(
            self._order.order_id, run.rma, run.reason, run.comment, run.resolution,
            self._order.currency, self._return_lines(run), workflow.now()))
        await self._buy_return_label(run, request.actor)
        await self._move_or_note(S.RETURN_REQUESTED, "return.requested",
                                 f"{run.rma} {run.reason}: {run.label_url}", request.actor)
        asyncio.create_task(self._follow_return(run))
        return run.view()

    @request_return.validator
    def _validate_return(self, request: ReturnRequest) -> None:
        refusal = self._return_refusal(request)
        if refusal:
            raise ValueError(refusal)

    def _return_refusal(self, request: ReturnRequest) -> str | None:
        if not self._window_open:
            if self._status in AFTER_DELIVERY or self._status == S.COMPLETED:
                return "the return window has closed"
            return f"order is {self._status.value}: returns open once it is delivered"
        try:
            reason = parse_reason(request.reason)
            resolution = Resolution(request.resolution)
        except ValueError as error:
            return str(error)
        return return_refusal(list(request.lines), reason, request.comment, resolution,
                              returnable=returnable(self._delivered(), self._in_returns()))

    def _delivered(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for shipment in (s for s in self._shipments if s.delivered):
            for sku, qty in shipment.quantities().items():
                totals[sku] = totals.get(sku, 0) + qty
        return totals

    def _in_returns(self) -> dict[str, int]:
        """Units already in a return that was not rejected."""
        totals: dict[str, int] = {}
        for run in (r for r in self._returns if r.acceptance != A.REJECTED):
            for sku, qty in run.quantities().items():
                totals[sku] = totals.get(sku, 0) + qty
        return totals

    def _return_lines(self, run: ReturnRun) -> list[ReturnLineInput]:
        prices = {line.sku: line.unit_price for line in self._order.lines}
        came_from = {line.sku: s.warehouse for s in self._shipments if s.delivered
                     for line in s.lines}
        return [ReturnLineInput(line.sku, line.quantity,
                                prices.get(line.sku, Money.zero(self._order.currency)),
                                came_from.get(line.sku, ""), line.exchange_sku)
                for line in run.lines]

    async def _buy_return_label(self, run: ReturnRun, actor: str) -> None:
        try:
            label = await business_step(ShippingActivities.create_return_label, ReturnLabelInput(
                self._order.order_id, run.rma, self._key(f"label-{run.rma}"), self._order.carrier,
                self._order.address, [Parcel(line.sku, line.quantity) for line in run.lines]))
        except Stop as stop:
            await self._reject(run, f"no return label: {stop.reason}", actor)
            raise ApplicationError(f"the carrier gave no return label: {stop.reason}",
                                   type="ReturnRefused", non_retryable=True) from None
        run.carrier, run.tracking_number, run.label_url = (
            label.carrier, label.tracking_number, label.label_url)
        await until_done(ReturnActivities.attach_return_label, ReturnLabelRecord(
            run.rma, run.carrier, run.tracking_number, run.label_url))

    async def _follow_return(self, run: ReturnRun) -> None:
        """Polls the return parcel until it arrives at the warehouse or is lost."""
        poll = timedelta(seconds=self._input.timings.tracking_poll_s)
        ref = ShipmentRef(self._order.order_id, run.carrier, run.tracking_number)
        moving = (Reception.AWAITING, Reception.IN_TRANSIT)
        done = lambda: run.arrived or run.settled or run.reception not in moving  # noqa: E731
        while not done():
            updates = await until_done(ShippingActivities.track_return, ref)
            await self._apply_return_tracking(run, updates)
            await wait_until(done, poll)

    async def _apply_return_tracking(self, run: ReturnRun, updates: list[TrackingUpdate]) -> None:
        for update in updates:
            seen = (update.code, update.at.isoformat())
            if seen in run.seen or run.reception in (Reception.RECEIVED, Reception.LOST):
                continue
            run.seen.add(seen)
            await self._note(f"return.{update.code}", f"{run.rma} {update.location}".strip(),
                             actor=run.carrier, at=update.at)
            if update.code == "delivered":
                run.arrived = True
            elif update.code == "lost":
                await self._set_reception(run, Reception.LOST)
            elif run.reception == Reception.AWAITING and update.code != "label_created":
                await self._set_reception(run, Reception.IN_TRANSIT)

    async def _set_reception(self, run: ReturnRun, reception: Reception) -> None:
        run.reception = reception.value
        await until_done(ReturnActivities.mark_return_reception, ReceptionInput(
            run.rma, reception.value, workflow.now()))

    @workflow.signal(name="carrier_event")
    async def carrier_event(self, event: CarrierEvent) -> None:
        update = TrackingUpdate(event.code, event.at, event.location, event.description)
        moving = [s for s in self._shipments if s.handed_over and
                  (not event.tracking_number or s.tracking_number == event.tracking_number)]
        if len(moving) != 1:
            returning = [r for r in self._returns
                         if event.tracking_number and r.tracking_number == event.tracking_number]
            if returning:
                await self._apply_return_tracking(returning[0], [update])
            else:
                await self._note("carrier.ignored", f"{event.code}: order is {self._status.value}")
            return
        shipment = moving[0]
        await self._apply_tracking(shipment, [update])
        # Polls write the shipment's status themselves; a pushed event has no activity yet.
        # Patched: orders that handled a pushed event before this write existed must replay.
        if workflow.patched(RECORD_PUSHED_SHIPMENT_STATUS):
            await self._record_aside(
                RecordActivities.record_shipment_status,
                ShipmentStatusInput(shipment.tracking_number, shipment.status, event.at))

    @workflow.update(name="receive_return")
    async def receive_return(self, receipt: ReturnReceipt) -> ReturnView:
        run = self._return_run(receipt.rma)
        try:
            await business_step(ReturnActivities.receive_return, ReceiveReturnInput(
                run.rma, self._order.order_id,
                [InspectedUnits(line.sku, line.resellable, line.damaged) for line in receipt.lines],
                workflow.now(), receipt.actor))
        except Stop as stop:
            raise ApplicationError(stop.reason, type="ReturnRefused", non_retryable=True) from None
        run.reception, run.inspected = Reception.RECEIVED.value, list(receipt.lines)
        damaged = sum(line.damaged for line in receipt.lines)
        await self._move_or_note(S.RETURN_RECEIVED, "return.received", f"{run.rma}: " + ", ".join(
            f"{line.sku} {line.resellable} resellable, {line.damaged} damaged"
            for line in receipt.lines), receipt.actor)
        if damaged:
            await self._note("return.review", f"{run.rma}: {damaged} damaged, support decides")
        else:
            await self._accept(run, "system")
        return run.view()

    @receive_return.validator
    def _validate_receipt(self, receipt: ReturnReceipt) -> None:
        run = self._return_run(receipt.rma)
        if run.reception == Reception.RECEIVED or run.acceptance != A.PENDING:
            raise ValueError(f"{run.rma} is already {run.reception}, {run.acceptance}")
        wanted = run.quantities()
        if not receipt.lines or sum(line.resellable + line.damaged for line in receipt.lines) < 1:
            raise ValueError("a receipt names at least one unit received")
        for line in receipt.lines:
            if line.resellable < 0 or line.damaged < 0:
                raise ValueError(f"{line.sku}: counts cannot be negative")
            if line.resellable + line.damaged > wanted.get(line.sku, 0):
                raise ValueError(f"{line.sku}: {line.resellable + line.damaged} received, but "
                                 f"{run.rma} returns {wanted.get(line.sku, 0)}")

    @workflow.update(name="decide_return")
    async def decide_return(self, decision: ReturnDecision) -> ReturnView:
        run = self._return_run(decision.rma)
        if decision.accept:
            await self._accept(run, decision.actor)
        else:
            await self._reject(run, decision.reason, decision.actor)
        return run.view()

    @decide_return.validator
    def _validate_decision(self, decision: ReturnDecision) -> None:
        run = self._return_run(decision.rma)
        if run.acceptance != A.PENDING:
            raise ValueError(f"{run.rma} has already been {run.acceptance}")
        if decision.accept and run.reception not in (Reception.RECEIVED, Reception.LOST):
            raise ValueError(f"{run.rma} is {run.reception}: accept it once it is received "
                             "(or lost by the carrier)")
        if not decision.accept and not decision.reason.strip():
            raise ValueError("a rejection needs a reason")

    def _return_run(self, rma: str) -> ReturnRun:
        for run in self._returns:
            if run.rma == rma:
                return run
        raise ValueError(f"order {self._order.order_id} has no return {rma}")

    async def _accept(self, run: ReturnRun, actor: str) -> None:
        """Refunds the goods accepted back, or sends the other variant for an exchange."""
        run.acceptance = A.ACCEPTED.value
        accepted = ({line.sku: line.resellable + line.damaged for line in run.inspected}
                    if run.inspected else run.quantities())
        if run.resolution == Resolution.EXCHANGE:
            await self._settle(run, Money.zero(self._order.currency), "")
            await self._note("return.accepted", f"{run.rma}: exchange", actor=actor)
            asyncio.create_task(self._send_exchange(run, accepted))
            return
        await self._refund_return(run, accepted, actor)

    async def _refund_return(self, run: ReturnRun, accepted: dict[str, int], actor: str) -> None:
        refundable = self._captured - self._refunded - self._refund_pending
        amount = refund_for_return(self._order, accepted, parse_reason(run.reason),
                                   shipping_refunded=self._shipping_refunded(),
                                   refundable=refundable)
        refunded = Money.zero(self._order.currency)
        if amount.amount > 0:
            refunded = await self._refund_money(amount, f"return {run.rma}", actor,
                                                step=f"refund-{run.rma}")
        run.refunded = refunded
        await self._settle(run, refunded, "")
        await self._move_or_note(S.REFUNDED, "return.refunded", f"{run.rma}: {refunded}", actor)

    def _shipping_refunded(self) -> bool:
        return any(r.refunded is not None and r.reason in MERCHANT_FAULT for r in self._returns)

    async def _send_exchange(self, run: ReturnRun, accepted: dict[str, int]) -> None:
        swap = {line.sku: line.exchange_sku for line in run.lines}
        wanted = {swap[sku]: qty for sku, qty in accepted.items() if qty > 0}
        if await self._ship_replacement(wanted, f"exchange-{run.rma}", f"exchange {run.rma}"):
            run.exchange_done = True
            await self._move_or_note(S.DELIVERED, "return.exchanged", run.rma)
            return
        await self._note("return.exchange_failed", f"{run.rma}: refunding instead")
        run.resolution = Resolution.REFUND.value
        await self._refund_return(run, accepted, "system")

    async def _reject(self, run: ReturnRun, reason: str, actor: str) -> None:
        run.acceptance, run.rejection_reason = A.REJECTED.value, reason
        await self._settle(run, Money.zero(self._order.currency), reason)
        await self._move_or_note(S.DELIVERED, "return.rejected", f"{run.rma}: {reason}", actor)

    async def _settle(self, run: ReturnRun, refund: Money, rejection: str) -> None:
        await until_done(ReturnActivities.settle_return, SettleReturnInput(
            run.rma, run.acceptance, rejection, refund, workflow.now()))

    async def _expire_unsent_returns(self) -> None:
        """Returns whose parcel never left the customer get a grace period, then close."""
        unsent = lambda: [r for r in self._returns  # noqa: E731
                          if r.reception == Reception.AWAITING and not r.settled]
        if not unsent():
            return
        grace = timedelta(seconds=self._input.timings.return_grace_s)
        await wait_until(lambda: not unsent(), grace)
        for run in unsent():
            await self._reject(run, "the goods were never sent back", "system")

    # -- satisfaction --------------------------------------------------------------------

    async def _run_survey(self) -> None:
        """Some days after delivery, asks for one rating; unanswered, the survey expires."""
        timings = self._input.timings
        await workflow.sleep(timedelta(seconds=timings.survey_after_s))
        sent = workflow.now()
        expires = sent + timedelta(seconds=timings.survey_open_s)
        await until_done(SurveyActivities.open_survey,
                         SurveyInput(self._order.order_id, sent, expires))
        self._survey = SurveyView("open", sent, expires)
        await self._note("survey.sent", f"open until {expires:%Y-%m-%d %H:%M} UTC")
        answered = lambda: self._survey is not None and self._survey.status == "answered"  # noqa: E731
        if await wait_until(answered, timedelta(seconds=timings.survey_open_s)):
            return
        self._survey = replace(self._survey, status="expired")
        await until_done(SurveyActivities.expire_survey,
                         SurveyRef(self._order.order_id, workflow.now()))
        await self._note("survey.expired")

    @workflow.update(name="rate")
    async def rate(self, rating: Rating) -> SurveyView:
        refusal = self._rating_refusal(rating)
        if refusal or self._survey is None:
            raise ApplicationError(refusal or "no survey", type="RatingRefused",
                                   non_retryable=True)
        self._survey = replace(self._survey, status="answered", rating=rating.rating,
                               comment=rating.comment)
        await until_done(SurveyActivities.record_rating, RatingInput(
            self._order.order_id, rating.rating, rating.comment, workflow.now()))
        await self._note("survey.answered", f"{rating.rating}/5 {rating.comment}".strip(),
                         actor=rating.actor)
        return self._survey

    @rate.validator
    def _validate_rating(self, rating: Rating) -> None:
        refusal = self._rating_refusal(rating)
        if refusal:
            raise ValueError(refusal)

    def _rating_refusal(self, rating: Rating) -> str | None:
        survey = "not_sent" if self._survey is None else self._survey.status
        return rating_refusal(rating.rating, rating.comment, survey=survey)
