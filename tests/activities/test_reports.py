"""The three reports over a scripted month in the real PostgreSQL: every figure is known."""

from __future__ import annotations

from datetime import timedelta

import pytest

from activities.db.engine import SessionFactory
from api.reports import ReportService
from domain.money import Money
from domain.reports import (
    Comment,
    Durations,
    RatingSplit,
    ReasonCount,
    ShipmentGroup,
    SkuReturnRate,
    SlaGroup,
)
from tests.activities.report_script import CAP, FEB, FEBRUARY, MARCH, MUG, TEE, h, write_script

NO_EXCEPTIONS = {"delivery_failed": 0, "lost": 0, "returned_to_sender": 0}


@pytest.fixture
async def reports(db: SessionFactory) -> ReportService:
    await write_script(db)
    return ReportService(db)


async def test_shipping_report_matches_the_scripted_parcels(reports: ReportService):
    report = await reports.shipping(*MARCH)

    assert (report.since, report.until) == MARCH
    assert report.shipments == (
        ShipmentGroup("sim-express", "express", "outbound", shipped=3, delivered=2,
                      order_to_ship=Durations(3, 10.0, 11.6),
                      ship_to_delivery=Durations(2, 24.0, 24.0),
                      exceptions=0, exception_scans=0, exceptions_by_code=NO_EXCEPTIONS,
                      claims=0, claimed=()),
        ShipmentGroup("sim-standard", "standard", "outbound", shipped=3, delivered=2,
                      order_to_ship=Durations(3, 30.0, 54.0),
                      ship_to_delivery=Durations(2, 74.0, 94.8),
                      exceptions=2, exception_scans=3,
                      exceptions_by_code={"delivery_failed": 1, "lost": 1,
                                          "returned_to_sender": 0},
                      claims=1, claimed=(Money(2850, "EUR"),)),
        ShipmentGroup("sim-standard", "standard", "replacement", shipped=1, delivered=1,
                      order_to_ship=Durations(1, 100.0, 100.0),
                      ship_to_delivery=Durations(1, 50.0, 50.0),
                      exceptions=0, exception_scans=0, exceptions_by_code=NO_EXCEPTIONS,
                      claims=0, claimed=()),
    )
    assert report.sla == (SlaGroup("sim-express", "express", 3, 0, 0),
                          SlaGroup("sim-standard", "standard", 3, 1, 1))


async def test_returns_report_matches_the_scripted_returns(reports: ReportService):
    report = await reports.returns(*MARCH)

    assert (report.returns, report.units) == (4, 4)
    assert report.by_sku == (SkuReturnRate(CAP, 1, 1, 1.0), SkuReturnRate(TEE, 4, 2, 0.5),
                             SkuReturnRate(MUG, 6, 1, 1 / 6))
    assert report.by_reason == (ReasonCount("CHANGED_MIND", 1, 1),
                                ReasonCount("DAMAGED_IN_TRANSIT", 1, 1),
                                ReasonCount("DEFECTIVE", 1, 1),
                                ReasonCount("SIZE_TOO_SMALL", 1, 1))
    assert report.refunded == (Money(1440 + 1999, "EUR"),)
    assert report.time_to_refund == Durations(2, 42.0, 56.4)
    assert report.by_acceptance == {"pending": 0, "accepted": 3, "rejected": 1}
    assert report.by_resolution == {"refund": 3, "exchange": 1}


async def test_satisfaction_report_matches_the_scripted_surveys(reports: ReportService):
    report = await reports.satisfaction(*MARCH)

    assert (report.sent, report.answered, report.expired, report.open) == (5, 4, 1, 0)
    assert report.response_rate == 0.8
    assert report.average_rating == 3.25
    assert report.distribution == {1: 1, 2: 0, 3: 1, 4: 1, 5: 1}
    assert report.recent_comments == (
        Comment("O2", 1, "arrived late and broken", h(140)),
        Comment("O1", 4, "fits well after the exchange", h(75)),
        Comment("O4", 5, "fast delivery", h(33)))
    assert report.with_return == RatingSplit(3, 10 / 3)
    assert report.without_return == RatingSplit(1, 3.0)
    assert report.late == RatingSplit(2, 2.0)
    assert report.on_time == RatingSplit(2, 4.5)


async def test_the_period_excludes_what_happened_outside_it(reports: ReportService):
    shipping = await reports.shipping(*FEBRUARY)
    returns = await reports.returns(*FEBRUARY)
    satisfaction = await reports.satisfaction(*FEBRUARY)

    assert [(g.carrier, g.purpose, g.shipped, g.order_to_ship, g.ship_to_delivery)
            for g in shipping.shipments] == [
        ("sim-standard", "outbound", 1, Durations(1, 24.0, 24.0), Durations(1, 48.0, 48.0))]
    assert shipping.sla == (SlaGroup("sim-standard", "standard", 1, 0, 0),)
    assert returns.by_sku == (SkuReturnRate(TEE, 5, 1, 0.2),)
    assert (returns.refunded, returns.time_to_refund) == ((Money(1999, "EUR"),),
                                                          Durations(1, 24.0, 24.0))
    assert (satisfaction.sent, satisfaction.average_rating) == (1, 2.0)
    assert satisfaction.with_return == RatingSplit(1, 2.0)


async def test_until_is_excluded_and_since_included(reports: ReportService):
    # O0's parcel was handed over at FEB + 1 day exactly
    shipped_at = FEB + timedelta(days=1)

    ending_there = await reports.shipping(FEBRUARY[0], shipped_at)
    starting_there = await reports.shipping(shipped_at, FEBRUARY[1])

    assert ending_there.shipments == ()
    assert [g.shipped for g in starting_there.shipments] == [1]
