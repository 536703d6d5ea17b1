"""web records: triage corrections and reviews of sampled ok replies

(The audit index by entity that the audit page uses is created by 0005.)

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import reminders.models


revision = '0006'
down_revision = '0005'  # 0001 in the brief; chained after webapp's 0005 once merged (one head)
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('triage_correction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.Column('queue_item_id', sa.Integer(), nullable=True),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('triage_level', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('corrected_level', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('at', reminders.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], ),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], ),
    sa.ForeignKeyConstraint(['queue_item_id'], ['queue_item.id'], ),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id')
    )
    with op.batch_alter_table('triage_correction', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_triage_correction_clinic_id'), ['clinic_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('triage_correction', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_triage_correction_clinic_id'))
    op.drop_table('triage_correction')
