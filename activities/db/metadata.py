"""Every mapped table, imported so Alembic and the tests see one complete metadata."""

from activities.db import tables  # noqa: F401
from activities.db.base import Base

metadata = Base.metadata
