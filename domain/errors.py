"""Errors the business rules raise; each carries a reason a person can act on."""


class DomainError(Exception):
    """A request that breaks a business rule."""


class InvalidOrder(DomainError):
    """A checkout payload that cannot become an order; `field` names the (first) culprit and
    `more` any further (field, message) pairs found in the same check."""

    def __init__(self, field: str, message: str, *,
                 more: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__("; ".join(f"{f}: {m}" for f, m in ((field, message), *more)))
        self.field = field
        self.message = message
        self.more = more


class ActionRefused(DomainError):
    """A support action (cancel, refund) that the order's state does not allow."""


class OutOfStock(DomainError):
    """Not enough salable stock across the warehouses to fill the order."""


class InvalidMoney(DomainError):
    """An amount that is not a valid sum in its currency."""


class InvalidStockChange(DomainError):
    """A receipt, adjustment or stock policy that the stock rules refuse."""


class CampaignConflict(DomainError):
    """A campaign that would hold stock another campaign holds over an overlapping period."""


class InvalidRequest(InvalidOrder):
    """A return, receipt, rating or decision whose `field` is malformed; nothing was sent."""
