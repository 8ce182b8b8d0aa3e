"""Support's requests as a signal with an answer: each request runs the same validator and
handler as its update, and its outcome is kept for the caller's queries.

Why not the updates themselves: an update the server admitted but had not yet handed to the
workflow is lost when the server restarts, and the caller's poll then finds nothing. A signal
is an event in the history: once the server acknowledged it no restart drops it, and one
request id lets the caller ask again safely. The updates stay registered: histories that used
them must still replay, and other clients may send them.

Neither shields an order from the SDK's different grouping, live and on replay, of the events
around a timed-out workflow task (tests/replay/unreplayable/, sdk-python #1591)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from temporalio import workflow
from temporalio.common import RawValue
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from workflows.order_contract import DONE, REFUSED, WORKING, Answer


@dataclass(frozen=True)
class Askable:
    """One request support can make: its argument's type, validator and handler."""
    argument: type
    validate: Callable[[Any], None]
    handle: Any  # the bound update method; the SDK's stubs do not type it as a bound method


class Asks:
    """The requests an order has taken, by request id, with their outcomes."""

    def __init__(self) -> None:
        self.answers: dict[str, Answer] = {}
        self.results: dict[str, Any] = {}

    async def run(self, request_id: str, askable: Askable | None, raw: RawValue) -> None:
        """Validates and handles one request once; a repeated id keeps the first outcome,
        unless that was a refusal, which changed nothing and may be asked again."""
        earlier = self.answers.get(request_id)
        if earlier is not None and earlier.state != REFUSED:
            return
        self.answers[request_id] = Answer(WORKING)
        try:
            if askable is None:
                raise ValueError("no such request")
            argument: Any = workflow.payload_converter().from_payload(raw.payload, askable.argument)
            askable.validate(argument)
        except Exception as refused:  # a malformed or refused request changes nothing
            self.answers[request_id] = Answer(REFUSED, str(refused))
            return
        try:
            result = askable.handle(argument)
            if inspect.isawaitable(result):
                result = await result
        except FailureError as refused:  # the handler's refusal, as an update would fail
            self.answers[request_id] = Answer(REFUSED, refused.message)
            return
        self.results[request_id] = result
        self.answers[request_id] = Answer(DONE)
