"""The outbox: every outbound SMS is a `pending` row first, sent after its transaction commits.

A pass, with one claim token and one lease (REMINDERS_SEND_LEASE_SECONDS, database clock):
1. settles what dead workers left `sending` and looks up ambiguous (`unknown`) sends at
   the provider (send_recovery.py: no transaction open while the provider is asked);
2. claims batches of pending messages (`claimed`: most urgent first), holding routine
   ones back during quiet hours and cancelling those of patients who stopped;
3. marks a slice of them `sending` in one guarded UPDATE that checks the token and the
   lease (the fence: a row whose claim was taken over is not returned, so this worker
   does not send it), then for each: waits for a slot of the sender's shared rate
   (store/sendrate.py), sends it, and hands the outcome to the recorder, which writes
   SIDs as they return (outbox_record.py).
A heartbeat thread renews the pass's leases while it runs, so a slow pass keeps its
claims; a dead one loses them when the lease runs out.

Throughput: claims and fences are one UPDATE ... RETURNING each, on a connection the pass
holds (the recorder holds another); the next batch is claimed and fenced while the last
slices of the previous one are still being sent, so the sending threads never wait for a
batch boundary.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections import Counter
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

import sqlalchemy as sa

from reminders import plan, protocols
from reminders.db import session_scope
from reminders.models import ROUTINE_PRIORITY, Clinic, Message, Patient
from reminders.services.outbox_record import HeldConnection, Job, Recorder
from reminders.services.send_recovery import lookup_unknown, recover_stale
from reminders.services.status import apply_early, apply_send_failure  # noqa: F401 (re-export)
from reminders.sms.base import SendError, SmsGateway
from reminders.store.claims import claim_pending_messages, mark_sending, renew_leases
from reminders.store.sendrate import SharedRateLimiter

log = logging.getLogger(__name__)

SLICE_SECONDS = 0.5  # a slice of messages fenced in one UPDATE is about this long to send


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
    retrying: int = 0  # transient failures: back to pending, tried again in a later pass
    quiet_hours: int = 0  # routine messages claimed during quiet hours: wait for the morning
    fenced: int = 0  # claims taken over by another worker before we sent: not sent
    found_unknown: int = 0  # ambiguous sends found at the provider later
    lookup_errors: int = 0  # provider lookups that failed (each leaves one message)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def add(self, counts: dict[str, int]) -> None:
        for key, value in counts.items():
            setattr(self, key, getattr(self, key) + value)


@dataclass(frozen=True)
class SendOptions:
    """How this process sends: the sender's rate, threads, batch size, callback URL, lease."""

    status_callback: str | None = None
    rate: float = 10.0  # messages per second for the sender, all processes together
    concurrency: int = 4
    batch: int = 200
    lease_seconds: float = 300.0

    @classmethod
    def from_settings(cls, settings: Any) -> "SendOptions":
        return cls(status_callback=settings.status_callback_url, rate=settings.dispatch_rate,
                   concurrency=settings.dispatch_concurrency, batch=settings.dispatch_batch,
                   lease_seconds=settings.send_lease_seconds)


def sender_key(gateway: SmsGateway) -> str:
    """Whose rate the carrier limits: the From number or the Messaging Service."""
    return str(getattr(gateway, "sender_key", None) or gateway.name)


class Heartbeat:
    """Renews this pass's leases every third of the lease, until stopped."""

    def __init__(self, engine: sa.Engine, token: str, lease: timedelta) -> None:
        self.engine, self.token, self.lease = engine, token, lease
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="lease-heartbeat", daemon=True)

    def __enter__(self) -> "Heartbeat":
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopped.set()
        self.thread.join()

    def _run(self) -> None:
        interval = self.lease.total_seconds() / 3
        while not self.stopped.wait(interval):
            try:
                with session_scope(self.engine) as session:
                    renew_leases(session, self.token, self.lease)
            except sa.exc.SQLAlchemyError:
                log.exception("lease renewal failed")


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
    token = uuid.uuid4().hex
    lease = timedelta(seconds=options.lease_seconds)
    summary = OutboxSummary()
    counts: Counter[str] = Counter()
    with Heartbeat(engine, token, lease):
        recover_stale(engine, gateway, now=now, token=token, worker=worker, lease=lease,
                      counts=counts)
        lookup_unknown(engine, gateway, now=now, counts=counts)
        with session_scope(engine) as session:
            apply_early(session, now)  # callbacks that raced the recording of their SID
        limiter = SharedRateLimiter(engine, sender_key(gateway), options.rate)
        recorder = Recorder(engine, now, getattr(gateway, "simulated_final_status", None))

        def send(job: Job) -> None:
            # The slot comes after the fence: nothing (a database lock, say) stands between
            # a slot and its send, so sends keep their spacing.
            limiter.wait()
            try:
                result = gateway.send(job.phone, job.body, status_callback=options.status_callback)
            except SendError as exc:
                recorder.put(job, exc)
            else:
                recorder.put(job, result)

        connection = HeldConnection(engine)
        try:
            # Each thread builds its provider client before its first slot, not during it.
            warm = getattr(gateway, "warm", None)
            with ThreadPoolExecutor(max_workers=options.concurrency, thread_name_prefix="send",
                                    initializer=warm) as pool:
                slices = Slices(connection, pool, send, token, lease, slice_size(options), counts)
                while True:
                    with connection.session() as session:
                        claimed = claim_pending_messages(session, now, options.batch, worker,
                                                         token, lease)
                        jobs = _ready(session, claimed, now, counts)
                    if not claimed:
                        break
                    slices.send(jobs)
                slices.finish()
        finally:
            connection.close()
            summary.add(recorder.close())
    summary.add(dict(counts))
    return summary


def slice_size(options: SendOptions) -> int:
    """Messages fenced per UPDATE: about SLICE_SECONDS of sending at the sender's rate
    (few commits at high rates; at low rates few rows wait `sending` for their slot, which
    a crash would leave for recovery to look up), one to sixteen per thread."""
    by_rate = int(options.rate * SLICE_SECONDS)
    return max(options.concurrency, min(by_rate, options.concurrency * 16))


class Slices:
    """Fence a slice (one guarded UPDATE, one commit), hand its messages to the sending
    threads, fence the next while they send; at most MAX_IN_FLIGHT slices in flight, so a
    row is `sending` only shortly before its send (the heartbeat keeps its lease
    meanwhile). Slices in flight carry over from one claimed batch to the next."""

    MAX_IN_FLIGHT = 3

    def __init__(self, connection: HeldConnection, pool: ThreadPoolExecutor,
                 send: Callable[[Job], None], token: str, lease: timedelta, size: int,
                 counts: Counter[str]) -> None:
        self.connection, self.pool, self.send_one = connection, pool, send
        self.token, self.lease, self.size, self.counts = token, lease, size, counts
        self.in_flight: deque[list[Future[None]]] = deque()

    def send(self, jobs: list[Job]) -> None:
        for first in range(0, len(jobs), self.size):
            piece = jobs[first:first + self.size]
            with self.connection.session() as session:
                fenced = mark_sending(session, [job.message_id for job in piece], self.token,
                                      self.lease)
            self.counts["fenced"] += len(piece) - len(fenced)  # taken over: someone else sends them
            self.in_flight.append([self.pool.submit(self.send_one, job)
                                   for job in piece if job.message_id in fenced])
            while len(self.in_flight) > self.MAX_IN_FLIGHT:
                for future in self.in_flight.popleft():
                    future.result()

    def finish(self) -> None:
        while self.in_flight:
            for future in self.in_flight.popleft():
                future.result()


def _ready(session, claimed: list[sa.Row[Any]], now: datetime, counts: Counter[str]) -> list[Job]:  # type: ignore[no-untyped-def]
    """The claimed messages to send now; the others go back (quiet hours) or are cancelled."""
    stopped = _stopped_patients(session, {m.patient_id for m in claimed if m.patient_id is not None})
    zones = _clinic_zones(session, {m.clinic_id for m in claimed if m.clinic_id is not None})
    protocol = protocols.load_protocol()
    allowed_in: dict[str, datetime] = {}  # the same for every message of a time zone
    cancelled: list[int] = []
    held: dict[datetime, list[int]] = {}
    jobs = []
    for m in claimed:
        if m.patient_id in stopped:
            cancelled.append(m.id)
            continue
        if m.priority >= ROUTINE_PRIORITY and m.clinic_id in zones:
            # Overdue routine messages (after an outage, say) never go out at night.
            zone = zones[m.clinic_id]
            if zone not in allowed_in:
                allowed_in[zone] = plan.next_allowed_time(protocol, zone, now)
            if allowed_in[zone] > now:
                held.setdefault(allowed_in[zone], []).append(m.id)
                continue
        jobs.append(Job(m.id, m.phone, m.body, m.checkin_id))
    if cancelled:
        session.execute(sa.update(Message).where(Message.id.in_(cancelled))  # type: ignore[union-attr]
                        .values(status="cancelled", status_changed_at=now, claim_token=None)
                        .execution_options(synchronize_session=False))
        counts["cancelled"] += len(cancelled)
    for allowed, ids in held.items():
        session.execute(sa.update(Message).where(Message.id.in_(ids))  # type: ignore[union-attr]
                        .values(status="pending", send_after=allowed, claim_token=None,
                                lease_until=None)
                        .execution_options(synchronize_session=False))
        counts["quiet_hours"] += len(ids)
    return jobs


def _clinic_zones(session, clinic_ids: set[int]) -> dict[int, str]:  # type: ignore[no-untyped-def]
    if not clinic_ids:
        return {}
    rows = session.execute(sa.select(Clinic.id, Clinic.timezone)
                           .where(Clinic.id.in_(clinic_ids)))  # type: ignore[union-attr]
    return {row[0]: row[1] for row in rows}


def _stopped_patients(session, ids: set[int]) -> set[int]:  # type: ignore[no-untyped-def]
    """Patients who must get nothing more (STOP or withdrawn since the message was written)."""
    if not ids:
        return set()
    rows = session.execute(
        sa.select(Patient.id).where(Patient.id.in_(ids),  # type: ignore[union-attr]
                                    Patient.status.in_(("opted_out", "withdrawn")))  # type: ignore[attr-defined]
    )
    return {row[0] for row in rows}
