from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient

from reminders.db import session_scope
from reminders.services.clinics import add_clinic, add_staff
from reminders.web import create_app
from tests.recording_gateway import RecordingGateway

PASSWORD = "correct horse battery"


class Clock:
    """The web edge's clock, pinned by tests."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 12, 1, 7, 0, tzinfo=timezone.utc))


@pytest.fixture
def gateway() -> RecordingGateway:
    return RecordingGateway()


@pytest.fixture
def clinics(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        add_clinic(session, code="KIB", name="Kibera Clinic", timezone="Africa/Nairobi",
                   country="KE", phone="+254700000001", oncall_phone="+254700000002",
                   backup_phone="+254700000003")
        add_clinic(session, code="LIS", name="Saude Norte", timezone="Europe/Lisbon", country="PT",
                   phone="+351210000000", oncall_phone="+351910000000")
        add_staff(session, email="nurse@kib.example.org", clinic_code="KIB", role="nurse", password=PASSWORD)
        add_staff(session, email="nurse@lis.example.org", clinic_code="LIS", role="nurse", password=PASSWORD)


@pytest.fixture
def client(settings, engine, gateway, clock, clinics) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    app = create_app(settings, engine=engine, gateway=gateway, clock=clock)
    with TestClient(app, base_url=settings.public_url) as client:
        yield client


@pytest.fixture
def login(client) -> Callable[[str], dict[str, str]]:  # type: ignore[no-untyped-def]
    def headers(email: str = "nurse@kib.example.org") -> dict[str, str]:
        response = client.post("/api/token", data={"username": email, "password": PASSWORD})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    return headers
