"""The report arithmetic: percentiles, rates, grouping, and empty inputs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from domain.money import Money
from domain.reports import (
    MEDIAN,
    P90,
    Durations,
    InvalidReportPeriod,
    OrderSlaFact,
    Period,
    RatingSplit,
    ReturnedUnits,
    ReturnFact,
    ShipmentFact,
    ShippedLine,
    SkuReturnRate,
    SlaGroup,
    SurveyFact,
    durations,
    money_totals,
    percentile,
    rate,
    returns_report,
    satisfaction_report,
    shipping_report,
)

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
PERIOD = Period(T0 - timedelta(days=1), T0 + timedelta(days=30))


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def fractions(*values: int) -> list[Fraction]:
    return [Fraction(v) for v in values]


def test_percentiles_of_nothing_are_none():
    assert percentile([], MEDIAN) is None
    assert durations([]) == Durations(0, None, None)


def test_a_single_value_is_its_own_median_and_p90():
    assert percentile(fractions(7), MEDIAN) == 7
    assert percentile(fractions(7), P90) == 7


def test_the_median_of_an_even_count_is_the_mean_of_the_middle_two():
    assert percentile(fractions(4, 1, 3, 2), MEDIAN) == Fraction(5, 2)


def test_p90_interpolates_linearly_between_the_closest_ranks():
    # 10 values: rank 0.9 * 9 = 8.1, between the 9th (9) and the 10th (10) value
    assert percentile(fractions(*range(1, 11)), P90) == Fraction(91, 10)
    # 5 values: rank 3.6, between 40 and 100
    assert percentile(fractions(10, 20, 30, 40, 100), P90) == 76


def test_durations_are_hours_and_leave_open_spans_out():
    spans = [(at(0), at(1.5)), (at(0), None), (at(0), at(3)), (at(0), at(0.25))]

    assert durations(spans) == Durations(3, 1.5, 2.7)


def test_a_rate_over_nothing_is_none_not_zero():
    assert rate(0, 0) is None
    assert rate(0, 4) == 0.0
    assert rate(1, 3) == 1 / 3


def test_money_is_summed_per_currency_never_across():
    totals = money_totals([Money(500, "EUR"), Money(300, "USD"), Money(250, "EUR")])

    assert totals == (Money(750, "EUR"), Money(300, "USD"))


def test_a_period_must_run_forwards_in_a_known_zone():
    with pytest.raises(InvalidReportPeriod, match="must be before"):
        Period(T0, T0)
    with pytest.raises(InvalidReportPeriod, match="time zone"):
        Period(datetime(2026, 1, 1), T0)


def test_empty_inputs_give_empty_reports():
    shipping = shipping_report(PERIOD, [], [])
    returns = returns_report(PERIOD, [], [])
    satisfaction = satisfaction_report(PERIOD, [])

    assert (shipping.shipments, shipping.sla) == ((), ())
    assert (returns.returns, returns.units, returns.by_sku, returns.by_reason) == (0, 0, (), ())
    assert returns.refunded == ()
    assert returns.time_to_refund == Durations(0, None, None)
    assert returns.by_acceptance == {"pending": 0, "accepted": 0, "rejected": 0}
    assert returns.by_resolution == {"refund": 0, "exchange": 0}
    assert (satisfaction.sent, satisfaction.response_rate, satisfaction.average_rating) == (
        0, None, None)
    assert satisfaction.distribution == {1: 0, 2: 0, 3: 0, 4: 0, 5: 0}
    assert satisfaction.late == RatingSplit(0, None)


def test_parcels_group_per_carrier_and_method_with_replacements_apart():
    parcels = [
        ShipmentFact("sim-standard", "standard", "replacement", at(0), at(50), at(80)),
        ShipmentFact("sim-standard", "standard", "outbound", at(0), at(10), at(40),
                     exception="delivery_failed", exception_count=2),
        ShipmentFact("sim-standard", "standard", "outbound", at(0), at(20), None,
                     exception="lost", exception_count=1, claim=Money(1999, "EUR")),
        ShipmentFact("sim-express", "express", "outbound", at(0), at(4), at(20)),
    ]
    orders = [OrderSlaFact("sim-standard", "standard", True, False),
              OrderSlaFact("sim-standard", "standard", True, True),
              OrderSlaFact("sim-express", "express", False, False)]

    report = shipping_report(PERIOD, parcels, orders)

    assert [(g.carrier, g.purpose) for g in report.shipments] == [
        ("sim-express", "outbound"), ("sim-standard", "outbound"),
        ("sim-standard", "replacement")]
    outbound = report.shipments[1]
    assert (outbound.shipped, outbound.delivered) == (2, 1)
    assert outbound.order_to_ship == Durations(2, 15.0, 19.0)
    assert outbound.ship_to_delivery == Durations(1, 30.0, 30.0)
    assert (outbound.exceptions, outbound.exception_scans) == (2, 3)
    assert outbound.exceptions_by_code == {"delivery_failed": 1, "lost": 1,
                                           "returned_to_sender": 0}
    assert (outbound.claims, outbound.claimed) == (1, (Money(1999, "EUR"),))
    assert report.sla == (SlaGroup("sim-express", "express", 1, 0, 0),
                          SlaGroup("sim-standard", "standard", 2, 2, 1))


def _return(rma: str, reason: str, lines: dict[str, int], *, refund: int = 0,
            refunded_after: float | None = None, resolution: str = "refund",
            acceptance: str = "accepted") -> ReturnFact:
    return ReturnFact(rma, f"O-{rma}", reason, resolution, acceptance, Money(refund, "EUR"),
                      at(0), None if refunded_after is None else at(refunded_after),
                      tuple(ReturnedUnits(sku, qty) for sku, qty in lines.items()))


def test_return_rates_are_units_returned_over_units_shipped_per_sku():
    shipped = [ShippedLine("O-1", "TEE", 3), ShippedLine("O-2", "TEE", 1),
               ShippedLine("O-2", "MUG", 5)]
    returns = [_return("R1", "DEFECTIVE", {"TEE": 1}, refund=1999, refunded_after=24),
               _return("R2", "SIZE_TOO_SMALL", {"TEE": 1, "CAP": 1}, refunded_after=48,
                       resolution="exchange"),
               _return("R3", "DEFECTIVE", {"MUG": 2}, acceptance="rejected")]

    report = returns_report(PERIOD, shipped, returns)

    assert report.by_sku == (SkuReturnRate("TEE", 4, 2, 0.5), SkuReturnRate("MUG", 5, 2, 0.4),
                             SkuReturnRate("CAP", 0, 1, None))
    assert [(c.reason, c.returns, c.units) for c in report.by_reason] == [
        ("DEFECTIVE", 2, 3), ("SIZE_TOO_SMALL", 1, 2)]
    assert (report.returns, report.units) == (3, 5)
    assert report.refunded == (Money(1999, "EUR"),)
    assert report.time_to_refund == Durations(2, 36.0, 45.6)
    assert report.by_acceptance == {"pending": 0, "accepted": 2, "rejected": 1}
    assert report.by_resolution == {"refund": 2, "exchange": 1}


def _survey(order: str, status: str, rating: int | None = None, comment: str = "", *,
            answered: float | None = None, returned: bool = False, late: bool = False
            ) -> SurveyFact:
    return SurveyFact(order, status, at(0), rating, comment,
                      None if answered is None else at(answered), returned, late)


def test_satisfaction_splits_ratings_by_returns_and_lateness():
    surveys = [_survey("A", "answered", 5, "great", answered=1),
               _survey("B", "answered", 2, "late again", answered=3, late=True, returned=True),
               _survey("C", "answered", 4, answered=2),
               _survey("D", "expired"),
               _survey("E", "sent")]

    report = satisfaction_report(PERIOD, surveys)

    assert (report.sent, report.answered, report.expired, report.open) == (5, 3, 1, 1)
    assert report.response_rate == 0.6
    assert report.average_rating == 11 / 3
    assert report.distribution == {1: 0, 2: 1, 3: 0, 4: 1, 5: 1}
    assert [(c.order_id, c.rating, c.comment) for c in report.recent_comments] == [
        ("B", 2, "late again"), ("A", 5, "great")]
    assert report.with_return == RatingSplit(1, 2.0)
    assert report.without_return == RatingSplit(2, 4.5)
    assert report.late == RatingSplit(1, 2.0)
    assert report.on_time == RatingSplit(2, 4.5)


def test_only_the_ten_newest_comments_are_kept():
    surveys = [_survey(f"O{n:02}", "answered", 3, f"comment {n}", answered=n) for n in range(12)]

    comments = satisfaction_report(PERIOD, surveys).recent_comments

    assert [c.order_id for c in comments] == [f"O{n:02}" for n in range(11, 1, -1)]
