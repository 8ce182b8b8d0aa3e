"""simulator tables: the simulated payment gateway's and carriers' own state

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 22:01:28.132825

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "carriersim_shipments",
        sa.Column("tracking_number", sa.String(length=32), nullable=False),
        sa.Column("carrier", sa.String(length=32), nullable=False),
        sa.Column("idempotency_key", sa.String(), nullable=False),
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("address", sa.JSON(), nullable=False),
        sa.Column("parcels", sa.JSON(), nullable=False),
        sa.Column("label_url", sa.String(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tracking_number", name=op.f("pk_carriersim_shipments")),
        sa.UniqueConstraint("carrier", "idempotency_key", name="carrier_key"),
    )
    op.create_index(
        op.f("ix_carriersim_shipments_order_id"), "carriersim_shipments", ["order_id"]
    )
    op.create_table(
        "paysim_authorizations",
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("token", sa.String(), nullable=False),
        sa.Column("customer_id", sa.String(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("authorized", sa.Integer(), nullable=False),
        sa.Column("captured", sa.Integer(), nullable=False),
        sa.Column("refunded", sa.Integer(), nullable=False),
        sa.Column("voided", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("reference", name=op.f("pk_paysim_authorizations")),
    )
    op.create_index(
        op.f("ix_paysim_authorizations_customer_id"), "paysim_authorizations", ["customer_id"]
    )
    op.create_table(
        "paysim_gift_cards",
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("balance", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_paysim_gift_cards")),
    )
    op.create_table(
        "paysim_operations",
        sa.Column("idempotency_key", sa.String(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("request", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("authorization", sa.String(length=64), nullable=True),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("amount", sa.Integer(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("decline_code", sa.String(length=48), nullable=True),
        sa.Column("decline_message", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("idempotency_key", name=op.f("pk_paysim_operations")),
    )
    op.create_index(
        op.f("ix_paysim_operations_authorization"), "paysim_operations", ["authorization"]
    )
    op.create_table(
        "carriersim_events",
        sa.Column("tracking_number", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("location", sa.String(), nullable=False),
        sa.Column("description", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tracking_number"],
            ["carriersim_shipments.tracking_number"],
            name=op.f("fk_carriersim_events_tracking_number_carriersim_shipments"),
        ),
        sa.PrimaryKeyConstraint("tracking_number", "seq", name=op.f("pk_carriersim_events")),
    )


def downgrade() -> None:
    op.drop_table("carriersim_events")
    op.drop_index(op.f("ix_paysim_operations_authorization"), table_name="paysim_operations")
    op.drop_table("paysim_operations")
    op.drop_table("paysim_gift_cards")
    op.drop_index(
        op.f("ix_paysim_authorizations_customer_id"), table_name="paysim_authorizations"
    )
    op.drop_table("paysim_authorizations")
    op.drop_index(op.f("ix_carriersim_shipments_order_id"), table_name="carriersim_shipments")
    op.drop_table("carriersim_shipments")
