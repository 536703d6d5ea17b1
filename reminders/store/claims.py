"""Claims: a batch of rows taken by one process, atomically, on SQLite and PostgreSQL.

PostgreSQL: `FOR UPDATE SKIP LOCKED` in the same transaction as the update, so several
workers take disjoint batches without waiting on each other. SQLite: every transaction
starts with BEGIN IMMEDIATE (see db.py), so the select-then-update runs under the one
write lock and cannot interleave with another claimer.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from reminders.models import CheckIn, Message, Patient

# A patient who texted in the last 10 minutes is in the middle of an exchange.
EXCHANGE_WINDOW = timedelta(minutes=10)


def claim_due_checkins(session: Session, now: datetime, limit: int) -> list[CheckIn]:
    """The newest due check-in of each active patient, locked for this transaction.

    Older due check-ins of the same patient are left for `skip_superseded`: after an
    outage only the newest is sent.
    """
    later = sa.orm.aliased(CheckIn)
    newer_due_exists = (
        select(later.id)
        .where(later.patient_id == CheckIn.patient_id, later.status == "planned",
               later.due_at <= now, later.due_at > CheckIn.due_at)
        .exists()
    )
    statement = (
        select(CheckIn)
        .join(Patient, Patient.id == CheckIn.patient_id)
        .where(
            CheckIn.status == "planned",
            CheckIn.due_at <= now,
            Patient.status == "active",
            sa.or_(Patient.last_inbound_at.is_(None),  # type: ignore[union-attr]
                   Patient.last_inbound_at < now - EXCHANGE_WINDOW),
            ~newer_due_exists,
        )
        .order_by(CheckIn.due_at)  # type: ignore[arg-type]
        .limit(limit)
        .with_for_update(of=CheckIn, skip_locked=True)
    )
    return list(session.exec(statement))


def skip_superseded(session: Session, claimed: list[CheckIn], now: datetime) -> int:
    """Mark the older due check-ins of these patients skipped; returns how many.

    Each claimed check-in is its patient's newest due one, so every other planned, due
    check-in of those patients is older.
    """
    if not claimed:
        return 0
    result = session.execute(
        sa.update(CheckIn)
        .where(CheckIn.patient_id.in_({c.patient_id for c in claimed}),  # type: ignore[attr-defined]
               CheckIn.status == "planned", CheckIn.due_at <= now,
               CheckIn.id.not_in([c.id for c in claimed]))  # type: ignore[union-attr]
        .values(status="skipped")
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def claim_pending_messages(
    session: Session, now: datetime, limit: int, worker: str
) -> list[Message]:
    """Outbound messages ready to send, marked `sending` by this worker."""
    statement = (
        select(Message)
        .where(Message.direction == "outbound", Message.status == "pending",
               sa.or_(Message.send_after.is_(None), Message.send_after <= now))  # type: ignore[union-attr]
        .order_by(Message.id)  # type: ignore[arg-type]
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    messages = list(session.exec(statement))
    for message in messages:
        message.status = "sending"
        message.claimed_at = now
        message.claimed_by = worker
        message.attempts += 1
    session.flush()
    return messages


def stale_sending(session: Session, now: datetime, lease: timedelta, limit: int) -> list[Message]:
    """Messages a sender claimed longer ago than the lease: their worker died mid-send."""
    statement = (
        select(Message)
        .where(Message.direction == "outbound", Message.status == "sending",
               Message.claimed_at < now - lease)  # type: ignore[operator]
        .order_by(Message.id)  # type: ignore[arg-type]
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.exec(statement))
