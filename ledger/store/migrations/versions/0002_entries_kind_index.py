"""Index entries by kind, so key and erasure entries are found without a full scan.

Verification reads every key-rotation, key-revocation and erasure entry
before anything else; on a ledger of millions of entries an incremental run
would otherwise spend most of its time scanning for those few rows.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("entries_kind", "entries", ["kind", "seq"])


def downgrade() -> None:
    op.drop_index("entries_kind", table_name="entries")
