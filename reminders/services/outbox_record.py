"""Recording send results: each SID as its send returns, in small bulk transactions.

Sending threads hand each outcome to one `Recorder` thread, which writes what has arrived
within LINGER_SECONDS (20 ms) of the first waiting result (up to `max_batch`) in one
transaction, on a connection of its own held for the pass (no pool checkout and liveness
ping per transaction): a SID is in the database some 20-30 milliseconds after its send
returned, not when the batch ends, and a pass does not pay a commit per message. A
worker killed in that interval leaves its rows `sending`; recovery asks the provider. Kept callbacks for those SIDs are applied in the same
transaction.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from reminders.delivery import ErrorKind
from reminders.models import CheckIn, EarlyStatus, Message
from reminders.services.status import apply_early, apply_send_failure
from reminders.sms.base import SendError, SentSms

log = logging.getLogger(__name__)

RETRY_FIRST = timedelta(minutes=1)  # a transient failure waits this long, doubling each time
RETRY_CAP = timedelta(hours=1)
MAX_RETRIES = 8  # for messages without a next check-in to beat
LOOKUP_SPACING = timedelta(minutes=1)  # an unknown send is looked up after 2, 4, 8, ... minutes
LINGER_SECONDS = 0.02  # the recorder waits this long after a result for others to join it


@dataclass(frozen=True)
class Job:
    message_id: int
    phone: str
    body: str
    checkin_id: int | None


class HeldConnection:
    """One connection kept for a pass, for its units of work one after another (a pass
    makes hundreds; each through the pool would be a checkout and a liveness ping). A
    unit that fails drops the connection: the next one opens a new one. One thread at a
    time."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.connection: sa.Connection | None = None

    @contextmanager
    def session(self) -> Iterator[Session]:
        """Like `db.session_scope`: commit on success, roll back on any error."""
        if self.connection is None:
            self.connection = self.engine.connect()
        try:
            with Session(bind=self.connection, expire_on_commit=False) as session:
                try:
                    yield session
                    session.commit()
                except BaseException:
                    session.rollback()
                    raise
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            try:
                connection.close()
            except sa.exc.SQLAlchemyError:
                log.warning("closing a pass connection failed")


_MESSAGE = Message.__table__  # type: ignore[attr-defined]
_CHECKIN = CheckIn.__table__  # type: ignore[attr-defined]
_EARLY = EarlyStatus.__table__  # type: ignore[attr-defined]
# Built once: a pass runs them hundreds of times.
_SENT_MESSAGES = (
    sa.update(_MESSAGE).where(_MESSAGE.c.id == sa.bindparam("m_id"))
    .values(status=sa.bindparam("m_status"), provider_sid=sa.bindparam("m_sid"),
            status_changed_at=sa.bindparam("m_now"), claim_token=None, lease_until=None))
_SENT_CHECKINS = (
    sa.update(_CHECKIN).where(_CHECKIN.c.id == sa.bindparam("c_id"))
    .values(status="sent", sent_at=sa.bindparam("c_now"), provider_sid=sa.bindparam("c_sid")))
_ANY_EARLY = (sa.select(_EARLY.c.id).where(_EARLY.c.sid.in_(sa.bindparam("sids", expanding=True)))
              .limit(1))


def record_sent(session: Session, sent: list[tuple[Job, SentSms]], now: datetime,
                final_status: str | None = None) -> None:
    """Provider accepted these: SIDs and statuses, in two bulk updates (Core statements by
    primary key, one executemany each), then kept callbacks (looked for with one light
    query; the ORM work of applying them only when there are some)."""
    if not sent:
        return
    session.execute(_SENT_MESSAGES, [
        {"m_id": job.message_id, "m_status": final_status or result.status, "m_sid": result.sid,
         "m_now": now} for job, result in sent])
    checkins = [{"c_id": job.checkin_id, "c_sid": result.sid, "c_now": now}
                for job, result in sent if job.checkin_id is not None]
    if checkins:
        session.execute(_SENT_CHECKINS, checkins)
    sids = [result.sid for _, result in sent]
    if session.execute(_ANY_EARLY, {"sids": sids}).first() is not None:
        apply_early(session, now, sids)


def record_found(session: Session, message: Message, found: SentSms, now: datetime) -> None:
    """A message the provider turned out to have (recovery or a later lookup)."""
    message.status, message.provider_sid = found.status, found.sid
    message.status_changed_at, message.claim_token, message.lease_until = now, None, None
    message.next_attempt_at = None
    session.add(message)
    if message.checkin_id:
        checkin = session.get(CheckIn, message.checkin_id)
        if checkin is not None and checkin.status in ("queued", "unknown"):
            checkin.status, checkin.sent_at, checkin.provider_sid = "sent", now, found.sid
            session.add(checkin)
    session.flush()
    apply_early(session, now, [found.sid])


def worth_retrying(session: Session, message: Message, retry_at: datetime) -> bool:
    """A check-in is worth retrying until the patient's next check-in is due; any other
    message for MAX_RETRIES attempts (a few hours of backoff)."""
    if message.checkin_id:
        checkin = session.get(CheckIn, message.checkin_id)
        if checkin is not None:
            following = session.execute(
                sa.select(sa.func.min(CheckIn.due_at))
                .where(CheckIn.patient_id == checkin.patient_id, CheckIn.due_at > checkin.due_at)
            ).scalar_one_or_none()
            if following is not None:
                return retry_at < following
    return message.attempts < MAX_RETRIES


def backoff(attempts: int, retry_after: float | None) -> timedelta:
    delay = min(RETRY_CAP, RETRY_FIRST * (2 ** max(0, attempts - 1)))
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=retry_after))
    return delay


def record_failure(session: Session, message_id: int, outcome: SendError, now: datetime,
                   counts: dict[str, int]) -> None:
    message = session.get(Message, message_id, with_for_update=True)
    checkin = session.get(CheckIn, message.checkin_id) if message.checkin_id else None
    message.status_changed_at, message.claim_token, message.lease_until = now, None, None
    message.error_code, message.error_kind = outcome.code, outcome.kind
    if outcome.kind == ErrorKind.TRANSIENT:
        # Nothing went out (the gateway made sure): try again in a later pass, until the
        # patient's next check-in is due.
        retry_at = now + backoff(message.attempts, outcome.retry_after)
        if worth_retrying(session, message, retry_at):
            message.status, message.next_attempt_at = "pending", retry_at
            counts["retrying"] += 1
            session.add(message)
            log.warning("send failed message=%s kind=transient code=%s: retry later",
                        message.id, outcome.code)
            return
    if outcome.kind == ErrorKind.UNKNOWN:
        # The provider may have it: never re-send blindly; look it up later; staff see it.
        message.status, message.next_attempt_at = "unknown", now + LOOKUP_SPACING * 2
        if checkin is not None:
            checkin.status, checkin.sent_at = "unknown", now
        counts["unknown"] += 1
    else:
        message.status = "failed"
        if checkin is not None:
            checkin.status, checkin.error_code, checkin.error_kind = "failed", outcome.code, outcome.kind
        counts["failed"] += 1
        apply_send_failure(session, message, outcome.kind, outcome.code, now)
    session.add(message)
    log.warning("send failed message=%s kind=%s code=%s", message.id, outcome.kind, outcome.code)


class Recorder:
    """One thread writing outcomes as they arrive. `put()` from any thread; `close()`
    waits until everything handed over is written (or could not be: then the rows stay
    `sending` and recovery settles them by asking the provider)."""

    def __init__(self, engine: sa.Engine, now: datetime, final_status: str | None = None,
                 max_batch: int = 100, linger: float = LINGER_SECONDS) -> None:
        self.engine, self.now, self.final_status, self.max_batch = engine, now, final_status, max_batch
        self.linger = linger
        self.connection = HeldConnection(engine)
        self.counts = {"sent": 0, "failed": 0, "unknown": 0, "retrying": 0}
        self.queue: queue.Queue[tuple[Job, SentSms | SendError] | None] = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="send-recorder", daemon=True)
        self.thread.start()

    def put(self, job: Job, outcome: SentSms | SendError) -> None:
        self.queue.put((job, outcome))

    def close(self) -> dict[str, int]:
        self.queue.put(None)
        self.thread.join()
        self.connection.close()
        return self.counts

    def _run(self) -> None:
        done = False
        while not done:
            batch = [self.queue.get()]
            if batch[0] is not None and self.linger > 0:
                # Let the results of the sends now returning join this transaction: fewer,
                # larger transactions, each SID still written within milliseconds.
                time.sleep(self.linger)
            while len(batch) < self.max_batch:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            if None in batch:
                done = True
            items = [item for item in batch if item is not None]
            if items:
                self._write(items)

    def _write(self, items: list[tuple[Job, SentSms | SendError]]) -> None:
        for attempt in range(5):
            try:
                with self.connection.session() as session:
                    sent = [(j, o) for j, o in items if isinstance(o, SentSms)]
                    record_sent(session, sent, self.now, self.final_status)
                    counts = dict.fromkeys(self.counts, 0)
                    for job, outcome in items:
                        if isinstance(outcome, SendError):
                            record_failure(session, job.message_id, outcome, self.now, counts)
                counts["sent"] = len(sent)
                for key, value in counts.items():
                    self.counts[key] += value
                if sent:
                    log.info("sent messages=%s", len(sent))
                return
            except sa.exc.OperationalError:
                log.exception("recording send results failed (attempt %s)", attempt + 1)
                time.sleep(0.2 * 2 ** attempt)
        log.error("send results not recorded messages=%s: recovery will ask the provider",
                  len(items))

