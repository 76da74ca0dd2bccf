"""versions of reviews and answers

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 17:57:44.893291
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version_id', sa.Integer(), server_default='1', nullable=False))

    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('version_id', sa.Integer(), server_default='1', nullable=False))
    # Existing reviews were last changed, as far as we know, when they were made.
    op.execute("UPDATE review SET updated_at = created_at")
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.alter_column('updated_at', existing_type=sa.DateTime(timezone=True),
                              nullable=False)



def downgrade():
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.drop_column('version_id')
        batch_op.drop_column('updated_at')

    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.drop_column('version_id')

