"""The dispatch pass: due check-ins become outbox messages, then the outbox is sent.

Each check-in is sent at most once: it is claimed (planned -> queued, with its message
written in the same transaction) by exactly one process, and the message itself is
claimed again, with a fencing token and a lease on the database clock, by exactly one
sender (see outbox.py).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any, Callable

import sqlalchemy as sa
from sqlmodel import Session, select

from reminders import messages, plan, protocols
from reminders.db import session_scope
from reminders.models import ROUTINE_PRIORITY, CheckIn, Clinic, Message, Patient
from reminders.progress import no_progress
from reminders.services.enroll import greeting_values
from reminders.services.outbox import SendOptions, send_pending
from reminders.sms.base import SmsGateway
from reminders.store.claims import (
    EXCHANGE_WINDOW, ClaimedCheckin, claim_newest_due, claim_newest_due_waiting, still_due,
)

log = logging.getLogger(__name__)

# How long, in all, a pass waits for due patients other processes hold locked.
BUSY_WAIT_SECONDS = 20.0


def queue_due_checkins(engine: sa.Engine, *, now: datetime, batch: int = 500,
                       wait_for_busy: float = BUSY_WAIT_SECONDS,
                       progress: Callable[[str, int], object] = no_progress) -> dict[str, int]:
    """Turn every due check-in into a pending message; older overdue ones are skipped.

    Patients another process holds locked (a triage pass, a webhook, the other dispatcher)
    are passed over, then waited for, one at a time, up to `wait_for_busy` seconds in all:
    left for the next pass, their check-in could be superseded by a newer one before it
    (a one-shot `dispatch --now`, a pass just before the next check-in's time). Those
    still held when the wait runs out are counted in "busy" and left for the next pass;
    "waited" counts the check-ins queued only after such a wait.
    """
    protocol = protocols.load_protocol()
    counts = {"due": 0, "skipped": 0, "busy": 0, "waited": 0}
    passed_over: set[int] = set()
    while True:
        with session_scope(engine) as session:
            claimed, superseded, busy = claim_newest_due(session, now, batch, passed_over)
            passed_over |= busy
            if not claimed and not busy:
                break
            _queue(session, protocol, claimed, now)
            counts["due"] += len(claimed)
            counts["skipped"] += superseded
        progress("check-ins queued", len(claimed))
    deadline = time.monotonic() + wait_for_busy
    if passed_over:
        with session_scope(engine) as session:
            passed_over = still_due(session, now, passed_over)
    for patient_id in sorted(passed_over):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            counts["busy"] += 1
            continue
        try:
            with session_scope(engine, timeout=remaining) as session:
                claimed, superseded = claim_newest_due_waiting(session, now, patient_id)
                _queue(session, protocol, claimed, now)
        except sa.exc.OperationalError as exc:
            if not _waited_too_long(exc):
                raise  # the database is down, not busy: the pass fails as before
            counts["busy"] += 1
            continue
        counts["due"] += len(claimed)
        counts["waited"] += len(claimed)
        counts["skipped"] += superseded
        progress("check-ins queued", len(claimed))
    if counts["busy"]:
        log.warning("dispatch left %s due patients held locked by another process for the next pass",
                    counts["busy"])
    return counts


def _waited_too_long(exc: sa.exc.OperationalError) -> bool:
    """The wait session_scope's timeout bounds ran out on PostgreSQL: statement_timeout
    (57014, first when both are equal) or lock_timeout (55P03)."""
    return getattr(exc.orig, "sqlstate", None) in ("57014", "55P03")


def _queue(session: Session, protocol: protocols.Protocol, claimed: list[ClaimedCheckin], now: datetime) -> None:
    """Write one pending message per claimed check-in and mark the check-ins queued."""
    if not claimed:
        return
    patients = {row.id: row for row in session.execute(
        sa.select(Patient.id, Patient.clinic_id, Patient.phone, Patient.language, Patient.shared_phone,
                  Patient.display_name)
        .where(Patient.id.in_({c.patient_id for c in claimed})))}  # type: ignore[union-attr]
    clinics = _load(session, Clinic, {p.clinic_id for p in patients.values()})
    # Overdue after an outage, found at night: it waits for the morning (one instant per zone).
    send_after = {clinic.id: plan.next_allowed_time(protocol, clinic.timezone, now) for clinic in clinics.values()}
    rows = []
    for checkin in claimed:
        patient = patients[checkin.patient_id]
        clinic = clinics[patient.clinic_id]
        rows.append({
            "patient_id": patient.id, "clinic_id": clinic.id, "checkin_id": checkin.id,
            "direction": "outbound", "kind": "checkin", "phone": patient.phone,
            "status": "pending", "attempts": 0, "created_at": now,
            "priority": ROUTINE_PRIORITY, "send_after": send_after[clinic.id],
            "body": messages.render("checkin", patient.language, **greeting_values(clinic, patient)),
        })
    # Bulk, in Core: one INSERT ... RETURNING and one executemany UPDATE for the whole batch.
    connection = session.connection()
    message = Message.__table__  # type: ignore[attr-defined]
    ids = connection.execute(
        message.insert().returning(message.c.id, sort_by_parameter_order=True), rows
    ).scalars().all()
    checkin = CheckIn.__table__  # type: ignore[attr-defined]
    connection.execute(
        checkin.update().where(checkin.c.id == sa.bindparam("checkin_id"))
        .values(status="queued", message_id=sa.bindparam("new_message_id"), attempts=sa.bindparam("new_attempts")),
        [{"checkin_id": c.id, "new_message_id": message_id, "new_attempts": c.attempts + 1}
         for c, message_id in zip(claimed, ids, strict=True)])


def count_held(engine: sa.Engine, now: datetime) -> int:
    """Due check-ins held back because the patient is in the middle of an exchange."""
    with session_scope(engine) as session:
        return session.execute(
            sa.select(sa.func.count(CheckIn.id))
            .join(Patient, Patient.id == CheckIn.patient_id)
            .where(CheckIn.status == "planned", CheckIn.due_at <= now, Patient.status == "active",
                   Patient.last_inbound_at >= now - EXCHANGE_WINDOW)  # type: ignore[operator]
        ).scalar_one()


def run_once(
    engine: sa.Engine,
    gateway: SmsGateway,
    *,
    now: datetime,
    options: SendOptions = SendOptions(),
    worker: str | None = None,
    progress: Callable[[str, int], object] = no_progress,
) -> dict[str, Any]:
    """One dispatch pass as of `now`: the summary `reminders dispatch` prints."""
    summary: dict[str, Any] = queue_due_checkins(engine, now=now, batch=options.batch, progress=progress)
    summary["held"] = count_held(engine, now)
    outbox = send_pending(engine, gateway, now=now, options=options, worker=worker)
    summary.update(outbox.as_dict())
    return summary


def _load(session, model, ids: set[int]) -> dict[int, Any]:  # type: ignore[no-untyped-def]
    return {row.id: row for row in session.exec(select(model).where(model.id.in_(ids)))}
