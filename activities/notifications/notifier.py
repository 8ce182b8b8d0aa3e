"""What fulfil needs from a notification provider. Every send carries an idempotency key: the
provider answers a repeated key with the first message's id and never sends it twice."""

from __future__ import annotations

from typing import Protocol


class NotificationUnavailable(Exception):
    """A transient failure (timeout, 5xx, rate limit): the same send may be retried."""


class NotificationRejected(Exception):
    """The provider refused the message for good (the address bounces); retrying will not help."""


class Notifier(Protocol):
    async def send(self, *, idempotency_key: str, recipient: str, subject: str, body: str,
                   template: str) -> str:
        """Sends one message; returns the provider's message id."""
        ...
