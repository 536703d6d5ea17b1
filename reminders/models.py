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

# Outbox order: an on-call alert first, answers to patients next, routine messages last.
OUTBOX_PRIORITY = {"alert": 0, "answer": 1, "danger_question": 1}
ROUTINE_PRIORITY = 5


def priority_of(kind: str | None) -> int:
    return OUTBOX_PRIORITY.get(kind or "", ROUTINE_PRIORITY)


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
    # Staff tokens carry the version they were issued under: bumping it (revoke, disable)
    # refuses every token issued before, server-side, on every process.
    token_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


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
    __table_args__ = (
        sa.Index("ix_message_direction_status", "direction", "status"),
        sa.Index("ix_message_direction_triage_level", "direction", "triage_level"),  # /metrics
        # The outbox claim: pending rows, most urgent first, then oldest.
        sa.Index("ix_message_status_priority_id", "status", "priority", "id"),
    )

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
    # inbound: the triage level of the reply (urgent, flag, ok, admin), kept when the
    # body is erased (retention) and counted by /metrics.
    triage_level: str | None = Field(default=None, max_length=8)
    body_erased_at: datetime | None = _when(default=None)  # retention emptied `body`
    # Fencing: the claim a sender holds. Only the holder of this token may mark the row
    # `sending`, and only while `lease_until` (database clock) has not passed.
    claim_token: str | None = Field(default=None, max_length=32)
    lease_until: datetime | None = _when(default=None)
    # Lower goes first: staff alerts, then answers to patients, then routine messages.
    priority: int | None = Field(default=None, nullable=False, sa_column_kwargs={
        "default": lambda context: priority_of(context.get_current_parameters().get("kind")),
        "server_default": str(ROUTINE_PRIORITY)})
    next_attempt_at: datetime | None = _when(default=None)  # transient failure: try again then
    lookups: int = Field(default=0, sa_column_kwargs={"server_default": "0"})  # provider asks


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
    # The danger-sign question (services/danger.py): asked at most once per item.
    danger_asked_at: datetime | None = _when(default=None)  # when the question was written
    danger_message_id: int | None = None  # the outbound "danger_question" message
    danger_answer: str | None = Field(default=None, max_length=8)  # "yes" | "no"
    danger_answered_at: datetime | None = _when(default=None)


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


class WebSession(SQLModel, table=True):
    """A signed-in browser (the staff pages). The cookie holds a random token; only its
    SHA-256 is stored, so a copy of the database cannot be replayed as a login."""

    __tablename__ = "web_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    created_at: datetime = _when()
    last_seen_at: datetime = _when()


# Triage judged by staff: the labelled examples the lexicons improve from.
CORRECTION_SOURCES = ("queue", "ok_review")  # a nurse corrected an item; a sampled "ok" reply reviewed
TRIAGE_LEVELS = ("urgent", "flag", "ok", "admin")


class TriageCorrection(SQLModel, table=True):
    __tablename__ = "triage_correction"

    id: int | None = Field(default=None, primary_key=True)
    clinic_id: int = Field(foreign_key="clinic.id", index=True)
    queue_item_id: int | None = Field(default=None, foreign_key="queue_item.id")
    # The reply whose words were judged: one judgement per reply (a second one replaces it).
    message_id: int = Field(foreign_key="message.id", unique=True)
    language: str = Field(max_length=2)
    triage_level: str = Field(max_length=16)  # what triage (or the queue item) said
    corrected_level: str = Field(max_length=16)  # what staff say it should have been
    source: str = Field(max_length=16)
    staff_id: int = Field(foreign_key="staff.id")
    at: datetime = _when(default_factory=utcnow)


# A patient's timeline reads their staff actions from the audit log by entity and id (and the
# audit page filters by patient; triage corrections find a reply's triage event).
sa.Index("ix_audit_event_entity", AuditEvent.entity, AuditEvent.entity_id)  # type: ignore[arg-type]


class SchedulerHeartbeat(SQLModel, table=True):
    """One row per process running the periodic passes: its clock is alive when beat_at
    is recent (/metrics, /healthz, `reminders heartbeat` for container healthchecks)."""

    __tablename__ = "scheduler_heartbeat"

    process: str = Field(primary_key=True, max_length=128)  # host:pid
    role: str = Field(max_length=16)  # serve | worker
    started_at: datetime = _when()
    beat_at: datetime = _when(index=True)


class LoginFailure(SQLModel, table=True):
    """One failed sign-in, for the throttle that every web process shares (web/throttle.py).

    `key` is a hash of (username, client address): fixed size whatever the input, and no
    email in the table. Rows older than the throttle's window are pruned as it goes.
    """

    __tablename__ = "login_failure"
    __table_args__ = (sa.Index("ix_login_failure_key_at", "key", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64)
    at: datetime = _when(index=True)


class EarlyStatus(SQLModel, table=True):
    """A delivery status callback that arrived before its message's SID was recorded
    (Twilio can answer the callback before our send has returned): kept, applied when the
    SID is recorded."""

    __tablename__ = "early_status"

    id: int | None = Field(default=None, primary_key=True)
    sid: str = Field(max_length=64, index=True)
    status: str = Field(max_length=16)
    error_code: int | None = None
    received_at: datetime = _when()


class SendRate(SQLModel, table=True):
    """One row per sender: the next free send slot on the database clock, shared by every
    process, so all workers together keep to the sender's rate."""

    __tablename__ = "send_rate"

    sender: str = Field(max_length=64, primary_key=True)
    next_slot_at: datetime = _when()
