"""Working the queue from the staff pages: the open items a page at a time (keyset, index
backed), one item with its replies, hand back, log a call, text the patient.

Claim and resolve live in services/queue.py (shared with the API).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, select

from reminders import saved_replies, targets
from reminders.messages import check_staff_message
from reminders.errors import InputError, NotFound
from reminders.models import Clinic, Message, Patient, QueueItem, Staff
from reminders.services import audit
from reminders.services.enroll import greeting_values

PAGE_SIZE = 50
UNRESOLVED = ("open", "claimed")
CALL_RESULTS = {"reached": "Reached", "no_answer": "No answer", "wrong_number": "Wrong number"}
REPLIES_SHOWN = 3


@dataclass
class QueueRow:
    item: QueueItem
    patient: Patient | None
    replies: list[Message] = field(default_factory=list)  # newest last
    phone: str | None = None  # the sender, for an item from an unknown number
    assignee: str | None = None  # email of who claimed it
    week: int | None = None  # since ART start
    age: targets.Age | None = None


def _cursor(item: QueueItem) -> str:
    return f"{item.rank}~{item.opened_at.isoformat()}~{item.id}"


def _parse_cursor(after: str) -> tuple[int, datetime, int]:
    try:
        rank, opened, item_id = after.split("~")
        return int(rank), datetime.fromisoformat(opened), int(item_id)
    except ValueError:
        raise InputError("after", "is not a queue position") from None


def open_page(session: Session, clinic: Clinic, now: datetime, *, after: str | None = None,
              limit: int = PAGE_SIZE) -> tuple[list[QueueRow], str | None]:
    """Unresolved items, most urgent first, oldest first within a level; `after` is the
    position of the last row of the previous page. Returns the rows and the next position."""
    statement = select(QueueItem).where(QueueItem.clinic_id == clinic.id,
                                        QueueItem.status.in_(UNRESOLVED))  # type: ignore[attr-defined]
    if after:
        rank, opened, item_id = _parse_cursor(after)
        statement = statement.where(sa.or_(
            QueueItem.rank < rank,
            sa.and_(QueueItem.rank == rank, QueueItem.opened_at > opened),
            sa.and_(QueueItem.rank == rank, QueueItem.opened_at == opened, QueueItem.id > item_id),
        ))
    statement = statement.order_by(QueueItem.rank.desc(), QueueItem.opened_at, QueueItem.id)  # type: ignore[attr-defined]
    items = list(session.exec(statement.limit(limit + 1)))
    more = len(items) > limit
    items = items[:limit]
    rows = describe(session, clinic, items, now)
    return rows, (_cursor(items[-1]) if more else None)


def count_open(session: Session, clinic_id: int) -> dict[str, int]:
    rows = session.execute(
        sa.select(QueueItem.level, sa.func.count())
        .where(QueueItem.clinic_id == clinic_id, QueueItem.status.in_(UNRESOLVED))  # type: ignore[attr-defined]
        .group_by(QueueItem.level))
    return {level: count for level, count in rows}


def describe(session: Session, clinic: Clinic, items: list[QueueItem], now: datetime) -> list[QueueRow]:
    """Rows for display: a fixed number of queries whatever the page size."""
    if not items:
        return []
    patient_ids = {i.patient_id for i in items if i.patient_id is not None}
    patients = {p.id: p for p in session.exec(select(Patient).where(Patient.id.in_(patient_ids)))}  # type: ignore[union-attr]
    earliest = min(i.opened_at for i in items)
    replies: dict[int | None, list[Message]] = {}
    inbound = select(Message).where(Message.direction == "inbound", Message.created_at >= earliest)  # type: ignore[operator]
    if patient_ids:
        for message in session.exec(inbound.where(Message.patient_id.in_(patient_ids))  # type: ignore[union-attr]
                                    .order_by(Message.created_at, Message.id)):  # type: ignore[arg-type]
            replies.setdefault(message.patient_id, []).append(message)
    unknown: dict[datetime, Message] = {}
    if any(i.patient_id is None for i in items):
        # An unknown sender's item is opened at the instant its reply is stored (inbound.py).
        for message in session.exec(inbound.where(Message.patient_id.is_(None),  # type: ignore[union-attr]
                                                  Message.clinic_id == clinic.id)):
            unknown.setdefault(message.created_at, message)
    assignees = {s.id: s.email for s in session.exec(
        select(Staff).where(Staff.id.in_({i.assignee_id for i in items if i.assignee_id})))}  # type: ignore[union-attr]
    today = now.astimezone(ZoneInfo(clinic.timezone)).date()
    rows = []
    for item in items:
        patient = patients.get(item.patient_id) if item.patient_id else None
        row = QueueRow(item, patient, assignee=assignees.get(item.assignee_id),
                       age=targets.age_against_target(item.level, item.opened_at, clinic.timezone, now))
        if patient is not None:
            row.replies = [m for m in replies.get(patient.id, []) if m.created_at >= item.opened_at][-REPLIES_SHOWN:]
            row.week = targets.week_since_start(patient.art_start_date, today)
        elif item.opened_at in unknown:
            row.replies = [unknown[item.opened_at]]
            row.phone = unknown[item.opened_at].phone
        rows.append(row)
    return rows


def get_item(session: Session, item_id: int, staff: Staff, *, lock: bool = False) -> QueueItem:
    item = session.get(QueueItem, item_id, with_for_update=lock or None)
    if item is None or item.clinic_id != staff.clinic_id:
        raise NotFound(f"queue item {item_id}")  # another clinic's item does not exist for you
    return item


def hand_back(session: Session, item_id: int, staff: Staff, now: datetime) -> QueueItem:
    """Put a claimed item back in the queue for someone else (its claimer, or an admin)."""
    item = get_item(session, item_id, staff, lock=True)
    if item.status != "claimed":
        raise InputError("status", "the item is not claimed")
    if item.assignee_id != staff.id and staff.role != "admin":
        raise InputError("status", "only the person who claimed it (or an admin) can hand it back")
    item.status, item.assignee_id, item.claimed_at = "open", None, None
    session.add(item)
    audit.record(session, staff.email, "queue.handback", "queue_item", item.id,
                 clinic_id=item.clinic_id, at=now, patient_id=item.patient_id)
    return item


def _claim_if_open(session: Session, item: QueueItem, staff: Staff, now: datetime) -> None:
    # Calling or texting a patient takes the item, so that nobody else calls them too.
    if item.status == "open":
        item.status, item.assignee_id, item.claimed_at = "claimed", staff.id, now
        session.add(item)
        audit.record(session, staff.email, "queue.claim", "queue_item", item.id,
                     clinic_id=item.clinic_id, at=now, patient_id=item.patient_id)


def log_call(session: Session, item_id: int, staff: Staff, result: str, now: datetime) -> QueueItem:
    """A phone call to the patient and how it went (kept in the audit log, shown in the
    patient's timeline)."""
    item = get_item(session, item_id, staff, lock=True)  # first: another clinic's item is 404
    if result not in CALL_RESULTS:
        raise InputError("result", f"must be one of {', '.join(CALL_RESULTS)}")
    if item.status == "resolved":
        raise InputError("status", "the item is already resolved")
    _claim_if_open(session, item, staff, now)
    audit.record(session, staff.email, "queue.call", "queue_item", item.id,
                 clinic_id=item.clinic_id, at=now, result=result, patient_id=item.patient_id)
    return item


def staff_sms_body(session: Session, patient: Patient, *, text: str | None,
                   saved_reply: str | None) -> str:
    """The text to send: typed by staff, or a saved reply in the patient's language."""
    if saved_reply:
        clinic = session.get(Clinic, patient.clinic_id)
        values = {k: v or "" for k, v in greeting_values(clinic, patient).items()}
        return saved_replies.get(saved_reply).render(patient.language, **values)
    return (text or "").strip()


def send_sms(session: Session, item_id: int, staff: Staff, now: datetime, *, text: str | None = None,
             saved_reply: str | None = None) -> Message:
    """Text the item's patient: a pending outbound message, sent by the outbox like every SMS.
    Refused when it holds a disclosing word (a phone may be shared) or the patient said STOP."""
    item = get_item(session, item_id, staff, lock=True)
    if item.patient_id is None:
        raise InputError("patient", "this number is not enrolled: enroll it first")
    patient = session.get(Patient, item.patient_id)
    if patient.status == "opted_out":
        raise InputError("patient", "the patient replied STOP: no messages until they send START")
    # Not empty, no NUL, two SMS segments at most, nothing disclosing: one rule for staff text.
    body = check_staff_message(staff_sms_body(session, patient, text=text, saved_reply=saved_reply),
                               "text")
    message = Message(patient_id=patient.id, clinic_id=patient.clinic_id, direction="outbound",
                      kind="staff", phone=patient.phone, body=body, status="pending",
                      created_at=now)
    session.add(message)
    session.flush()
    _claim_if_open(session, item, staff, now)
    audit.record(session, staff.email, "patient.sms", "patient", patient.id,
                 clinic_id=patient.clinic_id, at=now, message_id=message.id, item_id=item.id,
                 saved_reply=saved_reply)
    return message
