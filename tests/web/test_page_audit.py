"""GET /audit and /audit/export.csv: admins only, filtered, escaped, clinic-scoped."""

from __future__ import annotations

import csv
import io

import pytest

from reminders.db import session_scope
from reminders.services import audit
from reminders.services.clinics import add_staff
from tests.web.signin import PASSWORD, sign_in


@pytest.fixture
def admin(engine, clinics):  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        add_staff(session, email="admin@kib.example.org", clinic_code="KIB", role="admin", password=PASSWORD)
        add_staff(session, email="clinician@kib.example.org", clinic_code="KIB", role="clinician",
                  password=PASSWORD)
    return "admin@kib.example.org"


@pytest.mark.parametrize("email", ["nurse@kib.example.org", "clinician@kib.example.org"])
def test_nurses_and_clinicians_get_403(client, admin, email):
    sign_in(client, email)
    assert client.get("/audit").status_code == 403
    assert client.get("/audit/export.csv").status_code == 403


def test_admin_filters_and_the_page_escapes_what_it_shows(client, engine, admin, clock):
    with session_scope(engine) as session:
        kib = 1
        audit.record(session, "nurse@kib.example.org", "patient.read", "patient", 41, clinic_id=kib,
                     at=clock.now, note="<script>alert(1)</script>")
        audit.record(session, "nurse@lis.example.org", "patient.read", "patient", 99, clinic_id=2, at=clock.now)
    sign_in(client, admin)
    page = client.get("/audit", params={"action": "patient.read"})
    assert page.status_code == 200
    assert "patient 41" in page.text and "patient 99" not in page.text  # another clinic's event
    assert "<script>alert(1)" not in page.text and "&lt;script&gt;alert(1)" in page.text
    only_admin = client.get("/audit", params={"actor": admin})
    assert "patient 41" not in only_admin.text
    assert client.get("/audit", params={"since": "soon"}).status_code == 422


def test_admin_exports_the_filtered_log(client, admin):
    sign_in(client, admin)
    response = client.get("/audit/export.csv", params={"action": "staff.add"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][:3] == ["at", "actor", "action"] and {r[2] for r in rows[1:]} == {"staff.add"}
