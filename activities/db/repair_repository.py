"""What the repairer did about each wedged workflow run: recorded once per run, read back for
the ops dashboard and /metrics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from activities.db.repair_tables import WorkflowRepairRow


@dataclass(frozen=True)
class RepairRecord:
    workflow_id: str
    broken_run_id: str
    workflow_type: str
    problem: str
    outcome: str  # repair_tables.RESET or UNREPAIRABLE
    at: datetime
    reset_to: int | None = None
    new_run_id: str | None = None
    forgotten_events: int = 0


class RepairRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(self, repair: RepairRecord) -> None:
        """Records what was done about the run; a later attempt on the same run (one found
        unrepairable, then reset once new code replays it) replaces the earlier outcome."""
        values = {name: getattr(repair, name) for name in RepairRecord.__dataclass_fields__}
        statement = insert(WorkflowRepairRow).values(**values)
        await self.session.execute(statement.on_conflict_do_update(
            constraint="workflow_repairs_run",
            set_={name: statement.excluded[name] for name in values
                  if name not in ("workflow_id", "broken_run_id")}))

    async def recent(self, limit: int = 50) -> list[RepairRecord]:
        rows = await self.session.scalars(
            select(WorkflowRepairRow).order_by(WorkflowRepairRow.at.desc()).limit(limit))
        return [RepairRecord(r.workflow_id, r.broken_run_id, r.workflow_type, r.problem,
                             r.outcome, r.at, r.reset_to, r.new_run_id, r.forgotten_events)
                for r in rows]

    async def count_by_outcome(self) -> dict[str, int]:
        rows = await self.session.execute(
            select(WorkflowRepairRow.outcome, func.count()).group_by(WorkflowRepairRow.outcome))
        return {outcome: count for outcome, count in rows}
