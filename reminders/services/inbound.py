"""A reply arrives: store it exactly once, handle keywords, triage, answer, queue, alert.

Used by the webhook (answer in TwiML), the spool replay (answered already) and the
reconciliation job (answer through the outbox).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import phonenumbers
import sqlalchemy as sa
from sqlmodel import Session, select

from reminders import messages
from reminders.keywords import Keyword, parse_keyword
from reminders.languages import LANGUAGES
from reminders.models import CheckIn, Clinic, Message, Patient
from reminders.services import audit
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


@dataclass(frozen=True)
class Outcome:
    message_id: int
    answer: str | None  # the TwiML answer (also when the delivery was a duplicate)
    duplicate: bool = False
    level: str | None = None


def ingest(session: Session, sms: Incoming, *, now: datetime, answer_mode: AnswerMode) -> Outcome:
    """Store and act on one inbound SMS. A second delivery of the same SID changes nothing."""
    existing = session.exec(select(Message).where(Message.provider_sid == sms.sid)).first()
    if existing is not None:
        return _duplicate(session, existing)
    patient = find_patient(session, sms.from_)
    clinic = session.get(Clinic, patient.clinic_id) if patient else default_clinic(session, sms.from_)
    message = Message(
        patient_id=patient.id if patient else None, clinic_id=clinic.id if clinic else None,
        direction="inbound", kind="reply", phone=sms.from_, body=sms.body,
        provider_sid=sms.sid, status="received", created_at=now,
    )
    try:
        with session.begin_nested():  # two concurrent deliveries: the unique SID keeps one
            session.add(message)
            session.flush()
    except sa.exc.IntegrityError:
        existing = session.exec(select(Message).where(Message.provider_sid == sms.sid)).one()
        return _duplicate(session, existing)
    if patient is None:
        answer, level = _unknown_sender(session, clinic, message, now), "admin"
    else:
        answer, level = _from_patient(session, patient, clinic, message, sms, now)
    if answer is not None and answer_mode != "none":
        session.add(Message(
            patient_id=message.patient_id, clinic_id=message.clinic_id, in_reply_to=message.id,
            direction="outbound", kind="answer", phone=sms.from_, body=answer, created_at=now,
            status="twiml" if answer_mode == "twiml" else "pending",
        ))
    log.info("inbound message=%s patient=%s level=%s", message.id, message.patient_id, level)
    return Outcome(message.id, answer if answer_mode == "twiml" else None, level=level)


def _duplicate(session: Session, existing: Message) -> Outcome:
    # Twilio retried because our first answer did not reach it: give the same answer again.
    answer = session.exec(
        select(Message.body).where(Message.in_reply_to == existing.id, Message.status == "twiml")
    ).first()
    return Outcome(existing.id, answer, duplicate=True)


def find_patient(session: Session, phone: str) -> Patient | None:
    """The patient this number belongs to: an active one first, then the latest enrolled."""
    candidates = session.exec(
        select(Patient).where(Patient.phone == phone).order_by(Patient.enrolled_at.desc())  # type: ignore[attr-defined]
    ).all()
    for status in ("active", "paused", "opted_out", "completed", "withdrawn"):
        for patient in candidates:
            if patient.status == status:
                return patient
    return None


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


def _unknown_sender(session: Session, clinic: Clinic | None, message: Message, now: datetime) -> str:
    if clinic is not None:
        open_or_join(session, clinic_id=clinic.id, patient_id=None, level="admin",
                     reason="unknown_sender", now=now, symptoms=["unknown_sender"])
    # Polite, neutral, and nothing about who we are or what we do.
    return messages.render("unknown_sender", "en")


def _from_patient(session: Session, patient: Patient, clinic: Clinic, message: Message,
                  sms: Incoming, now: datetime) -> tuple[str | None, str]:
    patient = session.get(Patient, patient.id, with_for_update=True)
    patient.last_inbound_at = now
    session.add(patient)
    values = greeting_values(clinic, patient)
    keyword = _keyword(sms)
    if keyword is not None:
        return _apply_keyword(session, patient, keyword, values, now), "admin"
    result = triage(sms.body, language=patient.language)
    _mark_answered(session, patient.id, now)
    audit.record(session, "twilio", "reply.triage", "message", message.id, clinic_id=clinic.id,
                 at=now, level=result.level, symptoms=list(result.symptoms))
    if result.level in ("urgent", "flag", "admin"):
        item = open_or_join(session, clinic_id=clinic.id, patient_id=patient.id, level=result.level,
                            reason="reply", now=now, symptoms=result.symptoms,
                            evidence=result.evidence)
        if item.level == "urgent" and item.alerted_at is None and item.status == "open":
            alert_on_call(session, clinic, item.id, clinic.oncall_phone, now)
            item.alerted_at = now
            session.add(item)
    if patient.status == "opted_out":
        return None, result.level  # they asked for no messages: staff decide how to reach them
    key = {"urgent": "urgent_ack", "flag": "flag_ack", "ok": "thanks_ok", "admin": "help"}[result.level]
    return messages.render(key, patient.language, **values), result.level


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
    latest = session.exec(
        select(CheckIn)
        .where(CheckIn.patient_id == patient_id,
               CheckIn.status.in_(("sent", "unknown", "failed")),  # type: ignore[attr-defined]
               CheckIn.sent_at >= now - ANSWER_WINDOW)  # type: ignore[operator]
        .order_by(CheckIn.sent_at.desc())  # type: ignore[attr-defined]
    ).first()
    if latest is not None:
        latest.status, latest.answered_at = "answered", now
        session.add(latest)


def answer_without_database(body: str) -> str:
    """The answer when nothing can be looked up: triage alone, in the language it detects.

    An urgent reply still gets the advice to seek care now; the clinic's name and phone
    are unknown here, so the answer names neither.
    """
    result = triage(body)
    language = result.language if result.language in LANGUAGES else "en"
    key = "urgent_generic" if result.level == "urgent" else "received"
    return messages.render(key, language)
