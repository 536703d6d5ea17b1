"""Reading and changing a patient, as staff of their clinic."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from reminders import plan, protocols
from reminders.errors import Forbidden, InputError, NotFound
from reminders.languages import LANGUAGES
from reminders.models import CheckIn, Clinic, Patient, Staff
from reminders.phones import normalise_phone
from reminders.roles import PATIENT_WITHDRAW, can
from reminders.schemas import PatientUpdate
from reminders.services import audit

# What staff may set by hand; "completed" is reached by finishing the plan.
STAFF_STATUSES = ("active", "paused", "withdrawn", "opted_out")


OPTED_OUT_REASON = ("the patient opted out by texting STOP; only the patient can restart "
                    "messages, by texting START")


def refuse_opted_out_number(session: Session, phone: str) -> None:
    """STOP is final: a number whose patient opted out is never enrolled (or moved onto)
    again by staff; it becomes active only when that patient texts START."""
    opted_out = session.exec(
        select(Patient.id).where(Patient.phone == phone, Patient.status == "opted_out").limit(1)
    ).first()
    if opted_out is not None:
        raise InputError("phone", "this number was opted out by the patient (STOP); only the "
                                  "patient can restart messages, by texting START")


def get_for_staff(session: Session, patient_id: int, staff: Staff, *, lock: bool = False) -> Patient:
    patient = session.get(Patient, patient_id, with_for_update=lock or None)
    if patient is None or patient.clinic_id != staff.clinic_id:
        raise NotFound(f"patient {patient_id}")  # another clinic's patient does not exist for you
    return patient


def statuses(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(sa.select(Patient.id, Patient.status).where(Patient.id.in_(ids)))  # type: ignore[union-attr]
    return {row[0]: row[1] for row in rows}


def update(session: Session, patient_id: int, update: PatientUpdate, staff: Staff,
           now: datetime) -> Patient:
    patient = get_for_staff(session, patient_id, staff, lock=True)
    clinic = session.get(Clinic, patient.clinic_id)
    changed = update.model_dump(exclude_unset=True)
    if "status" in changed:
        if update.status not in STAFF_STATUSES:
            raise InputError("status", f"must be one of {', '.join(STAFF_STATUSES)}")
        if update.status == "withdrawn" and not can(staff.role, PATIENT_WITHDRAW):
            raise Forbidden(PATIENT_WITHDRAW)
        if patient.status == "completed":
            raise InputError("status", "the patient has completed the programme")
        if patient.status == "opted_out" and update.status not in ("opted_out", "withdrawn"):
            # STOP is the patient's decision (DESIGN.md): staff cannot switch it back.
            raise InputError("status", OPTED_OUT_REASON)
        if update.status != patient.status:
            patient.status, patient.status_changed_at = update.status, now
    if "language" in changed:
        if update.language not in LANGUAGES:
            raise InputError("language", f"{update.language!r} is not one of {', '.join(LANGUAGES)}")
        patient.language = update.language  # type: ignore[assignment]
    if "phone" in changed and update.phone:
        phone = normalise_phone(update.phone, clinic.country)
        if phone != patient.phone:
            refuse_opted_out_number(session, phone)
        patient.phone = phone
    if "shared_phone" in changed and update.shared_phone is not None:
        patient.shared_phone = update.shared_phone
    if "display_name" in changed:
        patient.display_name = update.display_name or None
    if "preferred_hour" in changed and update.preferred_hour is not None:
        plan.validate_preferred_hour(update.preferred_hour)
        patient.preferred_hour = update.preferred_hour
        replan(session, patient, clinic, now)
    session.add(patient)
    audit.record(session, staff.email, "patient.update", "patient", patient.id,
                 clinic_id=patient.clinic_id, at=now, fields=sorted(changed))
    return patient


def replan(session: Session, patient: Patient, clinic: Clinic, now: datetime) -> None:
    """Move the still-planned future check-ins to the patient's new hour."""
    protocol = protocols.load_protocol()
    fresh = {
        p.day: p.due_at
        for p in plan.plan_checkins(protocol, art_start=patient.art_start_date,
                                    timezone=clinic.timezone, preferred_hour=patient.preferred_hour,
                                    high_risk=patient.high_risk, now=now)
        if not p.catch_up
    }
    for checkin in session.exec(
        select(CheckIn).where(CheckIn.patient_id == patient.id, CheckIn.status == "planned",
                              CheckIn.due_at > now)
    ):
        if checkin.day in fresh:
            checkin.due_at = fresh[checkin.day]
            session.add(checkin)
