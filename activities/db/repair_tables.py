"""Workflows the repairer found wedged: a workflow task failing on every attempt because the
history no longer replays. One row per broken run, with what was done about it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from activities.db.base import Base, utcnow

RESET = "reset"  # run again from the latest point the current code replays up to
UNREPAIRABLE = "unrepairable"  # no such point: a person must look


class WorkflowRepairRow(Base):
    __tablename__ = "workflow_repairs"
    __table_args__ = (UniqueConstraint("workflow_id", "broken_run_id",
                                       name="workflow_repairs_run"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(200), index=True)
    broken_run_id: Mapped[str] = mapped_column(String(64))
    workflow_type: Mapped[str] = mapped_column(String(100))
    problem: Mapped[str]  # the workflow task's failure, printable and bounded
    outcome: Mapped[str] = mapped_column(String(16))
    reset_to: Mapped[int | None]  # the event ending the workflow task that runs again
    new_run_id: Mapped[str | None] = mapped_column(String(64))
    forgotten_events: Mapped[int] = mapped_column(default=0)  # timeline rows of the lost part
    at: Mapped[datetime] = mapped_column(default=utcnow)
