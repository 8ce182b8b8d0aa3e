"""The arithmetic of the shipping, returns and satisfaction reports over plain facts.

Percentiles interpolate linearly between the two nearest ranks (as PostgreSQL's
`percentile_cont` and numpy's default do): for n sorted values the p-quantile sits at rank
p·(n−1), so the median of an even count is the mean of the two middle values. Durations are
computed as exact fractions of an hour and turned into floats only at the end, so the same
facts always give the same figures. A rate or an average over nothing is None, never 0.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import TypeVar

from domain.errors import DomainError
from domain.money import Money
from domain.returns import Acceptance, Resolution
from domain.satisfaction import RATINGS
from domain.tracking import EXCEPTIONS

K = TypeVar("K")
F = TypeVar("F")

MEDIAN = Fraction(1, 2)
P90 = Fraction(9, 10)
HOUR = timedelta(hours=1)
RECENT_COMMENTS = 10
OUTBOUND = "outbound"


class InvalidReportPeriod(DomainError):
    """A --since/--until that does not make a period."""


@dataclass(frozen=True)
class Period:
    """From `since` (included) to `until` (excluded), both UTC-aware."""

    since: datetime
    until: datetime

    def __post_init__(self) -> None:
        if self.since.tzinfo is None or self.until.tzinfo is None:
            raise InvalidReportPeriod("since and until need a time zone")
        if self.since >= self.until:
            raise InvalidReportPeriod(
                f"since ({self.since.isoformat()}) must be before until ({self.until.isoformat()})")


# --- arithmetic ------------------------------------------------------------------------------

def percentile(values: Sequence[Fraction], p: Fraction) -> Fraction | None:
    """The p-quantile (0 ≤ p ≤ 1) by linear interpolation between closest ranks; None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = p * (len(ordered) - 1)
    low = int(rank)  # rank is never negative, so int() is floor()
    if low + 1 >= len(ordered):
        return ordered[low]
    return ordered[low] + (ordered[low + 1] - ordered[low]) * (rank - low)


def hours_between(start: datetime, end: datetime) -> Fraction:
    return Fraction((end - start) // timedelta(microseconds=1), HOUR // timedelta(microseconds=1))


def rate(part: int, whole: int) -> float | None:
    return float(Fraction(part, whole)) if whole else None


def mean(values: Sequence[int]) -> float | None:
    return float(Fraction(sum(values), len(values))) if values else None


def _as_float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class Durations:
    """How long something took, in hours, over `count` cases."""

    count: int
    median_hours: float | None
    p90_hours: float | None


def durations(spans: Iterable[tuple[datetime, datetime | None]]) -> Durations:
    """Median and p90 of the spans that have ended; open spans are left out."""
    hours = [hours_between(start, end) for start, end in spans if end is not None]
    return Durations(len(hours), _as_float(percentile(hours, MEDIAN)),
                     _as_float(percentile(hours, P90)))


def money_totals(amounts: Iterable[Money]) -> tuple[Money, ...]:
    """One sum per currency, ordered by currency."""
    totals: dict[str, Money] = {}
    for amount in amounts:
        totals[amount.currency] = totals.get(amount.currency, Money.zero(amount.currency)) + amount
    return tuple(totals[currency] for currency in sorted(totals))


def group_by(facts: Iterable[F], key: Callable[[F], K]) -> dict[K, list[F]]:
    groups: dict[K, list[F]] = defaultdict(list)
    for fact in facts:
        groups[key(fact)].append(fact)
    return groups


def counts(keys: Iterable[str], known: Iterable[str]) -> dict[str, int]:
    """How often each key occurs; every `known` key is present, 0 when absent."""
    tally = Counter(keys)
    return {**{k: tally.get(k, 0) for k in known}, **tally}


# --- shipping --------------------------------------------------------------------------------

@dataclass(frozen=True)
class ShipmentFact:
    """One parcel handed to a carrier; `claim` is what was claimed for it, if anything."""

    carrier: str
    shipping_method: str
    purpose: str  # outbound | replacement
    placed_at: datetime
    shipped_at: datetime
    delivered_at: datetime | None = None
    exception: str = ""  # the parcel's exception code, '' when none
    exception_count: int = 0
    claim: Money | None = None


@dataclass(frozen=True)
class OrderSlaFact:
    carrier: str
    shipping_method: str
    ship_sla_breached: bool
    delivery_sla_breached: bool


@dataclass(frozen=True)
class ShipmentGroup:
    carrier: str
    shipping_method: str
    purpose: str
    shipped: int
    delivered: int
    order_to_ship: Durations
    ship_to_delivery: Durations
    exceptions: int  # parcels with an exception
    exception_scans: int  # exception scans over all parcels (a parcel may fail twice)
    exceptions_by_code: dict[str, int]
    claims: int
    claimed: tuple[Money, ...]


@dataclass(frozen=True)
class SlaGroup:
    carrier: str
    shipping_method: str
    orders: int
    ship_sla_breaches: int
    delivery_sla_breaches: int


@dataclass(frozen=True)
class ShippingReport:
    """Parcels shipped in the period; SLA breaches of the orders placed in it."""

    since: datetime
    until: datetime
    shipments: tuple[ShipmentGroup, ...]
    sla: tuple[SlaGroup, ...]


def shipment_group(carrier: str, method: str, purpose: str,
                   parcels: Sequence[ShipmentFact]) -> ShipmentGroup:
    with_exception = [p for p in parcels if p.exception]
    claims = [p.claim for p in parcels if p.claim is not None]
    return ShipmentGroup(
        carrier, method, purpose, shipped=len(parcels),
        delivered=sum(p.delivered_at is not None for p in parcels),
        order_to_ship=durations((p.placed_at, p.shipped_at) for p in parcels),
        ship_to_delivery=durations((p.shipped_at, p.delivered_at) for p in parcels),
        exceptions=len(with_exception),
        exception_scans=sum(p.exception_count for p in parcels),
        exceptions_by_code=counts((p.exception for p in with_exception), sorted(EXCEPTIONS)),
        claims=len(claims), claimed=money_totals(claims))


def sla_group(carrier: str, method: str, orders: Sequence[OrderSlaFact]) -> SlaGroup:
    return SlaGroup(carrier, method, len(orders),
                    sum(o.ship_sla_breached for o in orders),
                    sum(o.delivery_sla_breached for o in orders))


def shipping_report(period: Period, parcels: Iterable[ShipmentFact],
                    orders: Iterable[OrderSlaFact]) -> ShippingReport:
    """Per carrier and method, outbound parcels before replacements."""
    by_group = group_by(parcels, lambda p: (p.carrier, p.shipping_method, p.purpose))
    shipment_keys = sorted(by_group, key=lambda k: (k[0], k[1], k[2] != OUTBOUND, k[2]))
    by_method = group_by(orders, lambda o: (o.carrier, o.shipping_method))
    return ShippingReport(
        period.since, period.until,
        tuple(shipment_group(*key, by_group[key]) for key in shipment_keys),
        tuple(sla_group(*key, by_method[key]) for key in sorted(by_method)))


# --- returns ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ShippedLine:
    """An order line of an order that shipped in the period."""

    order_id: str
    sku: str
    quantity: int


@dataclass(frozen=True)
class ReturnedUnits:
    sku: str
    quantity: int


@dataclass(frozen=True)
class ReturnFact:
    rma: str
    order_id: str
    reason: str
    resolution: str  # refund | exchange
    acceptance: str  # pending | accepted | rejected
    refund: Money
    requested_at: datetime
    refunded_at: datetime | None
    lines: tuple[ReturnedUnits, ...]

    @property
    def units(self) -> int:
        return sum(line.quantity for line in self.lines)


@dataclass(frozen=True)
class SkuReturnRate:
    sku: str
    shipped: int
    returned: int
    rate: float | None  # None when none of it shipped in the period


@dataclass(frozen=True)
class ReasonCount:
    reason: str
    returns: int
    units: int


@dataclass(frozen=True)
class ReturnsReport:
    """Returns requested in the period, against the units shipped in it."""

    since: datetime
    until: datetime
    returns: int
    units: int
    by_sku: tuple[SkuReturnRate, ...]
    by_reason: tuple[ReasonCount, ...]
    refunded: tuple[Money, ...]
    time_to_refund: Durations
    by_acceptance: dict[str, int]
    by_resolution: dict[str, int]


def sku_return_rates(shipped: Iterable[ShippedLine], returns: Sequence[ReturnFact]
                     ) -> tuple[SkuReturnRate, ...]:
    """Highest return rate first; SKUs returned but not shipped in the period come last."""
    out: Counter[str] = Counter()
    for line in shipped:
        out[line.sku] += line.quantity
    back: Counter[str] = Counter()
    for fact in returns:
        for units in fact.lines:
            back[units.sku] += units.quantity
    rates = [SkuReturnRate(sku, out[sku], back[sku], rate(back[sku], out[sku]))
             for sku in out.keys() | back.keys()]
    return tuple(sorted(rates, key=lambda r: (r.rate is None, -(r.rate or 0), r.sku)))


def reason_counts(returns: Sequence[ReturnFact]) -> tuple[ReasonCount, ...]:
    """Most frequent reason first."""
    by_reason = group_by(returns, lambda r: r.reason)
    tally = [ReasonCount(reason, len(facts), sum(f.units for f in facts))
             for reason, facts in by_reason.items()]
    return tuple(sorted(tally, key=lambda c: (-c.returns, -c.units, c.reason)))


def returns_report(period: Period, shipped: Iterable[ShippedLine],
                   returns: Sequence[ReturnFact]) -> ReturnsReport:
    return ReturnsReport(
        period.since, period.until, returns=len(returns), units=sum(r.units for r in returns),
        by_sku=sku_return_rates(shipped, returns), by_reason=reason_counts(returns),
        refunded=money_totals(r.refund for r in returns if r.refund.amount),
        time_to_refund=durations((r.requested_at, r.refunded_at) for r in returns),
        by_acceptance=counts((r.acceptance for r in returns), [a.value for a in Acceptance]),
        by_resolution=counts((r.resolution for r in returns), [r.value for r in Resolution]))


# --- satisfaction ----------------------------------------------------------------------------

@dataclass(frozen=True)
class SurveyFact:
    """A survey sent in the period, with what else happened to its order."""

    order_id: str
    status: str  # sent | answered | expired
    sent_at: datetime
    rating: int | None = None
    comment: str = ""
    answered_at: datetime | None = None
    returned: bool = False  # the order has a return
    late: bool = False  # the order broke its ship or delivery SLA


@dataclass(frozen=True)
class Comment:
    order_id: str
    rating: int
    comment: str
    answered_at: datetime


@dataclass(frozen=True)
class RatingSplit:
    """The answered surveys of one kind of order, and their average rating."""

    answered: int
    average_rating: float | None


@dataclass(frozen=True)
class SatisfactionReport:
    """Surveys sent in the period: `open` ones are neither answered nor expired yet."""

    since: datetime
    until: datetime
    sent: int
    answered: int
    expired: int
    open: int
    response_rate: float | None  # answered / sent
    average_rating: float | None
    distribution: dict[int, int]
    recent_comments: tuple[Comment, ...]
    with_return: RatingSplit
    without_return: RatingSplit
    late: RatingSplit
    on_time: RatingSplit


def rating_split(answered: Iterable[SurveyFact]) -> RatingSplit:
    ratings = [s.rating for s in answered if s.rating is not None]
    return RatingSplit(len(ratings), mean(ratings))


def recent_comments(answered: Iterable[SurveyFact], limit: int = RECENT_COMMENTS
                    ) -> tuple[Comment, ...]:
    """The newest answers that say something, newest first."""
    said = [Comment(s.order_id, s.rating, s.comment, s.answered_at) for s in answered
            if s.comment.strip() and s.rating is not None and s.answered_at is not None]
    return tuple(sorted(said, key=lambda c: (c.answered_at, c.order_id), reverse=True)[:limit])


def satisfaction_report(period: Period, surveys: Sequence[SurveyFact]) -> SatisfactionReport:
    answered = [s for s in surveys if s.status == "answered" and s.rating is not None]
    expired = sum(s.status == "expired" for s in surveys)
    tally = Counter(s.rating for s in answered)
    return SatisfactionReport(
        period.since, period.until, sent=len(surveys), answered=len(answered), expired=expired,
        open=len(surveys) - len(answered) - expired,
        response_rate=rate(len(answered), len(surveys)),
        average_rating=rating_split(answered).average_rating,
        distribution={r: tally.get(r, 0) for r in RATINGS},
        recent_comments=recent_comments(answered),
        with_return=rating_split(s for s in answered if s.returned),
        without_return=rating_split(s for s in answered if not s.returned),
        late=rating_split(s for s in answered if s.late),
        on_time=rating_split(s for s in answered if not s.late))
