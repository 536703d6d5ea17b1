"""The outbox: every outbound SMS is a `pending` row first, sent after its transaction commits.

Commit, then send, then record: Twilio is never called inside an open transaction, and a
crash between sending and recording leaves the row `sending`, which `recover_stale`
settles by asking the provider (see the README, "Crash recovery").
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from reminders.db import session_scope
from reminders.models import CheckIn, Message, Patient
from reminders.services import audit
from reminders.services.queue import open_or_join
from reminders.sms.base import SendError, SentSms, SmsGateway
from reminders.store.claims import claim_pending_messages, stale_sending

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)  # a `sending` row older than this belongs to a dead worker


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class OutboxSummary:
    sent: int = 0
    failed: int = 0
    unknown: int = 0
    cancelled: int = 0
    recovered: int = 0  # stale claims found at the provider: recorded, not re-sent
    requeued: int = 0  # stale claims the provider never saw: sent again

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class RateLimiter:
    """At most `rate` sends per second from this process, shared by the sending threads."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.next_slot = time.monotonic()
        self.lock = threading.Lock()

    def wait(self) -> None:
        with self.lock:
            now = time.monotonic()
            slot = max(now, self.next_slot)
            self.next_slot = slot + self.interval
        if slot > now:
            time.sleep(slot - now)


@dataclass(frozen=True)
class SendOptions:
    """How this process sends: the sender's rate, threads, batch size, callback URL."""

    status_callback: str | None = None
    rate: float = 10.0  # messages per second (set by the sender, not by us)
    concurrency: int = 4
    batch: int = 200

    @classmethod
    def from_settings(cls, settings: Any) -> "SendOptions":
        return cls(status_callback=settings.status_callback_url, rate=settings.dispatch_rate,
                   concurrency=settings.dispatch_concurrency, batch=settings.dispatch_batch)


@dataclass(frozen=True)
class _Job:
    message_id: int
    phone: str
    body: str
    checkin_id: int | None


def send_pending(
    engine: sa.Engine,
    gateway: SmsGateway,
    *,
    now: datetime,
    options: SendOptions = SendOptions(),
    worker: str | None = None,
) -> OutboxSummary:
    """Send every pending outbound message whose time has come; returns what happened."""
    worker = worker or worker_name()
    summary = OutboxSummary()
    recover_stale(engine, gateway, now=now, summary=summary)
    limiter = RateLimiter(options.rate)

    def send(job: _Job) -> tuple[_Job, SentSms | SendError]:
        limiter.wait()
        try:
            return job, gateway.send(job.phone, job.body, status_callback=options.status_callback)
        except SendError as exc:
            return job, exc

    with ThreadPoolExecutor(max_workers=options.concurrency, thread_name_prefix="send") as pool:
        while True:
            with session_scope(engine) as session:
                claimed = claim_pending_messages(session, now, options.batch, worker)
                stopped = _stopped_patients(session, claimed)
                jobs = []
                for m in claimed:
                    if m.patient_id in stopped:
                        m.status, m.status_changed_at = "cancelled", now
                        summary.cancelled += 1
                    else:
                        jobs.append(_Job(m.id, m.phone, m.body, m.checkin_id))  # type: ignore[arg-type]
            if not claimed:
                break
            # One transaction records the whole batch: a crash before it commits leaves the
            # batch `sending`, which recover_stale settles by asking the provider.
            outcomes = list(pool.map(send, jobs))
            with session_scope(engine) as session:
                _record_sent(session, [(j, o) for j, o in outcomes if isinstance(o, SentSms)],
                             gateway, now, summary)
                for job, outcome in outcomes:
                    if isinstance(outcome, SendError):
                        _record_failure(session, job.message_id, outcome, now, summary)
    return summary


def _stopped_patients(session, messages: list[Message]) -> set[int]:  # type: ignore[no-untyped-def]
    """Patients who must get nothing more (STOP or withdrawn since the message was written)."""
    ids = {m.patient_id for m in messages if m.patient_id is not None}
    if not ids:
        return set()
    rows = session.execute(
        sa.select(Patient.id).where(Patient.id.in_(ids),  # type: ignore[union-attr]
                                    Patient.status.in_(("opted_out", "withdrawn")))  # type: ignore[attr-defined]
    )
    return {row[0] for row in rows}


def _record_sent(session, sent: list[tuple[_Job, SentSms]], gateway: SmsGateway, now: datetime,
                 summary: OutboxSummary) -> None:  # type: ignore[no-untyped-def]
    """The common case, in two bulk updates (one row at a time costs most of a pass)."""
    if not sent:
        return
    final = getattr(gateway, "simulated_final_status", None)
    session.execute(sa.update(Message), [
        {"id": job.message_id, "status": final or result.status, "provider_sid": result.sid,
         "status_changed_at": now} for job, result in sent])
    checkins = [{"id": job.checkin_id, "status": "sent", "sent_at": now, "provider_sid": result.sid}
                for job, result in sent if job.checkin_id is not None]
    if checkins:
        session.execute(sa.update(CheckIn), checkins)
    summary.sent += len(sent)
    log.info("sent messages=%s", len(sent))


def _record_failure(session, message_id: int, outcome: SendError, now: datetime,
                    summary: OutboxSummary) -> None:  # type: ignore[no-untyped-def]
    message = session.get(Message, message_id, with_for_update=True)
    checkin = session.get(CheckIn, message.checkin_id) if message.checkin_id else None
    message.status_changed_at = now
    message.error_code, message.error_kind = outcome.code, outcome.kind
    if outcome.kind == "unknown":
        # The provider may have it: never re-send blindly; staff see "unknown".
        message.status = "unknown"
        if checkin is not None:
            checkin.status, checkin.sent_at = "unknown", now
        summary.unknown += 1
    else:
        message.status = "failed"
        if checkin is not None:
            checkin.status, checkin.error_code, checkin.error_kind = "failed", outcome.code, outcome.kind
        summary.failed += 1
        apply_send_failure(session, message, outcome.kind, outcome.code, now)
    log.warning("send failed message=%s kind=%s code=%s", message.id, outcome.kind, outcome.code)


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


def recover_stale(engine: sa.Engine, gateway: SmsGateway, *, now: datetime,
                  summary: OutboxSummary, limit: int = 500) -> None:
    """Settle messages left `sending` by a worker that died: found at the provider -> sent;
    not found -> pending again (sent once more by this pass)."""
    with session_scope(engine) as session:
        for message in stale_sending(session, now, LEASE, limit):
            since = (message.claimed_at or now) - timedelta(minutes=1)
            found = gateway.find_sent(message.phone, message.body, since)
            checkin = session.get(CheckIn, message.checkin_id) if message.checkin_id else None
            if found is not None:
                message.status, message.provider_sid = found.status, found.sid
                message.status_changed_at = now
                if checkin is not None:
                    checkin.status, checkin.sent_at, checkin.provider_sid = "sent", now, found.sid
                summary.recovered += 1
            else:
                message.status, message.claimed_at, message.claimed_by = "pending", None, None
                summary.requeued += 1
            audit.record(session, "system", "outbox.recover", "message", message.id,
                         at=now, found=found is not None)
