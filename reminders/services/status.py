"""Delivery status callbacks: statuses only move forward, duplicates change nothing.

Twilio can post a callback before our send call has returned, so before we know the
message's SID. Such a callback is kept (`early_status`) and applied when the SID is
recorded (`apply_early`), never dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from reminders import delivery
from reminders.models import CheckIn, EarlyStatus, Message, Patient
from reminders.services import audit
from reminders.services.queue import open_or_join

log = logging.getLogger(__name__)

# Callbacks for SIDs we never record (another application on the same account) go after this.
EARLY_STATUS_KEPT = timedelta(days=7)


def apply_callback(session: Session, sid: str, new_status: str, error_code: int | None,
                   now: datetime) -> bool:
    """Apply one callback; True when it changed something or was kept for later."""
    message = session.exec(
        select(Message).where(Message.provider_sid == sid).with_for_update()
    ).first()
    if message is None:
        session.add(EarlyStatus(sid=sid, status=new_status, error_code=error_code, received_at=now))
        log.info("status callback before its sid was recorded: kept for later")
        return True
    return _apply(session, message, new_status, error_code, now)


def apply_early(session: Session, now: datetime, sids: Iterable[str] | None = None) -> int:
    """Apply the kept callbacks whose message SID is now known (for `sids`, or all);
    forget those older than EARLY_STATUS_KEPT. Returns how many were applied."""
    statement = select(EarlyStatus, Message).join(Message, Message.provider_sid == EarlyStatus.sid)
    if sids is not None:
        sids = list(sids)
        if not sids:
            return 0
        statement = statement.where(EarlyStatus.sid.in_(sids))  # type: ignore[attr-defined]
    applied = 0
    for early, message in session.exec(statement.order_by(EarlyStatus.id)).all():  # type: ignore[arg-type]
        _apply(session, message, early.status, early.error_code, early.received_at)
        session.delete(early)
        applied += 1
    if sids is None:
        session.execute(sa.delete(EarlyStatus).where(EarlyStatus.received_at < now - EARLY_STATUS_KEPT))
    session.flush()
    return applied


def _apply(session: Session, message: Message, new_status: str, error_code: int | None,
           now: datetime) -> bool:
    if not delivery.should_apply(message.status, new_status):
        return False  # late or repeated: a `sent` never overwrites `delivered`
    message.status, message.status_changed_at = new_status, now
    if new_status in ("undelivered", "failed"):
        kind = delivery.classify_delivery_error(error_code) or "permanent"
        message.error_code, message.error_kind = error_code, str(kind)
        if message.checkin_id:
            checkin = session.get(CheckIn, message.checkin_id)
            if checkin is not None and checkin.status in ("sent", "unknown", "queued"):
                # Counts as unanswered for the follow-up steps; staff see why.
                checkin.status, checkin.error_code, checkin.error_kind = "failed", error_code, str(kind)
                session.add(checkin)
        if str(kind) in ("opted_out", "invalid_number"):
            apply_send_failure(session, message, str(kind), error_code, now)
    session.add(message)
    return True


def apply_send_failure(session, message: Message, kind: str, code: int | None,
                       now: datetime) -> None:  # type: ignore[no-untyped-def]
    """What a refused or undelivered message means for the patient (API error or callback)."""
    if message.patient_id is None:
        return
    patient = session.get(Patient, message.patient_id, with_for_update=True)
    if kind == "opted_out":
        # Twilio 21610: the patient sent STOP at the carrier. Mirror it; never retry.
        if patient.status != "opted_out":
            patient.status, patient.status_changed_at = "opted_out", now
            audit.record(session, "twilio", "patient.opted_out", "patient", patient.id,
                         clinic_id=patient.clinic_id, at=now, code=code)
        return
    reason = "invalid_number" if kind == "invalid_number" else "send_failed"
    open_or_join(session, clinic_id=patient.clinic_id, patient_id=patient.id, level="admin",
                 reason=reason, now=now, symptoms=[reason])
