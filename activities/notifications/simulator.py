"""A notification provider that behaves like a real one and keeps its sent book in PostgreSQL.

The book outlives any worker process, so a test can kill a worker mid-send and still ask the
provider how often a message went out. A recipient at `@bounce.example` is refused for good;
`transient_failure_rate` makes that share of calls fail before the provider sees them.
"""

from __future__ import annotations

import random
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from activities.db.engine import SessionFactory
from activities.notifications.notifier import NotificationRejected, NotificationUnavailable
from activities.notifications.sim_tables import NotifysimMessageRow
from activities.simulated_network import SimulatedNetwork

BOUNCE_DOMAIN = "@bounce.example"


@dataclass(frozen=True)
class SentMessage:
    """A message as the provider's dashboard shows it."""

    idempotency_key: str
    message_id: str
    recipient: str
    template: str
    subject: str
    body: str
    sent_at: datetime


class SimulatedNotifier:
    """A Notifier over a pretend network whose book is the `notifysim_messages` table."""

    def __init__(
        self,
        session_factory: SessionFactory,
        *,
        latency_ms: int = 30,
        transient_failure_rate: float = 0.0,
        rng: random.Random | None = None,
    ) -> None:
        self._sessions = session_factory
        self._network_link = SimulatedNetwork(latency_ms, transient_failure_rate,
                                              rng or random.Random())

    async def send(self, *, idempotency_key: str, recipient: str, subject: str, body: str,
                   template: str) -> str:
        await self._network()
        if recipient.lower().endswith(BOUNCE_DOMAIN):
            raise NotificationRejected(f"{recipient} bounced: mailbox does not exist")
        message = NotifysimMessageRow
        async with self._sessions.begin() as session:
            message_id = await session.scalar(
                insert(message)
                .values(idempotency_key=idempotency_key,
                        message_id=f"msg_{secrets.token_hex(12)}", recipient=recipient,
                        template=template, subject=subject, body=body)
                .on_conflict_do_nothing(index_elements=["idempotency_key"])
                .returning(message.message_id)
            )
            if message_id is None:
                first = await session.get(message, idempotency_key)
                assert first is not None
                _require_same(first, recipient, subject)
                message_id = first.message_id
        return message_id

    async def sent(self, *, order_id: str | None = None,
                   recipient: str | None = None) -> list[SentMessage]:
        """What went out, oldest first: to a recipient, and/or naming an order in the subject."""
        message = NotifysimMessageRow
        query = select(message).order_by(message.sent_at, message.idempotency_key)
        if recipient is not None:
            query = query.where(message.recipient == recipient)
        if order_id is not None:
            query = query.where(message.subject.contains(order_id, autoescape=True))
        async with self._sessions() as session:
            rows = (await session.scalars(query)).all()
        # The provider knows messages by their text; fulfil names the order in every subject.
        # "ORD-1" must not find the messages of "ORD-10".
        names = _names(order_id) if order_id is not None else None
        return [_sent(row) for row in rows if names is None or names.search(row.subject)]

    async def _network(self) -> None:
        """A round trip's delay, and now and then a failure before the provider sees the call."""
        await self._network_link.round_trip(NotificationUnavailable)


def _require_same(first: NotifysimMessageRow, recipient: str, subject: str) -> None:
    if (first.recipient, first.subject) != (recipient, subject):
        raise NotificationRejected(
            f"idempotency key {first.idempotency_key!r} was first used for another message")


def _names(order_id: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-]){re.escape(order_id)}(?![\w-])")


def _sent(row: NotifysimMessageRow) -> SentMessage:
    return SentMessage(row.idempotency_key, row.message_id, row.recipient, row.template,
                       row.subject, row.body, row.sent_at)
