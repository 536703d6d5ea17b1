"""Clinics and staff accounts."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlmodel import Session, select

from reminders.disclosure import check_discreet
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


def validate_clinic_name(name: str) -> str:
    """The short name every SMS carries: short, and nothing that discloses a diagnosis."""
    name = name.strip()
    if not 1 <= len(name) <= 40:
        raise InputError("name", "must be 1-40 characters (a short neutral name patients see)")
    if "\x00" in name:
        raise InputError("name", "must not contain a NUL character")
    check_discreet("name", name)  # "HIV Care Centre" would name the illness in every SMS
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
    name = validate_clinic_name(name)
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


def update_clinic(session: Session, clinic: Clinic, *, actor: str, name: str | None = None,
                  phone: str | None = None, oncall_phone: str | None = None,
                  backup_phone: str | None = None) -> Clinic:
    """Change a clinic's settings (the same checks as `add_clinic`); None leaves a field as is."""
    changed = []
    if name is not None:
        clinic.name = validate_clinic_name(name)
        changed.append("name")
    for field, value, mobile in (("phone", phone, False), ("oncall_phone", oncall_phone, True),
                                 ("backup_phone", backup_phone, True)):
        if value is not None:
            setattr(clinic, field, normalise_phone(value, clinic.country, field=field, mobile=mobile))
            changed.append(field)
    session.add(clinic)
    audit.record(session, actor, "clinic.update", "clinic", clinic.id, clinic_id=clinic.id,
                 fields=changed)
    return clinic


def get_staff(session: Session, email: str) -> Staff:
    staff = session.exec(select(Staff).where(Staff.email == email.strip().lower())).first()
    if staff is None:
        raise InputError("email", f"no staff account {email.strip().lower()!r}")
    return staff


def revoke_tokens(session: Session, staff: Staff, *, actor: str) -> Staff:
    """Sign a staff member out everywhere: every token issued so far stops working at its
    next request, on every process (it carries the old token_version)."""
    staff.token_version += 1
    session.add(staff)
    audit.record(session, actor, "staff.revoke_tokens", "staff", staff.id, clinic_id=staff.clinic_id)
    return staff


def disable_staff(session: Session, staff: Staff, *, actor: str) -> Staff:
    """No more sign-ins, and every token already issued is refused."""
    staff.active = False
    staff.token_version += 1
    session.add(staff)
    audit.record(session, actor, "staff.disable", "staff", staff.id, clinic_id=staff.clinic_id)
    return staff
