"""Queue items: flagged replies, unanswered check-ins and sending problems, for staff."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from reminders.errors import InputError, NotFound
from reminders.models import LEVEL_RANK, OUTCOMES, Message, QueueItem, Staff
from reminders.services import audit


def open_or_join(
    session: Session,
    *,
    clinic_id: int,
    patient_id: int | None,
    level: str,
    reason: str,
    now: datetime,
    symptoms: Iterable[str] = (),
    evidence: Iterable[str] = (),
) -> QueueItem:
    """Join the patient's unresolved item (raising its level if this is worse) or open one."""
    item = None
    if patient_id is not None:
        item = session.exec(
            select(QueueItem)
            .where(QueueItem.patient_id == patient_id,
                   QueueItem.status.in_(("open", "claimed")))  # type: ignore[attr-defined]
            .order_by(QueueItem.id)  # type: ignore[arg-type]
            .with_for_update()
        ).first()
    if item is None:
        item = QueueItem(clinic_id=clinic_id, patient_id=patient_id, level=level,
                         rank=LEVEL_RANK[level], reason=reason, opened_at=now,
                         symptoms=list(dict.fromkeys(symptoms)), evidence=list(evidence))
        session.add(item)
        session.flush()
        audit.record(session, "system", "queue.open", "queue_item", item.id, clinic_id=clinic_id,
                     at=now, level=level, reason=reason)
        return item
    if LEVEL_RANK[level] > item.rank:
        audit.record(session, "system", "queue.raise", "queue_item", item.id, clinic_id=clinic_id,
                     at=now, level_from=item.level, level_to=level)
        item.level, item.rank = level, LEVEL_RANK[level]
        if level == "urgent":
            item.alerted_at = None  # an item newly urgent needs its alert
    # JSON columns: assign new lists so the change is seen.
    item.symptoms = list(dict.fromkeys([*item.symptoms, *symptoms]))
    item.evidence = [*item.evidence, *evidence]
    session.add(item)
    return item


def list_items(
    session: Session, clinic_id: int, status: str | None = None, limit: int = 200
) -> list[QueueItem]:
    """Most urgent first, then oldest first."""
    statement = select(QueueItem).where(QueueItem.clinic_id == clinic_id)
    if status == "unresolved":
        statement = statement.where(QueueItem.status.in_(("open", "claimed")))  # type: ignore[attr-defined]
    elif status:
        statement = statement.where(QueueItem.status == status)
    statement = statement.order_by(QueueItem.rank.desc(), QueueItem.opened_at, QueueItem.id)  # type: ignore[attr-defined]
    return list(session.exec(statement.limit(limit)))


def _item(session: Session, item_id: int, staff: Staff) -> QueueItem:
    item = session.get(QueueItem, item_id, with_for_update=True)
    if item is None or item.clinic_id != staff.clinic_id:
        raise NotFound(f"queue item {item_id}")
    return item


def claim(session: Session, item_id: int, staff: Staff, now: datetime) -> QueueItem:
    item = _item(session, item_id, staff)
    if item.status == "resolved":
        raise InputError("status", "the item is already resolved")
    if item.status == "claimed" and item.assignee_id != staff.id:
        raise InputError("status", "another staff member has claimed this item")
    item.status, item.assignee_id, item.claimed_at = "claimed", staff.id, now
    session.add(item)
    audit.record(session, staff.email, "queue.claim", "queue_item", item.id,
                 clinic_id=item.clinic_id, at=now)
    return item


def resolve(session: Session, item_id: int, staff: Staff, outcome: str, note: str,
            now: datetime) -> QueueItem:
    item = _item(session, item_id, staff)  # first: another clinic's item is 404, whatever the input
    if outcome not in OUTCOMES:
        raise InputError("outcome", f"must be one of {', '.join(OUTCOMES)}")
    if item.status == "resolved":
        raise InputError("status", "the item is already resolved")
    item.status, item.outcome, item.note, item.resolved_at = "resolved", outcome, note, now
    if item.danger_message_id is not None:  # a danger-sign question not sent yet: a nurse has seen to it
        session.execute(sa.update(Message).where(Message.id == item.danger_message_id, Message.status == "pending")
                        .values(status="cancelled", status_changed_at=now))
    item.assignee_id = item.assignee_id or staff.id
    session.add(item)
    audit.record(session, staff.email, "queue.resolve", "queue_item", item.id,
                 clinic_id=item.clinic_id, at=now, outcome=outcome)
    return item
