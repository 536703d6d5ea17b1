"""Retention: message bodies older than REMINDERS_RETENTION_DAYS are erased.

What a patient wrote and what we sent them is the most sensitive thing we keep; after
the retention period only the facts stay: the message row (who, when, status), the
reply's triage level (message.triage_level) and the queue item's level and symptoms.
Each batch commits with an audit event saying how many bodies it erased.

Kept whatever their age: messages not yet sent (pending, sending), sends whose outcome
is unknown (reconciliation finds them at the provider by their body), and replies not
yet triaged.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import select

from reminders.db import session_scope
from reminders.models import Message
from reminders.services import audit

STILL_NEEDED = sa.or_(
    sa.and_(Message.direction == "outbound", Message.status.in_(("pending", "sending", "unknown"))),  # type: ignore[attr-defined]
    sa.and_(Message.direction == "inbound", Message.status == "received"),
)


def erase_old_bodies(engine: sa.Engine, *, now: datetime, days: int, batch: int = 1000) -> dict[str, int]:
    if days < 1:
        raise ValueError("retention must be at least one day")
    cutoff = now - timedelta(days=days)
    erased = 0
    while True:
        with session_scope(engine) as session:
            ids = session.exec(
                select(Message.id)
                .where(Message.created_at < cutoff, Message.body_erased_at.is_(None),  # type: ignore[union-attr]
                       sa.not_(STILL_NEEDED))
                .order_by(Message.id).limit(batch)
                .with_for_update(skip_locked=True)
            ).all()
            if ids:
                session.execute(sa.update(Message).where(Message.id.in_(ids))  # type: ignore[union-attr]
                                .values(body="", body_erased_at=now))
                audit.record(session, "system", "retention.erase", "message", None, at=now,
                             count=len(ids), first_id=ids[0], last_id=ids[-1], older_than_days=days)
        erased += len(ids)
        if len(ids) < batch:
            return {"erased": erased}
