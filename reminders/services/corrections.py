"""Triage judged by staff: corrections from the queue, reviews of sampled "ok" replies, export.

Both end as one TriageCorrection row per reply (the text, the level triage gave it and
the level staff say it should have had), which an admin exports as CSV to improve the
lexicons. An agreement in the review keeps the same level in both columns: a confirmed
"ok" is a labelled example too.

The level triage gave a reply is read from its `reply.triage` audit event (written when
the reply was triaged into the queue): it is the level of that day's lexicons, not of
today's. Correcting an item records a judgement only; it does not change the item (the
nurse is working it already).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from reminders import sampling
from reminders.csv_export import to_csv
from reminders.errors import InputError, NotFound
from reminders.models import (
    TRIAGE_LEVELS, AuditEvent, Message, Patient, QueueItem, Staff, TriageCorrection,
)
from reminders.services import audit

EXPORT_HEADER = ("text", "language", "triage_level", "corrected_level")
REVIEW_FILTERS = ("pending", "reviewed", "all")


def _level(value: str) -> str:
    if value not in TRIAGE_LEVELS:
        raise InputError("corrected_level", f"must be one of {', '.join(TRIAGE_LEVELS)}")
    return value


def _triaged_level() -> sa.ColumnElement[str]:
    return AuditEvent.detail["level"].as_string()  # type: ignore[index]


def triage_level_of(session: Session, message_id: int) -> str | None:
    """The level triage gave this reply when it was triaged (None if not triaged yet)."""
    return session.execute(
        sa.select(_triaged_level())
        .where(AuditEvent.entity == "message", AuditEvent.entity_id == message_id,
               AuditEvent.action == "reply.triage")
        .order_by(AuditEvent.id.desc())  # type: ignore[union-attr]
        .limit(1)
    ).scalar_one_or_none()


# -- corrections from the queue ------------------------------------------------------------

def item_replies(session: Session, item: QueueItem) -> list[Message]:
    """The replies that triage put into this item, oldest first: the patient's replies
    while it was unresolved, except those triage called ok (they join no item)."""
    if item.patient_id is None:
        return []
    queued = sa.exists().where(
        AuditEvent.entity == "message", AuditEvent.entity_id == Message.id,
        AuditEvent.action == "reply.triage", _triaged_level().in_(("urgent", "flag", "admin")))
    statement = select(Message).where(
        Message.patient_id == item.patient_id, Message.direction == "inbound",
        Message.kind == "reply", Message.created_at >= item.opened_at,  # type: ignore[operator]
        queued)
    if item.resolved_at is not None:
        statement = statement.where(Message.created_at <= item.resolved_at)  # type: ignore[operator]
    return list(session.exec(statement.order_by(Message.created_at, Message.id)))  # type: ignore[arg-type]


def correct_item(session: Session, item_id: int, staff: Staff, corrected_level: str, now: datetime,
                 *, message_id: int | None = None) -> TriageCorrection:
    """Record the level an item's reply should have had (the latest reply unless one is named)."""
    item = session.get(QueueItem, item_id)
    if item is None or item.clinic_id != staff.clinic_id:  # first: 404 whatever the input
        raise NotFound(f"queue item {item_id}")
    corrected_level = _level(corrected_level)
    replies = item_replies(session, item)
    if message_id is not None:
        replies = [m for m in replies if m.id == message_id]
        if not replies:
            raise InputError("message_id", "not a reply of this item")
    if not replies:
        raise InputError("item", "this item has no reply whose triage could be corrected")
    reply = replies[-1]
    patient = session.get(Patient, reply.patient_id)
    triaged = triage_level_of(session, reply.id) or item.level  # type: ignore[arg-type]
    correction = _save(session, staff, reply, patient.language, triaged, corrected_level,  # type: ignore[union-attr]
                       "queue", now, queue_item_id=item.id)
    audit.record(session, staff.email, "triage.correct", "queue_item", item.id,
                 clinic_id=staff.clinic_id, at=now, message_id=reply.id,
                 triage_level=triaged, corrected_level=corrected_level)
    return correction


def _save(session: Session, staff: Staff, reply: Message, language: str, triaged: str,
          corrected: str, source: str, now: datetime, *, queue_item_id: int | None = None
          ) -> TriageCorrection:
    # One judgement per reply: a second one (two nurses, or a change of mind) replaces the
    # first in one statement, so two at once cannot fail on the unique index.
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values = dict(clinic_id=staff.clinic_id, queue_item_id=queue_item_id, message_id=reply.id,
                  language=language, triage_level=triaged, corrected_level=corrected,
                  source=source, staff_id=staff.id, at=now)
    statement = insert(TriageCorrection).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["message_id"],
        set_={k: statement.excluded[k] for k in ("corrected_level", "staff_id", "at")},
    )
    session.connection().execute(statement)
    return session.exec(select(TriageCorrection).where(TriageCorrection.message_id == reply.id)
                        .execution_options(populate_existing=True)).one()


# -- the review of sampled "ok" replies ----------------------------------------------------

@dataclass(frozen=True)
class ReviewRow:
    message_id: int
    body: str
    received_at: datetime
    patient_id: int
    patient_name: str | None  # None on a shared phone
    language: str
    corrected_level: str | None  # None while not reviewed; "ok" when staff agreed
    reviewed_by: str | None


@dataclass(frozen=True)
class ReviewPage:
    rows: list[ReviewRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _sampled_ok(clinic_id: int, rate: float) -> sa.Select:  # type: ignore[type-arg]
    """Replies of this clinic's patients that triage called ok and that fall in the sample."""
    # The reply's own clinic_id, not the patient's, and a correlated EXISTS on the audit
    # log's (entity, entity_id) index: with 100,000 replies bulk-loaded and not yet
    # ANALYZEd, filtering through the patient made PostgreSQL loop for a minute; this
    # form answers a page in ~0.3 s either way.
    triaged_ok = sa.exists().where(
        AuditEvent.entity == "message", AuditEvent.entity_id == Message.id,
        AuditEvent.action == "reply.triage", _triaged_level() == "ok")
    return (
        sa.select(Message, Patient, TriageCorrection.corrected_level, Staff.email)
        .join(Patient, Patient.id == Message.patient_id)
        .outerjoin(TriageCorrection, TriageCorrection.message_id == Message.id)
        .outerjoin(Staff, Staff.id == TriageCorrection.staff_id)
        .where(Message.clinic_id == clinic_id, Message.direction == "inbound",
               Message.kind == "reply", sampling.sql_sampled(Message.id, rate),  # type: ignore[arg-type]
               triaged_ok)
    )


def review_list(session: Session, staff: Staff, *, rate: float, show: str = "pending",
                page: int = 1, per_page: int = 50) -> ReviewPage:
    if show not in REVIEW_FILTERS:
        raise InputError("show", f"must be one of {', '.join(REVIEW_FILTERS)}")
    page = max(1, page)
    statement = _sampled_ok(staff.clinic_id, rate)
    if show == "pending":
        statement = statement.where(TriageCorrection.id.is_(None))  # type: ignore[union-attr]
    elif show == "reviewed":
        statement = statement.where(TriageCorrection.id.is_not(None))  # type: ignore[union-attr]
    total = session.execute(sa.select(sa.func.count()).select_from(statement.subquery())).scalar_one()
    rows = session.execute(
        statement.order_by(Message.created_at.desc(), Message.id.desc())  # type: ignore[attr-defined]
        .offset((page - 1) * per_page).limit(per_page)
    ).all()
    return ReviewPage(
        rows=[ReviewRow(message_id=m.id, body=m.body, received_at=m.created_at, patient_id=p.id,
                        patient_name=None if p.shared_phone else p.display_name, language=p.language,
                        corrected_level=level, reviewed_by=email)
              for m, p, level, email in rows],
        total=total, page=page, per_page=per_page,
    )


def review_reply(session: Session, message_id: int, staff: Staff, corrected_level: str,
                 now: datetime, *, rate: float) -> TriageCorrection:
    """Mark a sampled ok reply reviewed: "ok" agrees with triage, another level corrects it."""
    found = session.execute(_sampled_ok(staff.clinic_id, rate).where(Message.id == message_id)).first()
    if found is None:  # first: another clinic's reply is 404, whatever the input
        raise NotFound(f"reply {message_id} in the review list")
    corrected_level = _level(corrected_level)
    reply, patient = found[0], found[1]
    correction = _save(session, staff, reply, patient.language, "ok", corrected_level,
                       "ok_review", now)
    audit.record(session, staff.email, "triage.review", "message", reply.id,
                 clinic_id=staff.clinic_id, at=now, corrected_level=corrected_level)
    return correction


# -- export ----------------------------------------------------------------------------------

def export_rows(session: Session, clinic_id: int) -> list[tuple[str, str, str, str]]:
    rows = session.execute(
        sa.select(Message.body, TriageCorrection.language, TriageCorrection.triage_level,
                  TriageCorrection.corrected_level)
        .join(Message, Message.id == TriageCorrection.message_id)
        .where(TriageCorrection.clinic_id == clinic_id)
        .order_by(TriageCorrection.id)  # type: ignore[arg-type]
    ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def export_csv(session: Session, staff: Staff, now: datetime) -> str:
    """The clinic's corrections and reviews as CSV (formula-safe); the export is audited."""
    rows = export_rows(session, staff.clinic_id)
    audit.record(session, staff.email, "export.corrections", "clinic", staff.clinic_id,
                 clinic_id=staff.clinic_id, at=now, rows=len(rows))
    return to_csv(EXPORT_HEADER, rows)
