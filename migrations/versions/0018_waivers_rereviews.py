"""waiver; answer.carried_from_id and review.previous_review_id: waivers and re-reviews

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 06:25:35
"""
from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('waiver',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('control', sa.Text(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('in_force', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.CheckConstraint("state IN ('requested', 'granted', 'refused', 'withdrawn')", name=op.f('ck_waiver_state_valid')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], name=op.f('fk_waiver_decided_by_id_user')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user.id'], name=op.f('fk_waiver_requested_by_id_user')),
    sa.ForeignKeyConstraint(['review_id'], ['review.id'], name=op.f('fk_waiver_review_id_review')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waiver'))
    )
    op.create_index(op.f('ix_waiver_review_id'), 'waiver', ['review_id'], unique=False)
    op.create_index('ix_waiver_in_force_expires', 'waiver', ['in_force', 'expires_on', 'id'], unique=False)
    # Plain ADD COLUMNs (no batch copy): the review table's triggers stay as they are.
    op.add_column('answer', sa.Column('carried_from_id', sa.Integer(), nullable=True))
    op.add_column('review', sa.Column('previous_review_id', sa.Integer(), nullable=True))


def downgrade():
    op.drop_column('review', 'previous_review_id')
    op.drop_column('answer', 'carried_from_id')
    op.drop_index('ix_waiver_in_force_expires', table_name='waiver')
    op.drop_index(op.f('ix_waiver_review_id'), table_name='waiver')
    op.drop_table('waiver')
