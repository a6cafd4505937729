"""Listing indexes: postings in the lists' order

Revision ID: 17ec4903eda5
Revises: 20e1cb44022f
Create Date: 2026-12-03 11:52:17.798149

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "17ec4903eda5"
down_revision = "20e1cb44022f"
branch_labels = None
depends_on = None


TABLES = ("demand", "offering")


def upgrade():
    # The lists show one status newest first (coalesce(published_at, created_at), then id): with this
    # index a page reads its twenty rows in order instead of sorting every posting of that status.
    for table in TABLES:
        op.create_index(
            f"ix_{table}_listing",
            table,
            ["status", sa.text("coalesce(published_at, created_at)"), "id"],
        )


def downgrade():
    for table in TABLES:
        op.drop_index(f"ix_{table}_listing", table_name=table)
