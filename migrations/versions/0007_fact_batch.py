"""fact.batch: the call that stored a fact, named in its fact:record audit entry

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 15:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    # Facts stored before this have none: `audit verify` covers facts from here on.
    with op.batch_alter_table('fact', schema=None) as batch_op:
        batch_op.add_column(sa.Column('batch', sa.BigInteger(), nullable=True))


def downgrade():
    with op.batch_alter_table('fact', schema=None) as batch_op:
        batch_op.drop_column('batch')
