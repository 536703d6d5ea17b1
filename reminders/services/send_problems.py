"""Outbound messages that failed or whose fate is unknown, for a clinic's staff to act on
(a wrong number to fix, a patient to call). A plain query; the outbox owns the statuses."""

from __future__ import annotations

from sqlmodel import Session, select

from reminders.models import Message, Patient

PROBLEM_STATUSES = ("failed", "undelivered", "unknown")
PAGE_SIZE = 50


def problems(session: Session, clinic_id: int, *, page: int = 1) -> tuple[list[tuple[Message, Patient | None]], bool]:
    """Newest first, a page at a time (the (direction, status) index finds them)."""
    statement = (
        select(Message, Patient)
        .join(Patient, Patient.id == Message.patient_id, isouter=True)
        .where(Message.direction == "outbound", Message.status.in_(PROBLEM_STATUSES),  # type: ignore[attr-defined]
               Message.clinic_id == clinic_id)
        .order_by(Message.created_at.desc(), Message.id.desc())  # type: ignore[attr-defined]
        .offset((max(1, page) - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)
    )
    rows = [(m, p) for m, p in session.exec(statement)]
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE
