"""`reminders serve --demo`: a demo clinic, a staff login and a few patients to look at."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import select

from reminders.db import session_scope
from reminders.models import Clinic, Patient, Staff
from reminders.schemas import PatientCreate
from reminders.security import hash_password
from reminders.services.clinics import add_clinic, add_staff
from reminders.services.enroll import enroll

DEMO_CLINIC = "DEMO"
DEMO_EMAIL = "nurse@demo.example.org"


@dataclass(frozen=True)
class DemoLogin:
    clinic: str
    email: str
    password: str


def seed_demo(engine: sa.Engine, *, now: datetime) -> DemoLogin:
    """Idempotent: a second run keeps the data and issues a new password."""
    password = secrets.token_urlsafe(12)
    with session_scope(engine) as session:
        clinic = session.exec(select(Clinic).where(Clinic.code == DEMO_CLINIC)).first()
        if clinic is None:
            clinic = add_clinic(session, code=DEMO_CLINIC, name="Afya Demo", timezone="Africa/Nairobi",
                                country="KE", phone="+254700000001", oncall_phone="+254700000002",
                                backup_phone="+254700000003", actor="demo")
        staff = session.exec(select(Staff).where(Staff.email == DEMO_EMAIL)).first()
        if staff is None:
            add_staff(session, email=DEMO_EMAIL, clinic_code=DEMO_CLINIC, role="nurse",
                      password=password, actor="demo")
        else:
            staff.password_hash = hash_password(password)
            session.add(staff)
        if session.exec(select(Patient.id).where(Patient.clinic_id == clinic.id)).first() is None:
            for i, (language, days_ago, cd4) in enumerate(
                [("sw", 2, 250), ("en", 9, 80), ("fr", 20, None), ("pt", 0, 150), ("es", 30, 60)]
            ):
                enroll(session, PatientCreate(
                    clinic=DEMO_CLINIC, phone=f"+2547120000{i:02d}", language=language,
                    art_start_date=(now - timedelta(days=days_ago)).date(), consent=True, cd4=cd4,
                ), now=now, actor="demo")
    return DemoLogin(DEMO_CLINIC, DEMO_EMAIL, password)
