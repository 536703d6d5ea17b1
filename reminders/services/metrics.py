"""The figures /metrics shows, read from the database (the source of truth).

Every process reads the same rows, so any web process answers the same for the whole
deployment, workers included, with no shared metrics directory. Counts only: no
phone number, body or name is read here, and no label carries one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from reminders.models import CheckIn, Message, Patient, QueueItem
from reminders.services import heartbeat


@dataclass
class Snapshot:
    outbound_by_status: dict[str, int] = field(default_factory=dict)
    sent: int = 0  # accepted by the provider (a SID was recorded)
    replies_by_level: dict[str, int] = field(default_factory=dict)
    replies_untriaged: int = 0
    queue_by_level_status: dict[tuple[str, str], int] = field(default_factory=dict)
    queue_oldest_open_seconds: dict[str, float] = field(default_factory=dict)
    dispatch_lag_seconds: float = 0.0
    outbox_pending: int = 0
    outbox_lag_seconds: float = 0.0
    heartbeats: dict[str, tuple[str, float]] = field(default_factory=dict)  # process -> (role, age)


def snapshot(session: Session, now: datetime) -> Snapshot:
    found = Snapshot()
    for status, count in session.exec(
            select(Message.status, sa.func.count()).where(Message.direction == "outbound")
            .group_by(Message.status)).all():
        found.outbound_by_status[status] = count
    # Outbound messages with a SID: every SID, minus the replies' (a reply always has one,
    # Twilio's MessageSid). Two index-only counts instead of a scan of the message table.
    all_sids = session.exec(select(sa.func.count(Message.provider_sid))).one()
    replies = session.exec(select(sa.func.count()).where(Message.direction == "inbound")).one()
    found.sent = all_sids - replies
    for level, count in session.exec(
            select(Message.triage_level, sa.func.count())
            .where(Message.direction == "inbound", Message.triage_level.is_not(None))  # type: ignore[union-attr]
            .group_by(Message.triage_level)).all():
        found.replies_by_level[level] = count
    found.replies_untriaged = session.exec(select(sa.func.count()).where(
        Message.direction == "inbound", Message.status == "received")).one()

    for level, status, count, oldest in session.exec(
            select(QueueItem.level, QueueItem.status, sa.func.count(), sa.func.min(QueueItem.opened_at))
            .where(QueueItem.status != "resolved").group_by(QueueItem.level, QueueItem.status)).all():
        found.queue_by_level_status[(level, status)] = count
        if status == "open" and oldest is not None:
            found.queue_oldest_open_seconds[level] = _age(now, oldest)

    # How late the oldest due check-in is (active patients: a paused plan is not late).
    oldest_due = session.exec(
        select(sa.func.min(CheckIn.due_at)).join(Patient, Patient.id == CheckIn.patient_id)
        .where(CheckIn.status == "planned", CheckIn.due_at <= now, Patient.status == "active")).one()
    found.dispatch_lag_seconds = _age(now, oldest_due) if oldest_due is not None else 0.0
    ready = sa.or_(Message.send_after.is_(None), Message.send_after <= now)  # type: ignore[union-attr]
    pending = session.exec(select(sa.func.count(), sa.func.min(Message.created_at)).where(
        Message.direction == "outbound", Message.status == "pending", ready)).one()
    found.outbox_pending = pending[0]
    found.outbox_lag_seconds = _age(now, pending[1]) if pending[1] is not None else 0.0

    for beat in heartbeat.all_beats(session):
        found.heartbeats[beat.process] = (beat.role, _age(now, beat.beat_at))
    return found


def _age(now: datetime, then: datetime | str) -> float:
    if isinstance(then, str):  # an aggregate some engines return untyped
        then = datetime.fromisoformat(then)
    if then.tzinfo is None:
        from datetime import timezone

        then = then.replace(tzinfo=timezone.utc)
    return max(0.0, (now - then).total_seconds())
