"""Reading the audit log: one clinic's events, filtered, a page at a time, or as CSV."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session

from reminders.csv_export import to_csv
from reminders.errors import InputError
from reminders.models import AuditEvent, Clinic, Message, QueueItem, Staff
from reminders.services import audit

EXPORT_HEADER = ("at", "actor", "action", "entity", "entity_id", "detail")
EXPORT_LIMIT = 100_000  # a bigger export is a database job, not a web request


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None  # staff email (or "system", "twilio", "cli"), exact
    action: str | None = None  # exact, e.g. "patient.read"
    patient_id: int | None = None  # events on the patient, their queue items and messages
    since: date | None = None  # clinic-local dates, both inclusive
    until: date | None = None

    @classmethod
    def parse(cls, *, actor: str = "", action: str = "", patient: str = "", since: str = "",
              until: str = "") -> "AuditFilter":
        """From query-string text: blank means no filter; a bad value is an InputError."""
        def day(name: str, value: str) -> date | None:
            try:
                return date.fromisoformat(value) if value.strip() else None
            except ValueError:
                raise InputError(name, f"{value!r} is not a date (YYYY-MM-DD)") from None

        if patient.strip() and not patient.strip().isdigit():
            raise InputError("patient", f"{patient!r} is not a patient number")
        found = cls(actor=actor.strip().lower() or None, action=action.strip() or None,
                    patient_id=int(patient) if patient.strip() else None,
                    since=day("since", since), until=day("until", until))
        if found.since and found.until and found.since > found.until:
            raise InputError("until", "is before since")
        return found


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditEvent]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _statement(clinic: Clinic, filters: AuditFilter) -> sa.Select:  # type: ignore[type-arg]
    statement = sa.select(AuditEvent).where(AuditEvent.clinic_id == clinic.id)
    if filters.actor:
        statement = statement.where(AuditEvent.actor == filters.actor)
    if filters.action:
        statement = statement.where(AuditEvent.action == filters.action)
    if filters.patient_id is not None:
        pid = filters.patient_id
        statement = statement.where(sa.or_(
            sa.and_(AuditEvent.entity == "patient", AuditEvent.entity_id == pid),
            sa.and_(AuditEvent.entity == "queue_item", AuditEvent.entity_id.in_(  # type: ignore[union-attr]
                sa.select(QueueItem.id).where(QueueItem.patient_id == pid))),
            sa.and_(AuditEvent.entity == "message", AuditEvent.entity_id.in_(  # type: ignore[union-attr]
                sa.select(Message.id).where(Message.patient_id == pid))),
        ))
    zone = ZoneInfo(clinic.timezone)
    if filters.since:
        statement = statement.where(AuditEvent.at >= datetime.combine(filters.since, time(), zone))  # type: ignore[operator]
    if filters.until:
        end = datetime.combine(filters.until + timedelta(days=1), time(), zone)
        statement = statement.where(AuditEvent.at < end)  # type: ignore[operator]
    return statement


def search(session: Session, clinic_id: int, filters: AuditFilter, *, page: int = 1,
           per_page: int = 50) -> AuditPage:
    clinic = session.get(Clinic, clinic_id)
    statement = _statement(clinic, filters)  # type: ignore[arg-type]
    total = session.execute(sa.select(sa.func.count()).select_from(statement.subquery())).scalar_one()
    page = max(1, page)
    rows = session.execute(
        statement.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())  # type: ignore[attr-defined]
        .offset((page - 1) * per_page).limit(per_page)
    ).scalars().all()
    return AuditPage(list(rows), total, page, per_page)


def actions(session: Session, clinic_id: int) -> list[str]:
    """The actions recorded for this clinic, for the filter's choices."""
    return list(session.execute(
        sa.select(AuditEvent.action).where(AuditEvent.clinic_id == clinic_id).distinct()
        .order_by(AuditEvent.action)).scalars())


def export_csv(session: Session, staff: Staff, filters: AuditFilter, now: datetime) -> str:
    clinic = session.get(Clinic, staff.clinic_id)
    rows = session.execute(
        _statement(clinic, filters).order_by(AuditEvent.at, AuditEvent.id)  # type: ignore[arg-type]
        .limit(EXPORT_LIMIT)
    ).scalars().all()
    audit.record(session, staff.email, "export.audit", "clinic", staff.clinic_id,
                 clinic_id=staff.clinic_id, at=now, rows=len(rows))
    return to_csv(EXPORT_HEADER, (
        (e.at.isoformat(), e.actor, e.action, e.entity, e.entity_id,
         json.dumps(e.detail, sort_keys=True, ensure_ascii=False)) for e in rows))
