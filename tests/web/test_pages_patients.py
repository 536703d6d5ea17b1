"""Patients: list search and filters, pagination, the patient page (timeline, audit of
every view, another clinic's patient is 404), actions with their roles."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlmodel import select

from reminders.db import session_scope
from reminders.models import AuditEvent, Message, Patient
from reminders.schemas import PatientCreate
from reminders.services.clinics import add_staff
from reminders.services.enroll import enroll
from tests.helpers import snapshot
from tests.web.conftest import PASSWORD
from tests.web.pages import post_form, sign_in
from tests.web.test_pages_queue import reply


@pytest.fixture
def admin(engine):  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        add_staff(session, email="admin@kib.example.org", clinic_code="KIB", role="admin", password=PASSWORD)
    return "admin@kib.example.org"


def enroll_one(engine, clock, phone, start=date(2026, 11, 20), clinic="KIB", **extra):  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return enroll(session, PatientCreate(clinic=clinic, phone=phone, language="en", art_start_date=start,
                                             consent=True, **extra), now=clock.now).id


def listed(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<a href="/patients/(\d+)">', html)]


def test_search_by_name_phone_or_register_number(client, engine, clock):
    amina = enroll_one(engine, clock, "+254712345000", display_name="Amina Otieno", register_ref="KIB-0042")
    baraka = enroll_one(engine, clock, "+254712345001", display_name="Baraka")
    sign_in(client)
    assert listed(client.get("/patients?q=otieno").text) == [amina]
    assert listed(client.get("/patients?q=kib-0042").text) == [amina]
    assert listed(client.get("/patients", params={"q": "0712 345 001"}).text) == [baraka]
    assert listed(client.get("/patients?q=345001").text) == [baraka]
    assert sorted(listed(client.get("/patients").text)) == sorted([amina, baraka])


def test_filters_status_week_and_high_risk(client, engine, clock):
    today = clock.now.date()
    week1 = enroll_one(engine, clock, "+254712345000", start=today - timedelta(days=2), cd4=50)
    week3 = enroll_one(engine, clock, "+254712345001", start=today - timedelta(days=15))
    sign_in(client)
    assert listed(client.get("/patients?week=1").text) == [week1]
    assert listed(client.get("/patients?week=3").text) == [week3]
    assert listed(client.get("/patients?high_risk=1").text) == [week1]
    post_form(client, f"/patients/{week3}", f"/patients/{week3}/pause")
    assert listed(client.get("/patients?status=paused").text) == [week3]
    assert "week: must be between 1 and 12" in client.get("/patients?week=40").text


def test_patient_list_pages_of_fifty(client, engine, clock):
    ids = [enroll_one(engine, clock, f"+2547123450{i:02d}") for i in range(60)]
    sign_in(client)
    first, second = client.get("/patients").text, client.get("/patients?page=2").text
    assert len(listed(first)) == 50 and len(listed(second)) == 10
    assert sorted(listed(first) + listed(second)) == sorted(ids)
    assert "Next 50" in first and "Next 50" not in second


def test_patient_page_shows_the_timeline_escaped_and_audits_the_view(client, engine, clock):
    pid = enroll_one(engine, clock, "+254712345000", display_name="<i>Amina</i>")
    reply(engine, clock, "+254712345000", "<script>alert(1)</script> I have a fever", "SM1")
    sign_in(client)
    html = client.get(f"/patients/{pid}").text
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;i&gt;Amina&lt;/i&gt;" in html
    assert "<mark>fever</mark>" in html and "Welcome SMS" in html and "Enrolled" in html
    assert "Queue item opened" in html
    with session_scope(engine) as session:
        views = session.exec(select(AuditEvent).where(AuditEvent.action == "patient.read",
                                                      AuditEvent.entity_id == pid)).all()
    assert [v.actor for v in views] == ["nurse@kib.example.org"]


def test_another_clinics_patient_is_404_and_the_attempt_is_audited(client, engine, clock):
    pid = enroll_one(engine, clock, "+254712345000")
    sign_in(client, "nurse@lis.example.org")
    response = client.get(f"/patients/{pid}")
    assert response.status_code == 404 and "+254712345000" not in response.text
    assert pid not in listed(client.get("/patients").text)
    with session_scope(engine) as session:
        denied = session.exec(select(AuditEvent).where(AuditEvent.action == "access.denied")).all()
    assert [d.actor for d in denied] == ["nurse@lis.example.org"]


def test_pause_and_resume(client, engine, clock):
    pid = enroll_one(engine, clock, "+254712345000")
    sign_in(client)
    post_form(client, f"/patients/{pid}", f"/patients/{pid}/pause")
    with session_scope(engine) as session:
        assert session.get(Patient, pid).status == "paused"
    post_form(client, f"/patients/{pid}", f"/patients/{pid}/resume")
    with session_scope(engine) as session:
        assert session.get(Patient, pid).status == "active"


def test_a_patient_who_said_stop_cannot_be_resumed_by_staff(client, engine, clock):
    pid = enroll_one(engine, clock, "+254712345000")
    reply(engine, clock, "+254712345000", "STOP", "SM1")
    sign_in(client)
    response = post_form(client, f"/patients/{pid}", f"/patients/{pid}/resume")
    assert "only their START resumes messages" in client.get(response.headers["location"]).text
    with session_scope(engine) as session:
        assert session.get(Patient, pid).status == "opted_out"


def test_withdraw_is_admin_only(client, engine, clock, admin):
    pid = enroll_one(engine, clock, "+254712345000")
    sign_in(client)
    assert "Withdraw" not in client.get(f"/patients/{pid}").text
    before = snapshot(engine)
    response = post_form(client, f"/patients/{pid}", f"/patients/{pid}/withdraw")
    assert response.status_code == 403 and "Your role does not allow this" in response.text
    after = snapshot(engine)
    assert {k: v for k, v in after.items() if k != "audit_event"} == \
        {k: v for k, v in before.items() if k != "audit_event"}
    sign_in(client, admin)
    assert post_form(client, f"/patients/{pid}", f"/patients/{pid}/withdraw").status_code == 303
    with session_scope(engine) as session:
        assert session.get(Patient, pid).status == "withdrawn"
        forbidden = session.exec(select(AuditEvent).where(AuditEvent.action == "access.forbidden")).all()
    assert [f.actor for f in forbidden] == ["nurse@kib.example.org"]


def test_change_phone_and_language(client, engine, clock):
    pid = enroll_one(engine, clock, "+254712345000")
    sign_in(client)
    post_form(client, f"/patients/{pid}", f"/patients/{pid}/phone", {"phone": "0722 000 111"})
    post_form(client, f"/patients/{pid}", f"/patients/{pid}/language", {"language": "sw"})
    response = post_form(client, f"/patients/{pid}", f"/patients/{pid}/phone", {"phone": "not a phone"})
    assert "Not done: phone" in client.get(response.headers["location"]).text
    with session_scope(engine) as session:
        patient = session.get(Patient, pid)
        assert (patient.phone, patient.language) == ("+254722000111", "sw")


def test_failed_and_unknown_sends_are_listed_for_the_clinic_only(client, engine, clock):
    pid = enroll_one(engine, clock, "+254712345000")
    other = enroll_one(engine, clock, "+351912345678", clinic="LIS")
    with session_scope(engine) as session:
        welcome = session.exec(select(Message).where(Message.patient_id == pid)).one()
        welcome.status, welcome.error_code = "failed", 30005
        session.add(welcome)
        theirs = session.exec(select(Message).where(Message.patient_id == other)).one()
        theirs.status = "unknown"
        session.add(theirs)
    sign_in(client)
    html = client.get("/sends/problems").text
    assert f'data-message="{welcome.id}"' in html and "30005" in html
    assert f'data-message="{theirs.id}"' not in html
