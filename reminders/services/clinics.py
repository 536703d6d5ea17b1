"""Clinics and staff accounts."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlmodel import Session, select

from reminders.errors import InputError, NotFound
from reminders.models import STAFF_ROLES, Clinic, Staff
from reminders.phones import normalise_phone, validate_country
from reminders.security import check_password_policy, hash_password
from reminders.services import audit

_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{1,15}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def validate_timezone(name: str) -> str:
    if name not in available_timezones():
        raise InputError("timezone", f"{name!r} is not an IANA time zone (e.g. Africa/Nairobi)")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError("timezone", f"{name!r} cannot be loaded") from None
    return name


def get_clinic(session: Session, code: str) -> Clinic:
    clinic = session.exec(select(Clinic).where(Clinic.code == code.strip().upper())).first()
    if clinic is None:
        raise NotFound(f"clinic {code!r}")
    return clinic


def add_clinic(
    session: Session,
    *,
    code: str,
    name: str,
    timezone: str,
    country: str,
    phone: str,
    oncall_phone: str | None = None,
    backup_phone: str | None = None,
    actor: str = "cli",
) -> Clinic:
    code = code.strip().upper()
    if not _CODE.match(code):
        raise InputError("code", "must be 2-16 letters, digits, '-' or '_'")
    name = name.strip()
    if not 1 <= len(name) <= 40:
        raise InputError("name", "must be 1-40 characters (a short neutral name patients see)")
    country = validate_country(country)
    clinic = Clinic(
        code=code,
        name=name,
        timezone=validate_timezone(timezone),
        country=country,
        # Required: urgent answers and HELP tell the patient which number to call.
        phone=normalise_phone(phone, country, field="phone", mobile=False),
        oncall_phone=oncall_phone and normalise_phone(oncall_phone, country, field="oncall_phone"),
        backup_phone=backup_phone and normalise_phone(backup_phone, country, field="backup_phone"),
    )
    if session.exec(select(Clinic.id).where(Clinic.code == code)).first() is not None:
        raise InputError("code", f"clinic {code} already exists")
    session.add(clinic)
    session.flush()
    audit.record(session, actor, "clinic.add", "clinic", clinic.id, clinic_id=clinic.id)
    return clinic


def add_staff(
    session: Session, *, email: str, clinic_code: str, role: str, password: str, actor: str = "cli"
) -> Staff:
    email = email.strip().lower()
    if not _EMAIL.match(email) or len(email) > 254:
        raise InputError("email", f"{email!r} is not an email address")
    if role not in STAFF_ROLES:
        raise InputError("role", f"must be one of {', '.join(STAFF_ROLES)}")
    try:
        clinic = get_clinic(session, clinic_code)
    except NotFound:
        raise InputError("clinic", f"no clinic with code {clinic_code!r}") from None
    check_password_policy(password)
    if session.exec(select(Staff.id).where(Staff.email == email)).first() is not None:
        raise InputError("email", f"{email} already has an account")
    staff = Staff(email=email, role=role, clinic_id=clinic.id, password_hash=hash_password(password))
    session.add(staff)
    session.flush()
    audit.record(session, actor, "staff.add", "staff", staff.id, clinic_id=clinic.id)
    return staff
