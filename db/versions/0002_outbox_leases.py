"""outbox leases on the database clock, fencing tokens, priority, retries, early
status callbacks and the shared per-sender send rate

Revision ID: 0002
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import reminders.models


revision = '0002'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('message') as batch:
        batch.add_column(sa.Column('claim_token', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch.add_column(sa.Column('lease_until', reminders.models.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('priority', sa.Integer(), server_default='5', nullable=False))
        batch.add_column(sa.Column('next_attempt_at', reminders.models.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('lookups', sa.Integer(), server_default='0', nullable=False))
    op.create_index('ix_message_status_priority_id', 'message', ['status', 'priority', 'id'], unique=False)
    op.create_table('early_status',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('error_code', sa.Integer(), nullable=True),
    sa.Column('received_at', reminders.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_early_status_sid'), 'early_status', ['sid'], unique=False)
    op.create_table('send_rate',
    sa.Column('sender', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('next_slot_at', reminders.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sender')
    )


def downgrade() -> None:
    op.drop_table('send_rate')
    op.drop_index(op.f('ix_early_status_sid'), table_name='early_status')
    op.drop_table('early_status')
    op.drop_index('ix_message_status_priority_id', table_name='message')
    with op.batch_alter_table('message') as batch:
        batch.drop_column('lookups')
        batch.drop_column('next_attempt_at')
        batch.drop_column('priority')
        batch.drop_column('lease_until')
        batch.drop_column('claim_token')
