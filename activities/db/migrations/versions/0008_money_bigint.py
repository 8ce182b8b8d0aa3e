"""money and running stock sums as BIGINT: an order's total could pass 2^31 minor units

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Minor units of money, and the stock levels that add up receipts and reservations.
WIDENED: dict[str, tuple[str, ...]] = {
    "products": ("price",),
    "shipping_methods": ("price",),
    "orders": ("subtotal", "shipping_cost", "grand_total"),
    "order_lines": ("unit_price",),
    "payments": ("amount",),
    "carrier_claims": ("amount",),
    "returns": ("refund_amount",),
    "return_lines": ("unit_price",),
    "stock_levels": ("on_hand", "reserved"),
    "paysim_authorizations": ("authorized", "captured", "refunded"),
    "paysim_operations": ("amount",),
    "paysim_gift_cards": ("balance",),
}


def upgrade() -> None:
    for table, columns in WIDENED.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(column, type_=sa.BigInteger(), existing_type=sa.Integer())


def downgrade() -> None:
    # Fails (NumericValueOutOfRange) while any row holds a value beyond 32 bits, as it should.
    for table, columns in WIDENED.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(column, type_=sa.Integer(), existing_type=sa.BigInteger())
