"""catalog_import: each run of the catalog import, for the admin page

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 15:55:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('catalog_import',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('run_by', sa.String(length=200), nullable=False),
    sa.Column('sources', sa.JSON(), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('error_count', sa.Integer(), nullable=False),
    sa.Column('errors', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_import'))
    )
    op.create_index(op.f('ix_catalog_import_started_at'), 'catalog_import', ['started_at'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_catalog_import_started_at'), table_name='catalog_import')
    op.drop_table('catalog_import')
