"""Money as integer minor units with a currency: never a float."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from domain.errors import InvalidMoney

# ISO 4217 minor-unit exponents of the currencies fulfil knows.
CURRENCY_EXPONENTS: dict[str, int] = {
    "EUR": 2, "USD": 2, "GBP": 2, "CHF": 2, "SEK": 2, "DKK": 2, "PLN": 2, "NOK": 2,
    "CZK": 2, "CAD": 2, "AUD": 2, "JPY": 0, "KRW": 0, "KWD": 3,
}


def exponent(currency: str) -> int:
    try:
        return CURRENCY_EXPONENTS[currency]
    except KeyError:
        raise InvalidMoney(f"unknown currency {currency!r}") from None


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in the smallest unit of its currency (cents for EUR)."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, int) or isinstance(self.amount, bool):
            raise InvalidMoney(f"amount must be an integer of minor units, got {self.amount!r}")
        exponent(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def parse(cls, text: str, currency: str) -> Money:
        """Reads a decimal string such as "19.99" into minor units, refusing extra digits."""
        try:
            value = Decimal(str(text).strip())
        except InvalidOperation:
            raise InvalidMoney(f"{text!r} is not an amount") from None
        if not value.is_finite():
            raise InvalidMoney(f"{text!r} is not an amount")
        scaled = value.scaleb(exponent(currency))
        if scaled != scaled.to_integral_value():
            raise InvalidMoney(f"{text!r} has more decimals than {currency} allows")
        return cls(int(scaled), currency)

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise InvalidMoney(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor: int) -> Money:
        return Money(self.amount * factor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def to_decimal(self) -> Decimal:
        return Decimal(self.amount).scaleb(-exponent(self.currency))

    def __str__(self) -> str:
        places = exponent(self.currency)
        return f"{self.to_decimal():.{places}f} {self.currency}"
