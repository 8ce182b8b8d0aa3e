"""reservation lines settle per warehouse

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("reservation_lines", sa.Column("status", sa.String(length=16),
                                                 server_default="held", nullable=False))
    # Lines of reservations that already ended take their reservation's status.
    op.execute("UPDATE reservation_lines AS l SET status = r.status FROM reservations AS r "
               "WHERE r.id = l.reservation_id")


def downgrade() -> None:
    op.drop_column("reservation_lines", "status")
