from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timezone

import pytest

from reminders.db import session_scope
from reminders.models import Clinic, Patient
from reminders.schemas import PatientCreate
from reminders.services.clinics import add_clinic
from reminders.services.enroll import enroll
from tests.recording_gateway import RecordingGateway


ENROLLED = datetime(2026, 12, 1, 7, 0, tzinfo=timezone.utc)  # 10:00 in Nairobi


@pytest.fixture
def gateway() -> RecordingGateway:
    return RecordingGateway()


@pytest.fixture
def clinic(engine) -> Clinic:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return add_clinic(session, code="KIB", name="Kibera Clinic", timezone="Africa/Nairobi",
                          country="KE", phone="+254700000001", oncall_phone="+254700000002",
                          backup_phone="+254700000003")


@pytest.fixture
def make_patient(engine, clinic) -> Callable[..., Patient]:  # type: ignore[no-untyped-def]
    counter = iter(range(100, 1000))

    def make(*, enrolled: datetime = ENROLLED, art_start: date | None = None, **fields) -> Patient:  # type: ignore[no-untyped-def]
        values = {"clinic": "KIB", "phone": f"+254712345{next(counter)}", "language": "en",
                  "art_start_date": art_start or enrolled.date(), "consent": True}
        values.update(fields)
        with session_scope(engine) as session:
            return enroll(session, PatientCreate(**values), now=enrolled)

    return make
