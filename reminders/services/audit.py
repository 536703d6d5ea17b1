"""The audit log: who read or did what, by ids only (never a phone number or a body)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from reminders.models import AuditEvent, utcnow


def record(
    session: Session,
    actor: str,
    action: str,
    entity: str,
    entity_id: int | None = None,
    *,
    clinic_id: int | None = None,
    at: datetime | None = None,
    **detail: Any,
) -> None:
    # A plain INSERT, not an ORM object: audit rows are written on every request and
    # never read back in the same transaction.
    session.connection().execute(sa.insert(AuditEvent).values(
        actor=actor, action=action, entity=entity, entity_id=entity_id,
        clinic_id=clinic_id, at=at or utcnow(), detail=detail,
    ))
