"""Every mapped table, imported so Alembic and the tests see one complete metadata."""

from activities.carriers import sim_tables as carrier_sim_tables  # noqa: F401
from activities.db import (  # noqa: F401
    aftercare_tables,
    attention_tables,
    outbox_tables,
    repair_tables,
    tables,
)
from activities.db.base import Base
from activities.notifications import sim_tables as notify_sim_tables  # noqa: F401
from activities.payments import sim_tables as payment_sim_tables  # noqa: F401

metadata = Base.metadata
