"""services from the catalog: service.from_catalog and service.catalog_lifecycle

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 15:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    # Not batch mode: on SQLite that would recreate `service` under 0008's triggers.
    op.add_column('service', sa.Column('from_catalog', sa.Boolean(), server_default=sa.false(),
                                       nullable=False))
    op.add_column('service', sa.Column('catalog_lifecycle', sa.String(length=40), nullable=True))


def downgrade():
    op.execute('ALTER TABLE service DROP COLUMN catalog_lifecycle')
    op.execute('ALTER TABLE service DROP COLUMN from_catalog')
