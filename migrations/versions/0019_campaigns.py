"""campaign and campaign_service: rolling a checklist out by a deadline

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 06:55:23
"""
from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('campaign',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('checklist_id', sa.String(length=64), nullable=False),
    sa.Column('min_version', sa.Integer(), nullable=False),
    sa.Column('tiers', sa.JSON(), nullable=False),
    sa.Column('teams', sa.JSON(), nullable=False),
    sa.Column('states', sa.JSON(), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_campaign_created_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign'))
    )
    op.create_index(op.f('ix_campaign_deadline'), 'campaign', ['deadline'], unique=False)
    op.create_table('campaign_service',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_campaign_service_campaign_id_campaign')),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_campaign_service_service_id_service')),
    sa.PrimaryKeyConstraint('campaign_id', 'service_id', name=op.f('pk_campaign_service'))
    )
    op.create_index('ix_campaign_service_service', 'campaign_service', ['service_id', 'campaign_id'], unique=False)


def downgrade():
    op.drop_index('ix_campaign_service_service', table_name='campaign_service')
    op.drop_table('campaign_service')
    op.drop_index(op.f('ix_campaign_deadline'), table_name='campaign')
    op.drop_table('campaign')
