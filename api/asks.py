"""Asking an order's workflow for what support wants (cancel, refund, a return...) and waiting
for its answer: the result, or a refusal with the reason, never silence and never a bare RPC
error. The request travels as the order's `ask` signal, not as an update (workflows/asks.py
says why), and the answer is read back with queries.

Each request carries one id, so sending it again is safe: the workflow keeps the outcome of
the first and does not act twice (a second goodwill refund would be real money)."""

from __future__ import annotations

import asyncio
import time
from typing import Any, TypeVar
from uuid import uuid4

from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from domain.errors import ActionRefused
from workflows.order_contract import (
    ANSWER_QUERY,
    ASK_SIGNAL,
    ORDER_STATUS,
    REFUSED,
    RESULT_QUERY,
    UNSEEN,
    WORKING,
    Answer,
    SupportRequest,
)

A = TypeVar("A")
R = TypeVar("R")

# A cancel answers once the order is unwound, which takes its compensating steps: minutes at
# worst, when a gateway is down. Past this the caller is told the order is still working.
ANSWER_WAIT_S = 300.0
FIRST_POLL_S, LAST_POLL_S = 0.02, 0.5
# Queries to an order whose worker is gone fail until a worker is back: asked again meanwhile.
PASSING = (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.UNAVAILABLE)


class StillWorking(RuntimeError):
    """The order took the request but has not answered yet; it will still act on it."""


async def ask(handle: WorkflowHandle[Any, Any], request: SupportRequest[A, R], argument: A,
              request_id: str | None = None, wait_s: float = ANSWER_WAIT_S) -> R:
    """Sends `request` to a running order and answers with its handler's result;
    ActionRefused with the order's reason, or when the order ended before taking it."""
    name = request.name
    request_id = request_id or f"{name}-{uuid4()}"
    try:
        await handle.signal(ASK_SIGNAL, args=[request_id, name, argument])
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        # Closed since the caller's check, maybe after answering this request when it was
        # sent before (its answer lost): that answer stands; otherwise nothing was done.
        answer = await _last_answer(handle, request_id)
        if not answer.settled:
            await refuse_if_closed(handle, name, started=answer.state == WORKING)
    else:
        answer = await _answer(handle, request_id, name, time.monotonic() + wait_s)
    if answer.state == REFUSED:
        raise ActionRefused(answer.reason)
    return await handle.query(RESULT_QUERY, request_id, result_type=request.answer)


async def _answer(handle: WorkflowHandle[Any, Any], request_id: str, name: str,
                  deadline: float) -> Answer:
    pause = FIRST_POLL_S
    while True:
        try:
            answer = await handle.query(ANSWER_QUERY, request_id, result_type=Answer)
        except RPCError as error:
            if error.status not in PASSING:
                raise
            answer = Answer(UNSEEN)
        if answer.settled:
            return answer
        if time.monotonic() >= deadline:
            raise StillWorking(f"the order has not answered {name} yet; it took the request "
                               "and will still act on it: its outcome shows on the timeline "
                               "(do not send it again)")
        if pause >= LAST_POLL_S and not await _running(handle):
            # It ended since: maybe right after answering (a cancel's answer comes as the
            # order ends), so its last answer, which a closed workflow still gives, decides.
            final = await _last_answer(handle, request_id)
            if final.settled:
                return final
            await refuse_if_closed(handle, name, started=final.state == WORKING)
        await asyncio.sleep(pause)
        pause = min(pause * 2, LAST_POLL_S)


async def _last_answer(handle: WorkflowHandle[Any, Any], request_id: str) -> Answer:
    """A closed order's answer to a request; UNSEEN when it cannot answer queries at all (it
    was stopped before running a workflow task). A passing failure is raised, to ask again."""
    try:
        return await handle.query(ANSWER_QUERY, request_id, result_type=Answer)
    except RPCError as error:
        if error.status in PASSING:
            raise
        return Answer(UNSEEN)


async def _running(handle: WorkflowHandle[Any, Any]) -> bool:
    return (await handle.describe()).status == WorkflowExecutionStatus.RUNNING


async def refuse_if_closed(handle: WorkflowHandle[Any, Any], name: str,
                           started: bool = False) -> None:
    """ActionRefused naming the order's final state when its workflow no longer runs."""
    description = await handle.describe()
    if description.status == WorkflowExecutionStatus.RUNNING:
        return
    # A workflow that completed ended in an order state; one stopped from outside
    # (terminated, timed out) did not, and its last order state would mislead.
    if description.status == WorkflowExecutionStatus.COMPLETED:
        state = description.typed_search_attributes.get(ORDER_STATUS) or "COMPLETED"
    else:
        state = description.status.name if description.status else "closed"
    if started:
        raise ActionRefused(f"order ended {state} while acting on the {name} request: "
                            "its timeline shows how far it got")
    raise ActionRefused(f"order ended {state} before it took the {name} request: "
                        "nothing was changed")
