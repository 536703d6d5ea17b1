"""ops: reply triage level and body erasure on message; scheduler heartbeats

Revision ID: 0008
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import reminders.models


revision = '0008'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('triage_level', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True))
        batch_op.add_column(sa.Column('body_erased_at', reminders.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_message_direction_triage_level', ['direction', 'triage_level'], unique=False)
    op.create_table('scheduler_heartbeat',
    sa.Column('process', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('started_at', reminders.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('beat_at', reminders.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('process')
    )
    with op.batch_alter_table('scheduler_heartbeat', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scheduler_heartbeat_beat_at'), ['beat_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('scheduler_heartbeat', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scheduler_heartbeat_beat_at'))
    op.drop_table('scheduler_heartbeat')
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_index('ix_message_direction_triage_level')
        batch_op.drop_column('body_erased_at')
        batch_op.drop_column('triage_level')
