"""latest fact per service and name; review indexes for the dashboard

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 19:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('latest_fact',
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('observed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=120), nullable=False),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_latest_fact_service_id_service')),
    sa.PrimaryKeyConstraint('service_id', 'name', name=op.f('pk_latest_fact'))
    )
    # The newest reading of every (service, name) already stored; ties cannot happen
    # because (service_id, name, observed_at) is unique.
    op.execute(
        "INSERT INTO latest_fact (service_id, name, value, observed_at, source) "
        "SELECT f.service_id, f.name, f.value, f.observed_at, f.source FROM fact f "
        "JOIN (SELECT service_id, name, max(observed_at) AS at FROM fact "
        "GROUP BY service_id, name) m ON m.service_id = f.service_id AND m.name = f.name "
        "AND m.at = f.observed_at")

    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.create_index('ix_review_service_state_approved',
                              ['service_id', 'state', 'approved_at'], unique=False)
        batch_op.create_index('ix_review_state_approved_submitted',
                              ['state', 'approved_at', 'first_submitted_at'], unique=False)


def downgrade():
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.drop_index('ix_review_state_approved_submitted')
        batch_op.drop_index('ix_review_service_state_approved')
    op.drop_table('latest_fact')
