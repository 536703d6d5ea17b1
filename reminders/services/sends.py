"""What staff must see about sending: the messages that failed or may not have gone out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from reminders.models import Message

PROBLEM_STATUSES = ("failed", "undelivered", "unknown")


@dataclass(frozen=True)
class ProblemSend:
    message_id: int
    patient_id: int | None
    checkin_id: int | None
    kind: str
    status: str  # failed | undelivered | unknown (may have been sent: never re-sent blindly)
    error_code: int | None
    error_kind: str | None
    attempts: int
    created_at: datetime
    status_changed_at: datetime | None


def problem_sends(session: Session, clinic_id: int, *, statuses: tuple[str, ...] = PROBLEM_STATUSES,
                  limit: int = 200) -> list[ProblemSend]:
    """A clinic's outbound messages that failed or stayed unknown, newest first."""
    rows = session.execute(
        sa.select(Message.id, Message.patient_id, Message.checkin_id, Message.kind, Message.status,
                  Message.error_code, Message.error_kind, Message.attempts, Message.created_at,
                  Message.status_changed_at)
        .where(Message.clinic_id == clinic_id, Message.direction == "outbound",
               Message.status.in_(statuses))  # type: ignore[attr-defined]
        .order_by(Message.id.desc())  # type: ignore[union-attr]
        .limit(limit)
    ).all()
    return [ProblemSend(*row) for row in rows]
