"""orders needing attention: a flag on the order and what failed beyond any retry

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("attention", sa.Boolean(), nullable=False,
                                      server_default="false"))
    op.create_table(
        "order_attention",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("workflow_id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=64), nullable=False),
        sa.Column("error_type", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.String(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_attention")),
        sa.UniqueConstraint("order_id", "seq", name="order_attention_seq"),
    )
    op.create_index(op.f("ix_order_attention_order_id"), "order_attention", ["order_id"],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_order_attention_order_id"), table_name="order_attention")
    op.drop_table("order_attention")
    op.drop_column("orders", "attention")
