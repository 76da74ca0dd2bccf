"""the service list's indexes: name order, whole or by state, tier or team; teams by
name; submitted reviews oldest first (a consultant's queue); a person's teams

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 15:00:00
"""
from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

INDEXES = {
    'ix_service_name': ['name', 'id'],
    'ix_service_state_name': ['state', 'name', 'id'],
    'ix_service_state_tier_name': ['state', 'tier', 'name', 'id'],
    'ix_service_tier_name': ['tier', 'name', 'id'],
    'ix_service_team_name': ['team_id', 'name', 'id'],
}


def upgrade():
    # Not batch mode: on SQLite that would recreate `service` under 0008's triggers.
    for name, columns in INDEXES.items():
        op.create_index(name, 'service', columns, unique=False)
    op.create_index('ix_team_name', 'team', ['name'], unique=False)
    op.create_index('ix_review_state_submitted', 'review', ['state', 'submitted_at', 'id'],
                    unique=False)
    op.create_index('ix_team_membership_user_id', 'team_membership', ['user_id'],
                    unique=False)


def downgrade():
    op.drop_index('ix_team_membership_user_id', table_name='team_membership')
    op.drop_index('ix_review_state_submitted', table_name='review')
    op.drop_index('ix_team_name', table_name='team')
    for name in INDEXES:
        op.drop_index(name, table_name='service')
