"""catalog_file_reading: what each descriptor file mapped to, for the next import

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 17:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('catalog_file_reading',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('reading', sa.JSON(), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_catalog_file_reading'))
    )
    op.create_index(op.f('ix_catalog_file_reading_last_used_at'), 'catalog_file_reading', ['last_used_at'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_catalog_file_reading_last_used_at'), table_name='catalog_file_reading')
    op.drop_table('catalog_file_reading')
