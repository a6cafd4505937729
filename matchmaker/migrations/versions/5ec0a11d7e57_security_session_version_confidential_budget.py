"""Security: accounts' session version (raised on each password change), demands' confidential budget

Existing accounts start at version 0; their open sessions (which carry the bare account id) end once, and
their owners sign in again. Existing demands keep their budgets public.

Revision ID: 5ec0a11d7e57
Revises: 2efd04ac46c2
Create Date: 2026-12-02 18:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5ec0a11d7e57'
down_revision = '2efd04ac46c2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('demand', schema=None) as batch_op:
        batch_op.add_column(sa.Column('budget_confidential', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('demand', schema=None) as batch_op:
        batch_op.drop_column('budget_confidential')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('session_version')
