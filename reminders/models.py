"""The tables. Every timestamp is UTC and comes back time-zone aware on every engine.

Statuses are plain strings (listed here once) so that the schema reads the same on
SQLite and PostgreSQL and a new status is not a migration.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

PATIENT_STATUSES = ("active", "paused", "opted_out", "completed", "withdrawn")
CHECKIN_STATUSES = (
    "planned",    # waiting for its due time
    "queued",     # a dispatch pass wrote its message to the outbox; sending may be in flight
    "sent",       # the provider accepted it (provider_sid set)
    "unknown",    # the send may or may not have happened (timeout, crash): never re-sent blindly
    "failed",     # the provider refused it or delivery failed: counts as unanswered
    "answered",   # a reply came after it was sent
    "skipped",    # superseded by a newer overdue check-in, or the patient stopped/completed
)
QUEUE_LEVELS = ("urgent", "flag", "no_response", "admin")
QUEUE_STATUSES = ("open", "claimed", "resolved")
OUTCOMES = ("reached_well", "advised_visit", "referred", "iris_suspected", "other_cause", "unreachable")
STAFF_ROLES = ("nurse", "clinician", "admin")

# Queue order: the most urgent first (higher rank), then the oldest.
LEVEL_RANK = {"urgent": 4, "flag": 3, "no_response": 2, "admin": 1}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; refuses naive datetimes; always returns aware UTC (SQLite drops tzinfo)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware UTC datetime")
        value = value.astimezone(timezone.utc)
        # SQLite compares timestamps as text: store them all in one form, without offset.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def _when(**kwargs: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kwargs)


class Clinic(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=16, unique=True)
    name: str = Field(max_length=40)  # the neutral short name patients see in every SMS
    timezone: str = Field(max_length=64)
    country: str = Field(max_length=2)  # ISO 3166 alpha-2: how local phone numbers are read
    phone: str | None = Field(default=None, max_length=20)  # patients call this number
    oncall_phone: str | None = Field(default=None, max_length=20)  # urgent alerts
    backup_phone: str | None = Field(default=None, max_length=20)  # alerts unclaimed after 30 min
    created_at: datetime = _when(default_factory=utcnow)


class Staff(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True)
    password_hash: str = Field(max_length=255)
    role: str = Field(max_length=16)
    clinic_id: int = Field(foreign_key="clinic.id", index=True)
    active: bool = True
    created_at: datetime = _when(default_factory=utcnow)


class Patient(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    clinic_id: int = Field(foreign_key="clinic.id", index=True)
    phone: str = Field(max_length=20, index=True)  # E.164
    language: str = Field(max_length=2)
    display_name: str | None = Field(default=None, max_length=40)  # never used on a shared phone
    register_ref: str | None = Field(default=None, max_length=40)  # the clinic register's number
    art_start_date: date
    preferred_hour: int = 9
    consent: bool
    cd4: int | None = None
    recent_oi: bool = False
    shared_phone: bool = False
    high_risk: bool = False
    protocol: str = Field(default="default", max_length=40)
    status: str = Field(default="active", max_length=16)
    enrolled_at: datetime = _when(default_factory=utcnow)
    enrollment_lag_days: int = 0  # days between ART start and enrollment
    last_inbound_at: datetime | None = _when(default=None)
    status_changed_at: datetime | None = _when(default=None)


class CheckIn(SQLModel, table=True):
    __tablename__ = "checkin"
    __table_args__ = (sa.Index("ix_checkin_status_due_at", "status", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    day: int  # days after ART start
    due_at: datetime = _when()
    catch_up: bool = False  # stands for check-ins due before the patient was enrolled
    status: str = Field(default="planned", max_length=16)
    attempts: int = 0  # sends tried (a stale claim re-sent counts again)
    message_id: int | None = None  # the outbound message that carried it
    sent_at: datetime | None = _when(default=None)
    provider_sid: str | None = Field(default=None, max_length=64)
    error_code: int | None = None
    error_kind: str | None = Field(default=None, max_length=16)
    answered_at: datetime | None = _when(default=None)
    reminded_at: datetime | None = _when(default=None)
    no_response_at: datetime | None = _when(default=None)


class Message(SQLModel, table=True):
    __table_args__ = (sa.Index("ix_message_direction_status", "direction", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int | None = Field(default=None, foreign_key="patient.id", index=True)
    clinic_id: int | None = Field(default=None, foreign_key="clinic.id")
    checkin_id: int | None = Field(default=None, foreign_key="checkin.id")
    in_reply_to: int | None = None  # an automatic answer points at the reply it answers
    direction: str = Field(max_length=8)  # inbound | outbound
    kind: str = Field(max_length=24)  # welcome, checkin, reminder, reply, answer, alert, ...
    # The other party: E.164 for SMS, or a channel address Twilio posts ("whatsapp:+...");
    # 64 holds every address Twilio documents with margin.
    phone: str = Field(max_length=64)
    body: str
    # Twilio retries inbound webhooks with the same MessageSid: unique, so a retry is a no-op.
    provider_sid: str | None = Field(default=None, max_length=64, unique=True)
    # outbound: pending -> sending -> queued/accepted/sent -> delivered | undelivered | failed;
    # also unknown (the send may have happened) and cancelled. inbound: received (stored
    # and answered) -> processed (triaged into the queue), or unprocessable (the replies
    # pass failed on it MAX_PROCESS_ATTEMPTS times: an admin queue item shows it to staff).
    status: str = Field(max_length=16)
    error_code: int | None = None
    error_kind: str | None = Field(default=None, max_length=16)
    send_after: datetime | None = _when(default=None)  # held back until quiet hours end
    claimed_at: datetime | None = _when(default=None)  # when a sender took it (crash recovery)
    claimed_by: str | None = Field(default=None, max_length=64)
    attempts: int = 0
    created_at: datetime = _when(default_factory=utcnow)
    status_changed_at: datetime | None = _when(default=None)


class QueueItem(SQLModel, table=True):
    __tablename__ = "queue_item"
    __table_args__ = (
        sa.Index("ix_queue_item_clinic_status_rank", "clinic_id", "status", "rank", "opened_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    clinic_id: int = Field(foreign_key="clinic.id")
    patient_id: int | None = Field(default=None, foreign_key="patient.id", index=True)
    level: str = Field(max_length=16)
    rank: int  # LEVEL_RANK[level]: sorts the queue, most urgent first
    symptoms: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    evidence: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    reason: str = Field(default="reply", max_length=24)  # reply, no_response, invalid_number, ...
    status: str = Field(default="open", max_length=16)
    assignee_id: int | None = Field(default=None, foreign_key="staff.id")
    outcome: str | None = Field(default=None, max_length=24)
    note: str | None = None
    opened_at: datetime = _when(default_factory=utcnow)
    claimed_at: datetime | None = _when(default=None)
    resolved_at: datetime | None = _when(default=None)
    alerted_at: datetime | None = _when(default=None)  # on-call phone alerted
    escalated_at: datetime | None = _when(default=None)  # backup contact alerted


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _when(default_factory=utcnow, index=True)
    actor: str = Field(max_length=254)  # staff email, "cli", "system", "twilio"
    action: str = Field(max_length=48)
    clinic_id: int | None = Field(default=None, foreign_key="clinic.id")
    entity: str = Field(max_length=24)
    entity_id: int | None = None
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)  # ids, never phones or bodies
