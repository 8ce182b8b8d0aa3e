"""aftercare: shipment progress, carrier claims, returns, surveys

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('carrier_claims',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.String(), nullable=False),
    sa.Column('carrier', sa.String(length=32), nullable=False),
    sa.Column('tracking_number', sa.String(), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('filed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_carrier_claims')),
    sa.UniqueConstraint('tracking_number', name=op.f('uq_carrier_claims_tracking_number'))
    )
    op.create_index(op.f('ix_carrier_claims_order_id'), 'carrier_claims', ['order_id'], unique=False)
    op.create_table('returns',
    sa.Column('rma', sa.String(length=80), nullable=False),
    sa.Column('order_id', sa.String(), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('comment', sa.String(), nullable=False),
    sa.Column('resolution', sa.String(length=16), nullable=False),
    sa.Column('reception', sa.String(length=16), nullable=False),
    sa.Column('acceptance', sa.String(length=16), nullable=False),
    sa.Column('rejection_reason', sa.String(), nullable=False),
    sa.Column('carrier', sa.String(length=32), nullable=False),
    sa.Column('tracking_number', sa.String(), nullable=False),
    sa.Column('label_url', sa.String(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('refund_amount', sa.Integer(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('refunded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('rma', name=op.f('pk_returns'))
    )
    op.create_index(op.f('ix_returns_order_id'), 'returns', ['order_id'], unique=False)
    op.create_index('ix_returns_requested_at', 'returns', ['requested_at'], unique=False)
    op.create_table('surveys',
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('comment', sa.String(), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('rating IS NULL OR rating BETWEEN 1 AND 5', name=op.f('ck_surveys_rating_in_range')),
    sa.PrimaryKeyConstraint('order_id', name=op.f('pk_surveys'))
    )
    op.create_table('return_lines',
    sa.Column('rma', sa.String(length=80), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_price', sa.Integer(), nullable=False),
    sa.Column('warehouse', sa.String(length=16), nullable=False),
    sa.Column('resellable', sa.Integer(), nullable=False),
    sa.Column('damaged', sa.Integer(), nullable=False),
    sa.Column('exchange_sku', sa.String(length=64), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_return_lines_quantity_positive')),
    sa.CheckConstraint('resellable + damaged <= quantity', name=op.f('ck_return_lines_inspected_within_quantity')),
    sa.ForeignKeyConstraint(['rma'], ['returns.rma'], name=op.f('fk_return_lines_rma_returns')),
    sa.PrimaryKeyConstraint('rma', 'sku', name=op.f('pk_return_lines'))
    )
    op.add_column('shipments', sa.Column('warehouse', sa.String(length=16), server_default='', nullable=False))
    op.add_column('shipments', sa.Column('purpose', sa.String(length=16), server_default='outbound', nullable=False))
    op.add_column('shipments', sa.Column('shipped_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('shipments', sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('shipments', sa.Column('exception', sa.String(length=32), server_default='', nullable=False))
    op.add_column('shipments', sa.Column('exception_count', sa.Integer(), server_default='0', nullable=False))
    op.add_column('orders', sa.Column('ship_sla_breached', sa.Boolean(), server_default='false', nullable=False))
    op.add_column('orders', sa.Column('delivery_sla_breached', sa.Boolean(), server_default='false', nullable=False))
    op.add_column('carriersim_shipments', sa.Column('kind', sa.String(length=16), server_default='outbound', nullable=False))
    op.add_column('carriersim_shipments', sa.Column('rma', sa.String(), server_default='', nullable=False))


def downgrade() -> None:
    op.drop_column('carriersim_shipments', 'rma')
    op.drop_column('carriersim_shipments', 'kind')
    op.drop_column('orders', 'delivery_sla_breached')
    op.drop_column('orders', 'ship_sla_breached')
    op.drop_column('shipments', 'exception_count')
    op.drop_column('shipments', 'exception')
    op.drop_column('shipments', 'delivered_at')
    op.drop_column('shipments', 'shipped_at')
    op.drop_column('shipments', 'purpose')
    op.drop_column('shipments', 'warehouse')
    op.drop_table('return_lines')
    op.drop_table('surveys')
    op.drop_index('ix_returns_requested_at', table_name='returns')
    op.drop_index(op.f('ix_returns_order_id'), table_name='returns')
    op.drop_table('returns')
    op.drop_index(op.f('ix_carrier_claims_order_id'), table_name='carrier_claims')
    op.drop_table('carrier_claims')
