"""review.approved_tier: the service's tier when a review was approved (re-reviews)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 19:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN (no batch copy): the review table's triggers stay as they are.
    op.add_column('review', sa.Column('approved_tier', sa.Integer(), nullable=True))


def downgrade():
    op.drop_column('review', 'approved_tier')
