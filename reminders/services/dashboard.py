"""The programme dashboard of one clinic: who is enrolled, who answers, what the replies
show week by week since ART start, and how fast staff act on the queue.

- Response rate: check-ins sent at least `no_response_after_hours` ago (48 h by default)
  or already answered; answered / sent, by the week of their plan day. A check-in that
  failed to send is not in the denominator (the patient never got it).
- Flags and urgents: queue items whose (current) level is flag or urgent, by the week
  since ART start in which they opened, in the clinic's time zone. Items opened after
  week 9 (the last check-in, day 56) are left out of the curve.
- Weeks as on the queue (reminders.targets.week_since_start): week 1 is days 0-6.
- Medians: over items opened in the last `window` days (90 by default).
- Past target: unresolved items later than the queue's targets (reminders.targets: urgent
  2 hours, flag and no_response 1 working day, admin 2).
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session

from reminders import protocols
from reminders.models import PATIENT_STATUSES, QUEUE_LEVELS, CheckIn, Clinic, Patient, QueueItem
from reminders.targets import due_at

WEEKS = tuple(range(1, 10))  # day 56, the last check-in, is in week 9
SENT = ("sent", "unknown", "answered")


@dataclass(frozen=True)
class Week:
    week: int
    sent: int = 0
    answered: int = 0
    flags: int = 0
    urgents: int = 0

    @property
    def response_rate(self) -> float | None:
        return self.answered / self.sent if self.sent else None


@dataclass(frozen=True)
class Dashboard:
    patients: dict[str, int]  # enrolled (all) and one count per status
    weeks: list[Week]
    median_to_claim: timedelta | None
    median_to_resolve: timedelta | None
    past_target: dict[str, int] = field(default_factory=dict)  # per queue level
    unresolved: int = 0


def build(session: Session, clinic_id: int, now: datetime, *, window_days: int = 90) -> Dashboard:
    clinic = session.get(Clinic, clinic_id)
    if clinic is None:
        raise LookupError(f"clinic {clinic_id}")
    weeks = {w: Counter() for w in WEEKS}  # type: ignore[var-annotated]
    _responses(session, clinic_id, now, weeks)
    _flags(session, clinic, weeks)
    claim, resolve = _medians(session, clinic_id, now - timedelta(days=window_days))
    past, unresolved = _past_target(session, clinic, now)
    return Dashboard(
        patients=_patients(session, clinic_id),
        weeks=[Week(w, **counts) for w, counts in weeks.items()],
        median_to_claim=claim, median_to_resolve=resolve, past_target=past, unresolved=unresolved,
    )


def _week(days: int) -> int:
    """The queue's rule (reminders.targets.week_since_start) for a day count."""
    return max(0, days) // 7 + 1


def _patients(session: Session, clinic_id: int) -> dict[str, int]:
    rows = session.execute(
        sa.select(Patient.status, sa.func.count()).where(Patient.clinic_id == clinic_id)
        .group_by(Patient.status)
    ).all()
    counts = {status: 0 for status in PATIENT_STATUSES}
    counts.update({status: n for status, n in rows})
    return {"enrolled": sum(counts.values()), **counts}


def _responses(session: Session, clinic_id: int, now: datetime, weeks: dict) -> None:  # type: ignore[type-arg]
    waited = now - timedelta(hours=protocols.load_protocol().no_response_after_hours)
    rows = session.execute(
        sa.select(CheckIn.day, CheckIn.status, sa.func.count())
        .join(Patient, Patient.id == CheckIn.patient_id)
        .where(Patient.clinic_id == clinic_id,
               CheckIn.status.in_(SENT),  # type: ignore[attr-defined]
               sa.or_(CheckIn.status == "answered", CheckIn.sent_at <= waited))  # type: ignore[operator]
        .group_by(CheckIn.day, CheckIn.status)
    ).all()
    for day, status, n in rows:
        week = _week(day)
        if week in weeks:
            weeks[week]["sent"] += n
            if status == "answered":
                weeks[week]["answered"] += n


def _flags(session: Session, clinic: Clinic, weeks: dict) -> None:  # type: ignore[type-arg]
    zone = ZoneInfo(clinic.timezone)
    rows = session.execute(
        sa.select(QueueItem.level, QueueItem.opened_at, Patient.art_start_date)
        .join(Patient, Patient.id == QueueItem.patient_id)
        .where(QueueItem.clinic_id == clinic.id,
               QueueItem.level.in_(("flag", "urgent")))  # type: ignore[attr-defined]
    ).all()
    for level, opened_at, art_start in rows:
        week = _week((opened_at.astimezone(zone).date() - art_start).days)
        if week in weeks:
            weeks[week]["urgents" if level == "urgent" else "flags"] += 1


def _median(values: list[timedelta]) -> timedelta | None:
    if not values:
        return None
    return timedelta(seconds=statistics.median(v.total_seconds() for v in values))


def _medians(session: Session, clinic_id: int, since: datetime) -> tuple[timedelta | None, timedelta | None]:
    rows = session.execute(
        sa.select(QueueItem.opened_at, QueueItem.claimed_at, QueueItem.resolved_at)
        .where(QueueItem.clinic_id == clinic_id, QueueItem.opened_at >= since)  # type: ignore[operator]
    ).all()
    claims = [claimed - opened for opened, claimed, _ in rows if claimed is not None]
    resolves = [resolved - opened for opened, _, resolved in rows if resolved is not None]
    return _median(claims), _median(resolves)


def _past_target(session: Session, clinic: Clinic, now: datetime) -> tuple[dict[str, int], int]:
    rows = session.execute(
        sa.select(QueueItem.level, QueueItem.opened_at)
        .where(QueueItem.clinic_id == clinic.id,
               QueueItem.status.in_(("open", "claimed")))  # type: ignore[attr-defined]
    ).all()
    past = {level: 0 for level in QUEUE_LEVELS}
    for level, opened_at in rows:
        if now > due_at(level, opened_at, clinic.timezone):
            past[level] += 1
    return past, len(rows)
