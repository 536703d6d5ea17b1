"""What the API accepts and returns (the tables in models.py never leak out)."""

from __future__ import annotations

from datetime import date, datetime

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Input(BaseModel):
    """A request body: no text field may hold a NUL (PostgreSQL cannot store one, and no
    real name, phone or note has one). Refused with a 422 naming the field, not a 500."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain a NUL character")
        return value


class PatientCreate(Input):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    clinic: str = Field(max_length=16)
    phone: str = Field(max_length=32)
    language: str = Field(max_length=8)
    art_start_date: date
    preferred_hour: int | None = None
    consent: bool
    cd4: int | None = Field(default=None, ge=0, le=5000)
    recent_oi: bool = False
    shared_phone: bool = False
    display_name: str | None = Field(default=None, max_length=40)
    register_ref: str | None = Field(default=None, max_length=40)


class PatientUpdate(Input):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: str | None = None  # active | paused | withdrawn | opted_out (staff opt-out button)
    language: str | None = None
    preferred_hour: int | None = None
    shared_phone: bool | None = None
    display_name: str | None = Field(default=None, max_length=40)
    phone: str | None = Field(default=None, max_length=32)


class CheckInPublic(BaseModel):
    id: int
    day: int
    due_at: datetime
    status: str
    catch_up: bool
    attempts: int
    sent_at: datetime | None
    error_kind: str | None


class MessagePublic(BaseModel):
    id: int
    direction: str
    kind: str
    body: str
    status: str
    sid: str | None
    created_at: datetime
    in_reply_to: int | None = None  # an answer: the message it answers (a danger_answer -> its question)


class PatientPublic(BaseModel):
    id: int
    clinic: str
    phone: str
    language: str
    art_start_date: date
    preferred_hour: int
    status: str
    high_risk: bool
    shared_phone: bool
    enrolled_at: datetime
    enrollment_lag_days: int
    checkins: list[CheckInPublic]
    messages: list[MessagePublic] | None = None


class QueueItemPublic(BaseModel):
    id: int
    patient_id: int | None
    level: str
    reason: str
    symptoms: list[str]
    evidence: list[str]
    status: str
    opened_at: datetime
    assignee_id: int | None
    outcome: str | None
    note: str | None
    patient_status: str | None = None
    danger_asked_at: datetime | None = None  # the danger-sign question was written
    danger_answer: str | None = None  # "yes" | "no" | None (not answered)
    danger_answered_at: datetime | None = None


class QueueResolve(Input):
    model_config = ConfigDict(extra="forbid")

    outcome: str
    note: str = Field(default="", max_length=2000)
