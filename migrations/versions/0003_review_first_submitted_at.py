"""first submission time of a review

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 17:18:17.622656
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_submitted_at', sa.DateTime(timezone=True), nullable=True))
    # Reviews submitted before this column existed: their latest submission is the best known.
    op.execute("UPDATE review SET first_submitted_at = submitted_at WHERE submitted_at IS NOT NULL")



def downgrade():
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.drop_column('first_submitted_at')

