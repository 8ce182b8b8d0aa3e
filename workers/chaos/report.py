"""The chaos run's report: the faults injected, one row per check, and each failure."""

from __future__ import annotations

import io
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table

from activities.db.repair_repository import RepairRecord
from workers.chaos.checks import CheckResult
from workers.chaos.faults import FaultLog
from workers.chaos.play import Outcome

SHOWN_PER_CHECK = 3  # failing orders named in the summary row; all are listed below it


@dataclass
class ChaosReport:
    run: str
    seconds: float
    outcomes: list[Outcome]
    faults: FaultLog
    results: list[CheckResult]
    repairs: list[RepairRecord] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results) and not self.faults.errors

    def as_json(self) -> dict[str, Any]:
        return {
            "run": self.run, "passed": self.passed, "seconds": round(self.seconds, 1),
            "orders": len(self.outcomes),
            "statuses": dict(Counter(o.status for o in self.outcomes)),
            "faults": {"worker_kills": self.faults.kills,
                       "server_restarts": self.faults.server_restarts,
                       "db_restarts": self.faults.db_restarts,
                       "worker_respawns": self.faults.respawns, "errors": self.faults.errors},
            "checks": [{"check": r.name, "checked": r.checked, "passed": r.passed,
                        "failures": [{"subject": s, "detail": d} for s, d in r.failures]}
                       for r in self.results],
            "repairs": [{"workflow_id": r.workflow_id, "outcome": r.outcome,
                         "reset_to": r.reset_to, "forgotten_events": r.forgotten_events}
                        for r in self.repairs],
        }


def render(report: ChaosReport) -> str:
    """The report as text: summary line, checks table, failures table."""
    console = Console(width=160, record=True, file=io.StringIO())
    f = report.faults
    statuses = ", ".join(f"{n} {s}" for s, n in Counter(o.status for o in report.outcomes)
                         .most_common())
    console.print(f"fulfil chaos {report.run}: {len(report.outcomes)} orders in "
                  f"{report.seconds:.0f}s ({statuses}); {f.kills} worker kills, "
                  f"{f.server_restarts} dev-server restarts, {f.db_restarts} PostgreSQL "
                  f"restarts, {f.respawns} worker starts")
    console.print(_checks_table(report.results))
    for r in report.repairs:
        console.print(f"repaired {r.workflow_id}: {r.outcome} to event {r.reset_to} "
                      f"({r.forgotten_events} timeline events rewritten)")
    failures = [(r.name, s, d) for r in report.results for s, d in r.failures]
    failures += [("faults", "-", error) for error in f.errors]
    if failures:
        table = Table("check", "order / place", "what is wrong", title="failures")
        for row in failures:
            table.add_row(*row)
        console.print(table)
    console.print("PASSED" if report.passed else "FAILED")
    return console.export_text()


def _checks_table(results: list[CheckResult]) -> Table:
    table = Table("check", "checked", "failed", "ok", "first failing", title="checks")
    for r in results:
        subjects = sorted({s for s, _ in r.failures})
        table.add_row(r.name, str(r.checked), str(len(subjects)), "yes" if r.passed else "NO",
                      ", ".join(subjects[:SHOWN_PER_CHECK]) + (" ..." if len(subjects) >
                                                                SHOWN_PER_CHECK else ""))
    return table


def render_json(report: ChaosReport) -> str:
    return json.dumps(report.as_json(), indent=2)

