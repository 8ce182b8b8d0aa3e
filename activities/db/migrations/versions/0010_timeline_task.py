"""timeline events remember the workflow task that noted them, so the path the workflow takes
supersedes events of a task that never completed

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rows written before this revision count as the oldest task: any later path wins.
    op.add_column("order_events", sa.Column("task", sa.Integer(), nullable=False,
                                            server_default="0"))


def downgrade() -> None:
    op.drop_column("order_events", "task")
