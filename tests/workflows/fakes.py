"""Fakes wrapped around the simulated gateway and carriers, for moments the simulators
cannot stage on their own: a call that is still in flight, a gateway that says no."""

from __future__ import annotations

import asyncio
from typing import Any

from activities.payments.gateway import PaymentDeclined


class Held:
    """Wraps a gateway or carrier: calls to `method` wait until the test opens the gate,
    so the test can act while the workflow's activity is in flight."""

    def __init__(self, inner: Any, method: str) -> None:
        self._inner, self._method = inner, method
        self.reached, self.opened = asyncio.Event(), asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if name != self._method:
            return attribute

        async def held(**kwargs: Any) -> Any:
            self.reached.set()
            await self.opened.wait()
            return await attribute(**kwargs)

        return held


class RefusingRefunds:
    """A gateway that takes payments but declines every refund, as issuers do for a closed
    card account."""

    REFUSAL = "account_closed: the card account is closed; refund by bank transfer"

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def refund(self, **kwargs: Any) -> Any:
        raise PaymentDeclined("account_closed",
                              "the card account is closed; refund by bank transfer")
