"""The audit log as admins read it: filters, pages, clinic scope, CSV export."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone

import pytest

from reminders.db import session_scope
from reminders.errors import InputError
from reminders.services import audit
from reminders.services.audit_log import AuditFilter, actions, export_csv, search
from reminders.services.clinics import add_clinic
from tests.records import reply, staff_member

T0 = datetime(2026, 12, 1, 7, 0, tzinfo=timezone.utc)


@pytest.fixture
def admin(engine, clinic):  # type: ignore[no-untyped-def]
    return staff_member(engine, "admin@kib.example.org", role="admin")


def events(engine, clinic_id: int, **filters):  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return search(session, clinic_id, AuditFilter(**filters), per_page=500).rows


def test_filters_by_staff_action_patient_and_dates(engine, clinic, admin, make_patient):
    one = make_patient(enrolled=T0, art_start=date(2026, 12, 1))
    two = make_patient(enrolled=T0, art_start=date(2026, 12, 1))
    reply(engine, one.phone, "nina homa", T0 + timedelta(hours=1))  # a queue item and a message of `one`
    with session_scope(engine) as session:
        audit.record(session, admin.email, "patient.read", "patient", one.id, clinic_id=clinic.id,
                     at=T0 + timedelta(days=2))
        audit.record(session, admin.email, "patient.read", "patient", two.id, clinic_id=clinic.id,
                     at=T0 + timedelta(days=3))
    by_admin = events(engine, clinic.id, actor=admin.email)
    assert [(e.action, e.entity_id) for e in by_admin] == [("patient.read", two.id), ("patient.read", one.id)]
    assert {e.action for e in events(engine, clinic.id, action="patient.enroll")} == {"patient.enroll"}
    about_one = events(engine, clinic.id, patient_id=one.id)
    assert {e.entity for e in about_one} == {"patient", "queue_item", "message"}
    assert all(e.entity_id != two.id or e.entity != "patient" for e in about_one)
    # 2026-12-03 in Nairobi: only the read of `one` at T0 + 2 days
    on_day = events(engine, clinic.id, since=date(2026, 12, 3), until=date(2026, 12, 3))
    assert [(e.action, e.entity_id) for e in on_day] == [("patient.read", one.id)]
    with session_scope(engine) as session:
        assert "queue.open" in actions(session, clinic.id)


def test_pages_and_another_clinics_events(engine, clinic, admin):
    with session_scope(engine) as session:
        other = add_clinic(session, code="LIS", name="Saude Norte", timezone="Europe/Lisbon",
                           country="PT", phone="+351210000000")
        for i in range(7):
            audit.record(session, admin.email, "patient.read", "patient", i, clinic_id=clinic.id,
                         at=T0 + timedelta(minutes=i))
    with session_scope(engine) as session:
        first = search(session, clinic.id, AuditFilter(action="patient.read"), per_page=3)
        last = search(session, clinic.id, AuditFilter(action="patient.read"), page=3, per_page=3)
        assert (first.total, first.pages, [e.entity_id for e in first.rows]) == (7, 3, [6, 5, 4])
        assert [e.entity_id for e in last.rows] == [0]
        assert search(session, other.id, AuditFilter(action="patient.read")).total == 0


def test_bad_filters_name_the_field():
    with pytest.raises(InputError) as bad:
        AuditFilter.parse(since="yesterday")
    assert bad.value.field == "since"
    with pytest.raises(InputError) as bad:
        AuditFilter.parse(patient="12; drop")
    assert bad.value.field == "patient"
    with pytest.raises(InputError) as bad:
        AuditFilter.parse(since="2026-12-05", until="2026-12-01")
    assert bad.value.field == "until"
    assert AuditFilter.parse(actor=" Nurse@KIB.example.org ", patient="7") == AuditFilter(
        actor="nurse@kib.example.org", patient_id=7)


def test_export_is_csv_formula_safe_and_audited(engine, clinic, admin):
    with session_scope(engine) as session:
        audit.record(session, admin.email, "patient.read", "patient", 1, clinic_id=clinic.id, at=T0,
                     note="=cmd|' /C calc'!A0")
    with session_scope(engine) as session:
        text = export_csv(session, admin, AuditFilter(action="patient.read"), T0)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["at", "actor", "action", "entity", "entity_id", "detail"]
    assert rows[1][1:5] == [admin.email, "patient.read", "patient", "1"]
    assert all(not cell.startswith("=") for row in rows for cell in row)
    assert [e.action for e in events(engine, clinic.id, action="export.audit")] == ["export.audit"]
