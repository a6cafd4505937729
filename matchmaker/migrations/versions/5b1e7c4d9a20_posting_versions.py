"""Posting versions: an edit made from a stale form is refused instead of overwriting a newer one

Revision ID: 5b1e7c4d9a20
Revises: 5ec0a11d7e57
Create Date: 2026-12-02 18:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5b1e7c4d9a20'
down_revision = '5ec0a11d7e57'
branch_labels = None
depends_on = None


def upgrade():
    for table in ('demand', 'offering'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))


def downgrade():
    for table in ('offering', 'demand'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('version')
