"""What unanswered check-ins, urgent items and finished plans need next.

- a check-in sent with no reply after 24 hours: one gentle reminder;
- no reply after 48 hours (or the SMS was undelivered): a `no_response` queue item;
  two unanswered check-ins in a row raise the item to `flag`;
- an urgent item nobody claimed 30 minutes after the on-call alert: the backup contact;
- a patient whose plan is over: thanked and completed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Callable

import sqlalchemy as sa
from sqlmodel import Session, select

from reminders import messages, plan, protocols
from reminders.db import session_scope
from reminders.models import CheckIn, Clinic, Message, Patient, QueueItem
from reminders.progress import no_progress
from reminders.services import audit
from reminders.services.enroll import greeting_values
from reminders.services.inbound import alert_on_call
from reminders.services.queue import open_or_join

ESCALATE_AFTER = timedelta(minutes=30)
UNANSWERED = ("sent", "unknown", "failed")


BATCH = 500  # rows per transaction: a morning with 10,000 due rows is 20 short transactions


def run_once(engine: sa.Engine, *, now: datetime, batch: int = BATCH,
             progress: Callable[[str, int], object] = no_progress) -> dict[str, Any]:
    """One follow-up pass as of `now`: each step in batches, one transaction per batch."""
    protocol = protocols.load_protocol()
    reminded = _in_batches(engine, lambda session: send_reminders(session, now, protocol, batch), batch,
                           lambda n: progress("reminders", n))
    no_response = _in_batches(
        engine, lambda session: open_no_response_items(session, now, protocol, batch), batch,
        lambda n: progress("no-response items", n))
    escalated = _in_batches(engine, lambda session: escalate_unclaimed_urgent(session, now, batch), batch,
                            lambda n: progress("escalated", n))
    with session_scope(engine) as session:
        completed = complete_finished(session, now, protocol)
    progress("completed", completed)
    return {"reminded": reminded, "no_response": no_response, "escalated": escalated,
            "completed": completed}


def _in_batches(engine: sa.Engine, step: Callable[[Session], int], batch: int,
                done_so_far: Callable[[int], object]) -> int:
    """Run `step` in its own transaction until it handles fewer than `batch` rows (each
    step marks the rows it handled, so they are not found again)."""
    total = 0
    while True:
        with session_scope(engine) as session:
            done = step(session)
        total += done
        done_so_far(done)
        if done < batch:
            return total


def _context(session: Session, patient_id: int) -> tuple[Patient, Clinic]:
    patient = session.get(Patient, patient_id)
    return patient, session.get(Clinic, patient.clinic_id)


def send_reminders(session: Session, now: datetime, protocol: protocols.Protocol,
                   limit: int | None = None) -> int:
    due = session.exec(
        select(CheckIn)
        .join(Patient, Patient.id == CheckIn.patient_id)
        .where(CheckIn.status == "sent", CheckIn.reminded_at.is_(None),  # type: ignore[union-attr]
               CheckIn.sent_at <= now - timedelta(hours=protocol.reminder_after_hours),  # type: ignore[operator]
               Patient.status == "active")
        .order_by(CheckIn.id)  # type: ignore[arg-type]
        .limit(limit)
        .with_for_update(of=CheckIn, skip_locked=True)
    ).all()
    for checkin in due:
        patient, clinic = _context(session, checkin.patient_id)
        checkin.reminded_at = now
        session.add(checkin)
        session.add(Message(
            patient_id=patient.id, clinic_id=clinic.id, checkin_id=None, direction="outbound",
            kind="reminder", phone=patient.phone, status="pending", created_at=now,
            send_after=plan.next_allowed_time(protocol, clinic.timezone, now),
            body=messages.render("reminder", patient.language, **greeting_values(clinic, patient)),
        ))
    return len(due)


def open_no_response_items(session: Session, now: datetime, protocol: protocols.Protocol,
                           limit: int | None = None) -> int:
    cutoff = now - timedelta(hours=protocol.no_response_after_hours)
    due = session.exec(
        select(CheckIn)
        .where(CheckIn.status.in_(UNANSWERED), CheckIn.no_response_at.is_(None),  # type: ignore[attr-defined,union-attr]
               sa.func.coalesce(CheckIn.sent_at, CheckIn.due_at) <= cutoff)
        .order_by(CheckIn.due_at)  # type: ignore[arg-type]
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for checkin in due:
        patient, clinic = _context(session, checkin.patient_id)
        checkin.no_response_at = now
        session.add(checkin)
        if patient.status not in ("active", "paused"):
            continue
        previous = session.exec(
            select(CheckIn)
            .where(CheckIn.patient_id == patient.id, CheckIn.due_at < checkin.due_at,
                   CheckIn.status.in_((*UNANSWERED, "answered")))  # type: ignore[attr-defined]
            .order_by(CheckIn.due_at.desc())  # type: ignore[attr-defined]
        ).first()
        twice = previous is not None and previous.status != "answered"
        why = [f"undelivered:{checkin.error_code}"] if checkin.status == "failed" else []
        open_or_join(session, clinic_id=clinic.id, patient_id=patient.id,
                     level="flag" if twice else "no_response", reason="no_response", now=now,
                     symptoms=["no_response", *(["no_response_twice"] if twice else []), *why])
    return len(due)


def escalate_unclaimed_urgent(session: Session, now: datetime, limit: int | None = None) -> int:
    items = session.exec(
        select(QueueItem)
        .where(QueueItem.level == "urgent", QueueItem.status == "open",
               QueueItem.escalated_at.is_(None),  # type: ignore[union-attr]
               QueueItem.alerted_at <= now - ESCALATE_AFTER)  # type: ignore[operator]
        .order_by(QueueItem.id)  # type: ignore[arg-type]
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for item in items:
        clinic = session.get(Clinic, item.clinic_id)
        alert_on_call(session, clinic, item.id, clinic.backup_phone, now)
        item.escalated_at = now
        session.add(item)
        audit.record(session, "system", "queue.escalate", "queue_item", item.id,
                     clinic_id=clinic.id, at=now)
    return len(items)


def complete_finished(session: Session, now: datetime, protocol: protocols.Protocol) -> int:
    """Patients past the last day whose check-ins are all settled (and 48 h to reply)."""
    settle = timedelta(hours=protocol.no_response_after_hours)
    open_checkin = (
        select(CheckIn.id)
        .where(CheckIn.patient_id == Patient.id,
               sa.or_(CheckIn.status.in_(("planned", "queued")),  # type: ignore[attr-defined]
                      CheckIn.due_at > now - settle))
        .exists()
    )
    candidates = session.exec(
        select(Patient)
        .where(Patient.status.in_(("active", "paused")), ~open_checkin,  # type: ignore[attr-defined]
               Patient.art_start_date <= (now - timedelta(days=protocol.last_day)).date())
        .with_for_update(skip_locked=True)
    ).all()
    for patient in candidates:
        clinic = session.get(Clinic, patient.clinic_id)
        if now < plan.plan_end(protocol, art_start=patient.art_start_date, timezone=clinic.timezone):
            continue
        patient.status, patient.status_changed_at = "completed", now
        session.add(patient)
        session.add(Message(
            patient_id=patient.id, clinic_id=clinic.id, direction="outbound", kind="completed",
            phone=patient.phone, status="pending", created_at=now,
            send_after=plan.next_allowed_time(protocol, clinic.timezone, now),
            body=messages.render("completed", patient.language, **greeting_values(clinic, patient)),
        ))
        audit.record(session, "system", "patient.complete", "patient", patient.id,
                     clinic_id=clinic.id, at=now)
    return len(candidates)
