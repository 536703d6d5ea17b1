"""A clinic's patients for the staff pages: search and filters, one patient's timeline,
and the status changes staff make by hand (pause, resume, withdraw)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, select

from reminders import targets
from reminders.errors import InputError
from reminders.models import (
    PATIENT_STATUSES, AuditEvent, CheckIn, Clinic, Message, Patient, QueueItem, Staff,
)
from reminders.phones import normalise_phone
from reminders.schemas import PatientUpdate
from reminders.services import patients
from reminders.triage import triage

PAGE_SIZE = 50


@dataclass(frozen=True)
class Filters:
    q: str = ""
    status: str = ""
    week: int | None = None
    high_risk: bool = False
    page: int = 1


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def search(session: Session, clinic: Clinic, today: date, filters: Filters) -> tuple[list[Patient], bool]:
    """One page of the clinic's patients, newest enrolled first; True when there are more."""
    statement = select(Patient).where(Patient.clinic_id == clinic.id)
    q = filters.q.strip()
    if q:
        like = f"%{q.lower()}%"
        matches = [sa.func.lower(Patient.display_name).like(like),
                   sa.func.lower(Patient.register_ref).like(like)]
        if len(_digits(q)) >= 4:
            try:  # a whole number as the clinic writes it (0712 345 678)
                matches.append(Patient.phone == normalise_phone(q, clinic.country))
            except InputError:
                pass
            matches.append(Patient.phone.contains(_digits(q)))  # type: ignore[attr-defined]
        statement = statement.where(sa.or_(*matches))
    if filters.status:
        if filters.status not in PATIENT_STATUSES:
            raise InputError("status", f"must be one of {', '.join(PATIENT_STATUSES)}")
        statement = statement.where(Patient.status == filters.status)
    if filters.week is not None:
        # Week w holds the patients whose ART started 7(w-1) to 7w-1 days ago.
        newest = today - timedelta(days=7 * (filters.week - 1))
        oldest = today - timedelta(days=7 * filters.week - 1)
        statement = statement.where(Patient.art_start_date <= newest, Patient.art_start_date >= oldest)
    if filters.high_risk:
        statement = statement.where(Patient.high_risk.is_(True))  # type: ignore[attr-defined]
    page = max(1, filters.page)
    statement = (statement.order_by(Patient.enrolled_at.desc(), Patient.id.desc())  # type: ignore[attr-defined]
                 .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1))
    rows = list(session.exec(statement))
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


@dataclass
class Event:
    """One line of a patient's timeline."""

    at: datetime
    kind: str  # outbound, inbound, staff
    title: str
    body: str | None = None
    level: str | None = None  # a reply's triage level
    evidence: list[str] = field(default_factory=list)
    note: str | None = None


STAFF_ACTIONS = {
    "patient.enroll": "Enrolled", "patient.update": "Details changed", "patient.sms": "Texted by staff",
    "patient.status": "Status changed", "queue.open": "Queue item opened", "queue.raise": "Queue item raised",
    "queue.claim": "Claimed", "queue.handback": "Handed back", "queue.resolve": "Resolved",
    "queue.call": "Call",
}
CALL_LABELS = {"reached": "Reached", "no_answer": "No answer", "wrong_number": "Wrong number"}


def timeline(session: Session, patient: Patient) -> list[Event]:
    """Messages both ways (replies with their triage) and staff actions, newest first."""
    events: list[Event] = []
    for message in session.exec(select(Message).where(Message.patient_id == patient.id)):
        if message.direction == "inbound":
            result = triage(message.body, language=patient.language)
            events.append(Event(message.created_at, "inbound", "Reply", message.body,
                                level=result.level, evidence=list(result.evidence)))
        else:
            status = "answered in the webhook reply" if message.status == "twiml" else message.status
            title = f"{message.kind.capitalize()} SMS · {status}"
            if message.error_code:
                title += f" (error {message.error_code})"
            events.append(Event(message.created_at, "staff" if message.kind == "staff" else "outbound",
                                title, message.body))
    items = {i.id: i for i in session.exec(select(QueueItem).where(QueueItem.patient_id == patient.id))}
    staff_actions = select(AuditEvent).where(
        sa.or_(sa.and_(AuditEvent.entity == "patient", AuditEvent.entity_id == patient.id),
               sa.and_(AuditEvent.entity == "queue_item", AuditEvent.entity_id.in_(items or [0]))),  # type: ignore[union-attr]
        AuditEvent.action.in_(STAFF_ACTIONS))  # type: ignore[attr-defined]
    for event in session.exec(staff_actions):
        events.append(_staff_event(event, items))
    events.sort(key=lambda e: e.at, reverse=True)
    return events


def _staff_event(event: AuditEvent, items: dict[int, QueueItem]) -> Event:
    detail: dict[str, Any] = event.detail or {}
    title = STAFF_ACTIONS[event.action]
    note = None
    if event.entity == "queue_item":
        title += f" #{event.entity_id}"
    if event.action == "queue.call":
        title += f": {CALL_LABELS.get(detail.get('result'), detail.get('result'))}"
    elif event.action in ("queue.open", "queue.raise"):
        title += f" ({detail.get('level') or detail.get('level_to')})"
    elif event.action == "queue.resolve":
        item = items.get(event.entity_id)  # type: ignore[arg-type]
        title += f": {(detail.get('outcome') or '').replace('_', ' ')}"
        note = item.note if item else None
    elif event.action in ("patient.update", "patient.status"):
        changed = detail.get("fields") or detail.get("to")
        if changed:
            title += f": {', '.join(changed) if isinstance(changed, list) else changed}"
    return Event(event.at, "staff", f"{title} · {event.actor}", note=note)


def checkins(session: Session, patient: Patient) -> list[tuple[CheckIn, str | None]]:
    """The plan, each check-in with its message's delivery status (delivered, failed...)."""
    rows = session.exec(select(CheckIn).where(CheckIn.patient_id == patient.id)
                        .order_by(CheckIn.due_at, CheckIn.id)).all()  # type: ignore[arg-type]
    ids = [c.message_id for c in rows if c.message_id]
    statuses = dict(session.execute(sa.select(Message.id, Message.status).where(Message.id.in_(ids or [0]))).all())  # type: ignore[union-attr]
    return [(c, statuses.get(c.message_id)) for c in rows]


def week_of(patient: Patient, clinic: Clinic, now: datetime) -> int:
    return targets.week_since_start(patient.art_start_date, now.astimezone(ZoneInfo(clinic.timezone)).date())


# What staff can do by hand, and from which status (STOP is the patient's: an opted-out
# patient is resumed only by their own START; completed is the end of the plan).
TRANSITIONS = {
    "pause": ({"active"}, "paused"),
    "resume": ({"paused"}, "active"),
    "withdraw": ({"active", "paused", "opted_out"}, "withdrawn"),
}


def change_status(session: Session, patient_id: int, staff: Staff, action: str, now: datetime) -> Patient:
    if action not in TRANSITIONS:
        raise InputError("action", f"must be one of {', '.join(TRANSITIONS)}")
    allowed, new = TRANSITIONS[action]
    patient = patients.get_for_staff(session, patient_id, staff, lock=True)
    if patient.status not in allowed:
        reason = ("the patient replied STOP: only their START resumes messages"
                  if patient.status == "opted_out" else f"not possible for a patient who is {patient.status}")
        raise InputError("status", reason)
    return patients.update(session, patient_id, PatientUpdate(status=new), staff, now)
