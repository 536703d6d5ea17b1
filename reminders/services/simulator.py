"""The phone simulator (local gateway only): a patient's SMS thread as their phone shows
it, and a reply from them signed exactly as Twilio would sign it, so it goes through the
real webhook (signature check, storage, keywords, triage, the automatic answer).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select
from twilio.request_validator import RequestValidator

from reminders.config import Settings
from reminders.models import Message, Patient

WEBHOOK_PATH = "/twilio/sms"
# What has reached the phone: sent by the provider (any later status), or the answer in
# the webhook's own TwiML response. Pending, cancelled and failed messages never arrived.
ON_THE_PHONE = ("sent", "queued", "accepted", "delivered", "undelivered", "unknown", "twiml")
THREAD_LIMIT = 100


@dataclass(frozen=True)
class Bubble:
    mine: bool  # written by the patient
    body: str
    at: datetime
    kind: str


def patients(session: Session, clinic_id: int, limit: int = 200) -> list[Patient]:
    return list(session.exec(
        select(Patient).where(Patient.clinic_id == clinic_id)
        .order_by(Patient.enrolled_at.desc(), Patient.id.desc()).limit(limit)  # type: ignore[attr-defined]
    ))


def thread(session: Session, patient: Patient, limit: int = THREAD_LIMIT) -> list[Bubble]:
    """The latest messages between the clinic's number and this phone, oldest first."""
    rows = session.exec(
        select(Message)
        .where(Message.phone == patient.phone,
               sa.or_(Message.clinic_id == patient.clinic_id, Message.clinic_id.is_(None)),  # type: ignore[union-attr]
               sa.or_(Message.direction == "inbound",
                      Message.status.in_(ON_THE_PHONE)))  # type: ignore[attr-defined]
        .order_by(Message.created_at.desc(), Message.id.desc())  # type: ignore[attr-defined]
        .limit(limit)
    ).all()
    return [Bubble(m.direction == "inbound", m.body, m.created_at, m.kind) for m in reversed(rows)]


def signed_reply(settings: Settings, from_phone: str, body: str) -> tuple[dict[str, str], dict[str, str]]:
    """The form fields Twilio would post for this SMS, and the headers with its signature,
    computed with the key the webhook checks (over REMINDERS_PUBLIC_URL + the path)."""
    fields = {
        "MessageSid": "SM" + uuid.uuid4().hex, "SmsSid": "", "AccountSid": "AC" + "0" * 32,
        "From": from_phone, "To": settings.twilio_from_number or "local", "Body": body,
        "NumMedia": "0", "NumSegments": "1",
    }
    fields["SmsSid"] = fields["MessageSid"]
    signature = RequestValidator(settings.webhook_auth_token).compute_signature(
        settings.public_url + WEBHOOK_PATH, fields)
    return fields, {"X-Twilio-Signature": signature}
