"""services in production per the catalog and never launched: an index range

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 15:45:00
"""
from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_service_catalog_production', 'service',
                    ['state', 'catalog_lifecycle', 'name', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_service_catalog_production', table_name='service')
