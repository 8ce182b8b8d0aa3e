"""`fulfil report` through the Typer app against the test database (reports need no Temporal)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from activities.db.engine import SessionFactory
from tests.activities.report_script import write_script
from workers.cli import app as fulfil

MARCH = ["--since", "2026-03-01", "--until", "2026-04-01T00:00:00+00:00"]


@pytest.fixture
async def env(db: SessionFactory, database_url: str) -> dict[str, str]:
    await write_script(db)
    return {"FULFIL_DATABASE_URL": database_url}


def test_report_returns_json_carries_every_figure_and_money_with_its_currency(
        env: dict[str, str]):
    result = CliRunner().invoke(fulfil, ["report", "returns", *MARCH, "--json"], env=env)

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["since"], report["until"]) == ("2026-03-01T00:00:00+00:00",
                                                  "2026-04-01T00:00:00+00:00")
    assert (report["returns"], report["units"]) == (4, 4)
    assert report["by_sku"][0] == {"sku": "CAP-NAVY", "shipped": 1, "returned": 1, "rate": 1.0}
    assert report["refunded"] == [{"amount": 3439, "currency": "EUR", "display": "34.39 EUR"}]
    assert report["time_to_refund"] == {"count": 2, "median_hours": 42.0, "p90_hours": 56.4}
    assert report["by_resolution"] == {"refund": 3, "exchange": 1}


def test_report_shipping_and_satisfaction_json(env: dict[str, str]):
    runner = CliRunner()

    shipping = runner.invoke(fulfil, ["report", "shipping", *MARCH, "--json"], env=env)
    satisfaction = runner.invoke(fulfil, ["report", "satisfaction", *MARCH, "--json"], env=env)

    assert shipping.exit_code == 0, shipping.output
    groups = json.loads(shipping.stdout)["shipments"]
    assert [(g["carrier"], g["purpose"], g["shipped"]) for g in groups] == [
        ("sim-express", "outbound", 3), ("sim-standard", "outbound", 3),
        ("sim-standard", "replacement", 1)]
    assert groups[1]["claimed"] == [{"amount": 2850, "currency": "EUR", "display": "28.50 EUR"}]
    assert satisfaction.exit_code == 0, satisfaction.output
    survey = json.loads(satisfaction.stdout)
    assert survey["distribution"] == {"1": 1, "2": 0, "3": 1, "4": 1, "5": 1}
    assert survey["recent_comments"][0] == {"order_id": "O2", "rating": 1,
                                            "comment": "arrived late and broken",
                                            "answered_at": "2026-03-08T04:00:00+00:00"}


def test_report_tables_for_people(env: dict[str, str]):
    result = CliRunner().invoke(fulfil, ["report", "shipping", *MARCH], env=env)

    assert result.exit_code == 0, result.output
    assert "sim-standard" in result.stdout
    assert "replacement" in result.stdout
    assert "28.50 EUR" in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--since", "last tuesday"], "--since: not an ISO date or date-time 'last tuesday'"),
    (["--since", "2026-03-01", "--until", "2026-13-01"], "--until: not an ISO date"),
    (["--since", "2026-04-01", "--until", "2026-03-01"], "must be before until"),
])
def test_a_bad_period_is_refused_with_exit_code_2(env: dict[str, str], args: list[str],
                                                  message: str):
    result = CliRunner().invoke(fulfil, ["report", "satisfaction", *args], env=env)

    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""
