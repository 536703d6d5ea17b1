"""Delivery status callbacks: statuses only move forward, duplicates change nothing."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session, select

from reminders import delivery
from reminders.models import CheckIn, Message
from reminders.services.outbox import apply_send_failure

log = logging.getLogger(__name__)


def apply_callback(session: Session, sid: str, new_status: str, error_code: int | None,
                   now: datetime) -> bool:
    """Apply one callback; True when it changed something."""
    message = session.exec(
        select(Message).where(Message.provider_sid == sid).with_for_update()
    ).first()
    if message is None:
        log.info("status callback for an unknown sid (ignored)")
        return False
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
