"""The repairer's interval from the environment, and the chaos check that every wedged
workflow it found was reset."""

from __future__ import annotations

from datetime import UTC, datetime

from activities.db.repair_repository import RepairRecord
from activities.db.repair_tables import RESET, UNREPAIRABLE
from workers.chaos.checks import check_repairs
from workers.settings import load_settings

AT = datetime(2026, 12, 2, tzinfo=UTC)


def test_the_repairer_runs_every_30_seconds_unless_told_otherwise() -> None:
    assert load_settings({}).repair_every_s == 30
    assert load_settings({"FULFIL_REPAIR_EVERY": "2m"}).repair_every_s == 120
    assert load_settings({"FULFIL_REPAIR_EVERY": "0s"}).repair_every_s == 0


def test_an_unrepairable_workflow_fails_the_chaos_check_and_a_reset_one_does_not() -> None:
    reset = RepairRecord("order-A", "run-1", "OrderWorkflow", "Nondeterminism", RESET, AT, 47)
    stuck = RepairRecord("order-B", "run-2", "OrderWorkflow", "Nondeterminism", UNREPAIRABLE, AT)

    assert check_repairs([reset]).passed
    result = check_repairs([reset, stuck])
    assert (result.checked, result.failures) == (2, [("order-B", "unrepairable: Nondeterminism")])
