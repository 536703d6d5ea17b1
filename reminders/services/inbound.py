"""A reply arrives: store it exactly once and answer it; then triage it into the queue.

Two steps, because Twilio waits 15 s at most and a reply must never be lost:

1. `ingest` (the webhook, the spool replay, reconciliation): store the reply once per
   MessageSid, act on keywords at once (STOP must stop everything now), and compute the
   automatic answer from triage, which is pure and fast. A handful of statements.
2. `process_received` (a periodic pass, every few seconds): for each stored reply, mark
   the check-in answered, open or join the queue item, alert the on-call phone.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import phonenumbers
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from reminders import messages
from reminders.danger import YES, DangerAnswer
from reminders.keywords import Keyword, parse_keyword
from reminders.languages import LANGUAGES
from reminders.db import session_scope
from reminders.models import CheckIn, Clinic, Message, Patient, QueueItem, priority_of
from reminders.services import audit, danger
from reminders.services.enroll import greeting_values
from reminders.services.queue import open_or_join
from reminders.triage import triage

log = logging.getLogger(__name__)

AnswerMode = Literal["twiml", "outbox", "none"]
# A reply answers the latest check-in sent in the last week.
ANSWER_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class Incoming:
    sid: str
    from_: str
    to: str
    body: str
    opt_out_type: str | None = None  # Twilio Advanced Opt-Out: STOP, START or HELP

    def storable(self) -> "Incoming":
        """The same reply with what no database can hold replaced by U+FFFD.

        PostgreSQL refuses NUL in text and no engine takes a lone surrogate: the reply
        is kept with a visible mark instead of being lost. Called after the signature
        check, which must see the form exactly as Twilio signed it.
        """
        return Incoming(sid=storable_text(self.sid), from_=storable_text(self.from_),
                        to=storable_text(self.to), body=storable_text(self.body),
                        opt_out_type=storable_text(self.opt_out_type) if self.opt_out_type else None)


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_text(text: str) -> str:
    return _UNSTORABLE.sub("\ufffd", text)


@dataclass(frozen=True)
class Outcome:
    message_id: int
    answer: str | None  # the TwiML answer (also when the delivery was a duplicate)
    duplicate: bool = False


def ingest(session: Session, sms: Incoming, *, now: datetime, answer_mode: AnswerMode) -> Outcome:
    """Store one inbound SMS and answer it. A second delivery of the same SID changes nothing."""
    found = find_patient(session, sms.from_)
    patient, clinic = found if found else (None, default_clinic(session, sms.from_))
    keyword = _keyword(sms) if patient is not None else None
    question = None
    if patient is not None and (keyword is None or keyword.action == "start"):
        # While the danger-sign question is open, "YES" answers it: it is not Twilio's
        # opt-in START (and "1" is not "I am well").
        question = danger.pending_answer(session, patient, sms.body, now)
        keyword = None if question is not None else keyword
    settled = patient is None or keyword is not None  # nothing left for process_received
    message_id = _insert_once(session, sms, patient, clinic, now, "processed" if settled else "received")
    if message_id is None:
        return _duplicate(session, sms.sid)
    if patient is None:
        answer = _unknown_sender(session, clinic, now)
    elif keyword is not None:
        session.refresh(patient, with_for_update=True)  # STOP/START race nothing
        patient.last_inbound_at = now
        answer = _apply_keyword(session, patient, keyword, greeting_values(clinic, patient), now)
    else:
        answer = answer_for(sms.body, patient, clinic, question=question)
    if answer is not None and answer_mode != "none":
        session.connection().execute(sa.insert(Message).values(
            patient_id=patient.id if patient else None, clinic_id=clinic.id if clinic else None,
            in_reply_to=message_id, direction="outbound", kind="answer", phone=sms.from_,
            body=answer, created_at=now, attempts=0,
            status="twiml" if answer_mode == "twiml" else "pending",
        ))
    log.info("inbound message=%s patient=%s", message_id, patient.id if patient else None)
    return Outcome(message_id, answer if answer_mode == "twiml" else None)


# -- the common reply on PostgreSQL, in two statements --------------------------------------
#
# Most replies come from a known patient, are no keyword and answer no danger-sign
# question: for those `ingest` comes down to one read and two inserts. `ingest_common`
# does exactly that in two statements on one autocommit connection (the webhook's, see
# db.create_webhook_engine): the read, then both inserts in one statement (a CTE), which
# is atomic by itself. Anything else (unknown sender, keyword, a question that may be
# open, a second delivery) returns None or the duplicate's answer, and the caller runs
# `ingest`, which decides exactly as before.

_SENDER_SQL = """
SELECT p.id, p.clinic_id, p.status, p.language, p.shared_phone, p.display_name, c.name, c.phone,
       EXISTS (SELECT 1 FROM queue_item q WHERE q.patient_id = p.id AND q.danger_message_id IS NOT NULL
               AND q.danger_answer IS NULL AND q.status IN ('open', 'claimed')) AS maybe_question
FROM patient p JOIN clinic c ON c.id = p.clinic_id
WHERE p.phone = %(phone)s
ORDER BY CASE p.status WHEN 'active' THEN 0 WHEN 'paused' THEN 1 WHEN 'opted_out' THEN 2
         WHEN 'completed' THEN 3 WHEN 'withdrawn' THEN 4 END, p.enrolled_at DESC
LIMIT 1
"""
_STORE_WITH_ANSWER_SQL = """
WITH reply AS (
    INSERT INTO message (patient_id, clinic_id, direction, kind, phone, body, provider_sid, status,
                         created_at, attempts, priority)
    VALUES (%(patient_id)s, %(clinic_id)s, 'inbound', 'reply', %(phone)s, %(body)s, %(sid)s, 'received',
            %(now)s, 0, %(reply_priority)s)
    ON CONFLICT (provider_sid) DO NOTHING
    RETURNING id)
INSERT INTO message (patient_id, clinic_id, in_reply_to, direction, kind, phone, body, status,
                     created_at, attempts, priority)
SELECT %(patient_id)s, %(clinic_id)s, reply.id, 'outbound', 'answer', %(phone)s, %(answer)s, 'twiml',
       %(now)s, 0, %(answer_priority)s
FROM reply
RETURNING in_reply_to
"""
_STORE_SQL = """
INSERT INTO message (patient_id, clinic_id, direction, kind, phone, body, provider_sid, status,
                     created_at, attempts, priority)
VALUES (%(patient_id)s, %(clinic_id)s, 'inbound', 'reply', %(phone)s, %(body)s, %(sid)s, 'received',
        %(now)s, 0, %(reply_priority)s)
ON CONFLICT (provider_sid) DO NOTHING
RETURNING id
"""
_DUPLICATE_SQL = """
SELECT r.id, (SELECT a.body FROM message a WHERE a.in_reply_to = r.id AND a.status = 'twiml'
              ORDER BY a.id LIMIT 1)
FROM message r WHERE r.provider_sid = %(sid)s
"""


@dataclass(frozen=True)
class _PatientView:
    """What `answer_for` and the templates read of a patient (duck-typed Patient)."""

    id: int
    clinic_id: int
    status: str
    language: str
    shared_phone: bool
    display_name: str | None


@dataclass(frozen=True)
class _ClinicView:
    id: int
    name: str
    phone: str | None


def ingest_common(connection: sa.Connection, sms: Incoming, *, now: datetime) -> Outcome | None:
    """`ingest(..., answer_mode="twiml")` for the common reply, on an autocommit PostgreSQL
    connection; None when this reply needs `ingest` (nothing was written then)."""
    if _keyword(sms) is not None:
        return None  # STOP, START, HELP, a language: ingest locks the patient and audits
    row = connection.exec_driver_sql(_SENDER_SQL, {"phone": sms.from_}).first()
    if row is None:
        return None  # an unknown sender: ingest opens an admin item
    patient = _PatientView(row[0], row[1], row[2], row[3], bool(row[4]), row[5])
    if row[8] and patient.status == "active":
        return None  # a danger-sign question may be open: ingest reads the answer to it
    clinic = _ClinicView(row[1], row[6], row[7])
    answer = answer_for(sms.body, patient, clinic)  # type: ignore[arg-type]
    values = {"patient_id": patient.id, "clinic_id": clinic.id, "phone": sms.from_, "body": sms.body,
              "sid": sms.sid, "now": now, "answer": answer, "reply_priority": priority_of("reply"),
              "answer_priority": priority_of("answer")}
    stored = connection.exec_driver_sql(_STORE_WITH_ANSWER_SQL if answer is not None else _STORE_SQL,
                                        values).first()
    if stored is None:  # this SID is stored already: Twilio's retry gets the same answer
        found = connection.exec_driver_sql(_DUPLICATE_SQL, {"sid": sms.sid}).first()
        if found is None:
            return None  # cannot happen (the conflict was on this SID); ingest will say
        return Outcome(found[0], found[1], duplicate=True)
    log.info("inbound message=%s patient=%s", stored[0], patient.id)
    return Outcome(stored[0], answer)


ANSWER_KEYS = {"urgent": "urgent_ack", "flag": "flag_ack", "ok": "thanks_ok", "admin": "help"}


def answer_for(body: str, patient: Patient, clinic: Clinic, *, question: DangerAnswer | None = None) -> str | None:
    """The automatic answer to a reply (None for a patient who opted out); `question`: how
    the reply answers the open danger-sign question, if it does."""
    if patient.status == "opted_out":
        return None  # they asked for no messages: staff decide how to reach them
    if question is not None:
        key = "urgent_ack" if question.kind == YES else "danger_no_ack"
        return messages.render(key, patient.language, **greeting_values(clinic, patient))
    result = triage(body, language=patient.language)
    if "call_request" in result.symptoms or result.intent == "call_request":
        key = "flag_ack"  # "6" or "please call me": admin, yet a nurse will call, so say so
    elif result.intent == "thanks":
        key = "thanks_ok"
    else:
        key = ANSWER_KEYS[result.level]
    return messages.render(key, patient.language, **greeting_values(clinic, patient))


def process_received(engine: sa.Engine, *, batch: int = 50) -> dict[str, int]:
    """Triage stored replies into the queue (one transaction per batch; claims skip locked).

    Batches stay small: a batch holds its patients' rows locked until it commits.
    """
    processed = 0
    failed: list[int] = []  # retried by the next pass, not again by this one
    while True:
        with session_scope(engine) as session:
            rows = session.exec(
                select(Message)
                .where(Message.direction == "inbound", Message.status == "received",
                       Message.id.notin_(failed))  # type: ignore[union-attr]
                .order_by(Message.id)  # type: ignore[arg-type]
                .limit(batch)
                .with_for_update(skip_locked=True)
            ).all()
            asked = _may_have_open_question(session, {m.patient_id for m in rows if m.patient_id is not None})
            for message in rows:
                if _process_one(session, message, maybe_question=message.patient_id in asked):
                    processed += 1
                else:
                    failed.append(message.id)
        if len(rows) < batch:
            return {"processed": processed, "failed": len(failed)}


# A reply the pass cannot process is retried this many times, then left for staff.
MAX_PROCESS_ATTEMPTS = 3


def _may_have_open_question(session: Session, patient_ids: set[int]) -> set[int]:
    """The patients of a batch who have an unanswered danger-sign question at all: one
    query for the batch, so `danger.take_answer` (a query per reply) runs only for them.
    A question asked while this batch is processed is still pending, so not yet open."""
    if not patient_ids:
        return set()
    return set(session.exec(
        select(QueueItem.patient_id).where(
            QueueItem.patient_id.in_(patient_ids),  # type: ignore[union-attr]
            QueueItem.danger_message_id.is_not(None),  # type: ignore[union-attr]
            QueueItem.danger_answer.is_(None),  # type: ignore[union-attr]
            QueueItem.status.in_(("open", "claimed")))  # type: ignore[attr-defined]
    ).all())


def _process_one(session: Session, message: Message, *, maybe_question: bool = True) -> bool:
    """Process one reply in its own savepoint: one bad reply never blocks the others.

    A failure is logged by id, counted in `attempts`; after MAX_PROCESS_ATTEMPTS the reply
    is marked `unprocessable` and an admin queue item shows it to staff. The database
    being unavailable is not the reply's fault: that error ends the pass instead.
    """
    message_id, attempts = message.id, message.attempts or 0
    try:
        with session.begin_nested():
            _process(session, message, maybe_question=maybe_question)
        return True
    except sa.exc.OperationalError:
        raise
    except Exception as exc:  # noqa: BLE001 - any bug or bad row: isolate it, keep going
        attempts += 1
        given_up = attempts >= MAX_PROCESS_ATTEMPTS
        # The exception's text may quote the reply: log its type and the id only.
        log.error("reply could not be processed message=%s attempt=%s error=%s%s", message_id,
                  attempts, type(exc).__name__, " (given up: staff item)" if given_up else "")
        session.connection().execute(sa.update(Message).where(Message.id == message_id).values(
            attempts=attempts, status="unprocessable" if given_up else "received"))
        if given_up:
            _surface_unprocessable(session, message_id)
        return False


def _surface_unprocessable(session: Session, message_id: int) -> None:
    row = session.connection().execute(
        sa.select(Message.clinic_id, Message.patient_id, Message.created_at).where(Message.id == message_id)
    ).first()
    if row is None or row.clinic_id is None:
        return  # no clinic to show it to: the log line and the status remain
    try:
        with session.begin_nested():
            open_or_join(session, clinic_id=row.clinic_id, patient_id=row.patient_id, level="admin",
                         reason="unprocessable", now=row.created_at, symptoms=["unprocessable"])
    except sa.exc.OperationalError:
        raise
    except Exception as exc:  # noqa: BLE001
        log.error("no queue item for unprocessable message=%s error=%s", message_id, type(exc).__name__)


def _process(session: Session, message: Message, *, maybe_question: bool = True) -> None:
    # FOR NO KEY UPDATE (PostgreSQL): serialises passes, STOP and dispatch claims on this
    # patient as FOR UPDATE did, but not the webhook's INSERT of the patient's next reply,
    # whose foreign-key check only takes FOR KEY SHARE. With FOR UPDATE that INSERT waited
    # for the whole batch to commit (a worker at low CPU priority held it for long).
    patient = session.get(Patient, message.patient_id, with_for_update={"key_share": True})
    clinic = session.get(Clinic, patient.clinic_id)
    when = message.created_at  # the time the reply arrived, not the time of this pass
    message.status = "processed"
    session.add(message)
    if patient.last_inbound_at is None or patient.last_inbound_at < when:
        patient.last_inbound_at = when
        session.add(patient)
    answered = danger.take_answer(session, message, patient, when) if maybe_question else None
    if answered is not None:  # the answer to the danger-sign question (services/danger.py)
        _alert_if_urgent(session, clinic, answered, when)
        return
    result = triage(message.body, language=patient.language)
    message.triage_level = result.level  # kept after retention erases the body; /metrics
    _mark_answered(session, patient.id, when)
    audit.record(session, "system", "reply.triage", "message", message.id, clinic_id=clinic.id,
                 at=when, level=result.level, symptoms=list(result.symptoms))
    # A plain thank-you is admin but asks staff for nothing (DESIGN.md): no queue item.
    if result.level in ("urgent", "flag", "admin") and result.intent != "thanks":
        item = open_or_join(session, clinic_id=clinic.id, patient_id=patient.id, level=result.level,
                            reason="reply", now=when, symptoms=result.symptoms,
                            evidence=result.evidence)
        _alert_if_urgent(session, clinic, item, when)
        danger.after_reply(session, item, patient, clinic, result.level, when)


def _alert_if_urgent(session: Session, clinic: Clinic, item: QueueItem, when: datetime) -> None:
    if item.level == "urgent" and item.alerted_at is None and item.status == "open":
        alert_on_call(session, clinic, item.id, clinic.oncall_phone, when)
        item.alerted_at = when
        session.add(item)


def _insert_once(session: Session, sms: Incoming, patient: Patient | None, clinic: Clinic | None,
                 now: datetime, status: str) -> int | None:
    """Insert the reply; None when its SID is stored already.

    Twilio retries with the same MessageSid, sometimes while the first delivery is still
    being handled: the unique index decides, and ON CONFLICT DO NOTHING makes the loser
    a no-op instead of an error (PostgreSQL and SQLite alike).
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(Message)
        .values(patient_id=patient.id if patient else None, clinic_id=clinic.id if clinic else None,
                direction="inbound", kind="reply", phone=sms.from_, body=sms.body,
                provider_sid=sms.sid, status=status, created_at=now, attempts=0)
        .on_conflict_do_nothing(index_elements=["provider_sid"])
        .returning(Message.id)
    )
    return session.connection().execute(statement).scalar_one_or_none()


def _duplicate(session: Session, sid: str) -> Outcome:
    # Twilio retried because our first answer did not reach it: give the same answer again.
    message_id = session.exec(select(Message.id).where(Message.provider_sid == sid)).one()
    answer = session.exec(
        select(Message.body).where(Message.in_reply_to == message_id, Message.status == "twiml")
    ).first()
    return Outcome(message_id, answer, duplicate=True)


_STATUS_ORDER = sa.case(
    {status: rank for rank, status in enumerate(("active", "paused", "opted_out", "completed", "withdrawn"))},
    value=Patient.status,
)


def find_patient(session: Session, phone: str) -> tuple[Patient, Clinic] | None:
    """The patient this number belongs to (an active one first, then the latest enrolled)
    and their clinic. Not locked: the webhook only reads them (keywords lock, see ingest)."""
    row = session.exec(
        select(Patient, Clinic)
        .join(Clinic, Clinic.id == Patient.clinic_id)
        .where(Patient.phone == phone)
        .order_by(_STATUS_ORDER, Patient.enrolled_at.desc())  # type: ignore[attr-defined]
        .limit(1)
    ).first()
    return (row[0], row[1]) if row else None


def default_clinic(session: Session, phone: str) -> Clinic | None:
    """Whose queue an unknown sender lands in: the clinic in the sender's country, else the first."""
    clinics = session.exec(select(Clinic).order_by(Clinic.id)).all()
    for clinic in clinics:
        if _same_country(phone, clinic.country):
            return clinic
    return clinics[0] if clinics else None


def _same_country(phone: str, country: str) -> bool:
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(phone)) == country
    except phonenumbers.NumberParseException:
        return False


def _unknown_sender(session: Session, clinic: Clinic | None, now: datetime) -> str:
    if clinic is not None:
        open_or_join(session, clinic_id=clinic.id, patient_id=None, level="admin",
                     reason="unknown_sender", now=now, symptoms=["unknown_sender"])
    # Polite, neutral, and nothing about who we are or what we do.
    return messages.render("unknown_sender", "en")


def alert_on_call(session: Session, clinic: Clinic, item_id: int, phone: str | None,
                  now: datetime) -> None:
    """An SMS to a staff phone: a queue reference only, no name, no symptom."""
    if not phone:
        log.warning("no on-call phone for clinic=%s item=%s", clinic.id, item_id)
        return
    session.add(Message(
        clinic_id=clinic.id, direction="outbound", kind="alert", phone=phone, status="pending",
        created_at=now, body=messages.render("oncall_alert", "en", item_ref=f"#{item_id}"),
    ))


def _keyword(sms: Incoming) -> Keyword | None:
    opt_out = (sms.opt_out_type or "").strip().upper()
    if opt_out in ("STOP", "START", "HELP"):
        return Keyword(action=opt_out.lower(), language=None)
    return parse_keyword(sms.body)


def _apply_keyword(session: Session, patient: Patient, keyword: Keyword, values: dict[str, str | None],
                   now: datetime) -> str | None:
    audit.record(session, "twilio", f"keyword.{keyword.action}", "patient", patient.id,
                 clinic_id=patient.clinic_id, at=now)
    if keyword.action == "stop":
        if patient.status == "opted_out":
            return None  # one confirmation only
        patient.status, patient.status_changed_at = "opted_out", now
        session.execute(
            sa.update(Message)
            .where(Message.patient_id == patient.id, Message.direction == "outbound",
                   Message.status == "pending")
            .values(status="cancelled", status_changed_at=now)
        )
        session.add(patient)
        # Open clinical items stay open: staff still see them, marked opted out.
        return messages.render("stop_confirm", patient.language, **values)
    if keyword.action == "start":
        if patient.status == "opted_out":
            patient.status, patient.status_changed_at = "active", now
            session.add(patient)
        return messages.render("start_confirm", patient.language, **values)
    if keyword.action == "language" and keyword.language in LANGUAGES:
        patient.language = keyword.language
        session.add(patient)
        return messages.render("language_changed", patient.language, **values)
    return messages.render("help", patient.language, **values)


def _mark_answered(session: Session, patient_id: int, now: datetime) -> None:
    """The reply answers the patient's latest check-in sent in the last week (one statement)."""
    latest = (
        select(CheckIn.id)
        .where(CheckIn.patient_id == patient_id,
               CheckIn.status.in_(("sent", "unknown", "failed")),  # type: ignore[attr-defined]
               CheckIn.sent_at >= now - ANSWER_WINDOW)  # type: ignore[operator]
        .order_by(CheckIn.sent_at.desc())  # type: ignore[attr-defined]
        .limit(1)
        .scalar_subquery()
    )
    # Core, not ORM: no CheckIn of this patient is loaded in the session to keep in sync.
    session.connection().execute(
        sa.update(CheckIn).where(CheckIn.id == latest).values(status="answered", answered_at=now))


def answer_without_database(body: str) -> str:
    """The answer when nothing can be looked up: triage alone, in the language it detects.

    An urgent reply still gets the advice to seek care now; the clinic's name and phone
    are unknown here, so the answer names neither.
    """
    result = triage(body)
    language = result.language if result.language in LANGUAGES else "en"
    key = "urgent_generic" if result.level == "urgent" else "received"
    return messages.render(key, language)
