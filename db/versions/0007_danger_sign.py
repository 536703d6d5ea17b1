"""the danger-sign question on queue items

Revision ID: 0007
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import reminders.models


revision = '0007'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('queue_item') as batch:
        batch.add_column(sa.Column('danger_asked_at', reminders.models.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('danger_message_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('danger_answer', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True))
        batch.add_column(sa.Column('danger_answered_at', reminders.models.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('queue_item') as batch:
        batch.drop_column('danger_answered_at')
        batch.drop_column('danger_answer')
        batch.drop_column('danger_message_id')
        batch.drop_column('danger_asked_at')
