"""workflow_repairs: the workflows the repairer found wedged and what it did about each

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "workflow_repairs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workflow_id", sa.String(200), nullable=False),
        sa.Column("broken_run_id", sa.String(64), nullable=False),
        sa.Column("workflow_type", sa.String(100), nullable=False),
        sa.Column("problem", sa.String(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reset_to", sa.Integer(), nullable=True),
        sa.Column("new_run_id", sa.String(64), nullable=True),
        sa.Column("forgotten_events", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_repairs")),
        sa.UniqueConstraint("workflow_id", "broken_run_id", name="workflow_repairs_run"),
    )
    op.create_index(op.f("ix_workflow_repairs_workflow_id"), "workflow_repairs",
                    ["workflow_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_workflow_repairs_workflow_id"), table_name="workflow_repairs")
    op.drop_table("workflow_repairs")
