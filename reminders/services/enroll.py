"""Enrollment: the patient, their planned check-ins and the welcome SMS, in one transaction.

The welcome SMS is written as a pending outbound message (an outbox): it is sent after
the commit, so what is planned is exactly what is committed.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from reminders import messages, plan, protocols
from reminders.errors import InputError, NotFound
from reminders.languages import LANGUAGES
from reminders.models import CheckIn, Clinic, Message, Patient
from reminders.phones import normalise_phone
from reminders.schemas import PatientCreate
from reminders.services import audit
from reminders.services.clinics import get_clinic
from reminders.services.patients import refuse_opted_out_number


def enroll(
    session: Session,
    request: PatientCreate,
    *,
    now: datetime,
    actor: str = "cli",
    clinic_scope: int | None = None,
) -> Patient:
    """Validate, then write the patient, the plan and the welcome message (not committed)."""
    clinic = _clinic(session, request.clinic, clinic_scope)
    patient = _new_patient(session, clinic, request, now)
    session.add(patient)
    session.flush()
    protocol = protocols.load_protocol()
    planned = plan.plan_checkins(
        protocol,
        art_start=patient.art_start_date,
        timezone=clinic.timezone,
        preferred_hour=patient.preferred_hour,
        high_risk=patient.high_risk,
        now=now,
    )
    session.add_all(
        CheckIn(patient_id=patient.id, day=p.day, due_at=p.due_at, catch_up=p.catch_up)
        for p in planned
    )
    session.add(
        Message(patient_id=patient.id, **welcome_message(clinic, patient, protocol, now))
    )
    audit.record(session, actor, "patient.enroll", "patient", patient.id, clinic_id=clinic.id,
                 at=now, checkins=len(planned), lag_days=patient.enrollment_lag_days)
    return patient


def welcome_message(clinic: Clinic, patient: Patient, protocol: protocols.Protocol,
                    now: datetime) -> dict[str, object]:
    """The welcome SMS as an outbox row (without patient_id: bulk imports add it later)."""
    return {
        "clinic_id": clinic.id, "direction": "outbound", "kind": "welcome", "phone": patient.phone,
        "status": "pending", "attempts": 0, "created_at": now,
        "send_after": plan.next_allowed_time(protocol, clinic.timezone, now),  # not at night
        "body": messages.render("welcome", patient.language, **greeting_values(clinic, patient)),
    }


def greeting_values(clinic: Clinic, patient: Patient) -> dict[str, str | None]:
    """Template values for a patient's messages: no name on a shared phone."""
    return {
        "clinic": clinic.name,
        "clinic_phone": clinic.phone or "",
        "name": None if patient.shared_phone else patient.display_name,
    }


def _clinic(session: Session, code: str, clinic_scope: int | None) -> Clinic:
    try:
        clinic = get_clinic(session, code)
    except NotFound:
        raise InputError("clinic", f"no clinic with code {code!r}") from None
    if clinic_scope is not None and clinic.id != clinic_scope:
        raise InputError("clinic", f"no clinic with code {code!r}")  # do not reveal others
    return clinic


def _new_patient(session: Session, clinic: Clinic, request: PatientCreate, now: datetime) -> Patient:
    patient = new_patient(clinic, request, protocols.load_protocol(), now)
    refuse_opted_out_number(session, patient.phone)  # STOP is final, shared phone or not
    if not patient.shared_phone:
        taken = session.exec(
            select(Patient.id).where(
                Patient.clinic_id == clinic.id, Patient.phone == patient.phone,
                Patient.status.in_(("active", "paused")),  # type: ignore[attr-defined]
            )
        ).first()
        if taken is not None:
            raise phone_taken()
    return patient


def phone_taken() -> InputError:
    return InputError("phone", "another enrolled patient has this number; mark it a shared phone to enroll both")


def new_patient(clinic: Clinic, request: PatientCreate, protocol: protocols.Protocol,
                now: datetime) -> Patient:
    """Validate one enrollment (the same rules for the CLI, the API and CSV imports)."""
    if not request.consent:
        raise InputError("consent", "the patient's consent must be recorded before enrolling")
    language = request.language.strip().lower()
    if language not in LANGUAGES:
        raise InputError("language", f"{request.language!r} is not one of {', '.join(LANGUAGES)}")
    phone = normalise_phone(request.phone, clinic.country)
    preferred_hour = protocol.default_hour if request.preferred_hour is None else request.preferred_hour
    plan.validate_preferred_hour(preferred_hour)
    today = now.astimezone(ZoneInfo(clinic.timezone)).date()
    plan.validate_art_start(request.art_start_date, today)
    return Patient(
        clinic_id=clinic.id,
        phone=phone,
        language=language,
        display_name=request.display_name or None,
        register_ref=request.register_ref or None,
        art_start_date=request.art_start_date,
        preferred_hour=preferred_hour,
        consent=True,
        cd4=request.cd4,
        recent_oi=request.recent_oi,
        shared_phone=request.shared_phone,
        high_risk=protocols.is_high_risk(protocol, request.cd4, request.recent_oi),
        protocol=protocol.name,
        enrolled_at=now,
        enrollment_lag_days=plan.enrollment_lag_days(request.art_start_date, today),
        status_changed_at=now,
    )
