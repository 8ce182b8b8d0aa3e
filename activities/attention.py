"""Flags an order for attention when one of its steps failed beyond any retry. Everything it
writes is made printable and bounded first, so it cannot fail the way the step did when the
failure was the text itself (a NUL byte, an over-long reason)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import structlog
from sqlalchemy.exc import DBAPIError
from temporalio import activity

from activities.db.attention_repository import Attention, AttentionRepository
from activities.db.engine import SessionFactory
from activities.records import RecordActivities, RecordEventInput
from domain.printable import printable

log = structlog.get_logger(__name__)

@dataclass(frozen=True)
class AttentionInput:
    order_id: str
    workflow_id: str
    seq: int  # the `attention.needed` event on the order's timeline
    at: datetime
    status: str
    step: str  # the activity that failed
    error_type: str
    detail: str
    unwritten: RecordEventInput | None = None  # a timeline event whose own write failed


@dataclass(frozen=True)
class ResolveAttentionInput:
    order_id: str
    step: str  # the step whose retry went through
    actor: str  # who asked for the retry
    at: datetime


def escaped(event: RecordEventInput) -> RecordEventInput:
    """The event with every text printable and within its column."""
    return replace(event, status=event.status[:32], kind=printable(event.kind, 48),
                   detail=printable(event.detail), actor=printable(event.actor, 100))


class AttentionActivities:
    def __init__(self, session_factory: SessionFactory) -> None:
        self.session_factory = session_factory

    @activity.defn(name="flag_attention")
    async def flag_attention(self, input: AttentionInput) -> bool:
        """Flags the order, and writes what failed and any unwritten event, escaped."""
        if input.unwritten is not None:
            await self._write_unwritten(escaped(input.unwritten))
        detail = printable(input.detail)
        async with self.session_factory.begin() as session:
            repo = AttentionRepository(session)
            has_row = await repo.flag(Attention(
                input.order_id, input.workflow_id, input.seq, input.at, input.status,
                printable(input.step, 64), printable(input.error_type, 64), detail))
            if has_row:
                await repo.add_event(input.order_id, input.seq, input.at, input.status,
                                     "attention.needed", detail)
        log.warning("order.attention_needed", step=input.step, error_type=input.error_type,
                    has_row=has_row)
        return has_row

    @activity.defn(name="resolve_attention")
    async def resolve_attention(self, input: ResolveAttentionInput) -> None:
        """Resolves the order's failures of the step; the flag drops with the last one."""
        async with self.session_factory.begin() as session:
            await AttentionRepository(session).resolve(
                input.order_id, printable(input.step, 64), printable(input.actor, 100),
                input.at)
        log.info("order.attention_resolved", step=input.step, actor=input.actor)

    async def _write_unwritten(self, event: RecordEventInput) -> None:
        """The event as the timeline writes it (status, customer message); if that still
        fails for another reason, the bare event, so the record keeps the workflow's story."""
        try:
            await RecordActivities(self.session_factory).record_event(event)
        except DBAPIError as error:
            log.warning("order.attention_event_bare", seq=event.seq, kind=event.kind,
                        error=printable(str(error), 200))
            async with self.session_factory.begin() as session:
                await AttentionRepository(session).add_event(
                    event.order_id, event.seq, event.at, event.status, event.kind,
                    event.detail, event.actor)
