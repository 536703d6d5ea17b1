"""/review (sampled ok replies), POST /queue/{id}/correct and /corrections/export.csv."""

from __future__ import annotations

import csv
import re
import io
from datetime import date, timedelta

import pytest
from sqlmodel import select

from reminders.db import session_scope
from reminders.models import QueueItem, TriageCorrection
from reminders.schemas import PatientCreate
from reminders.services.clinics import add_staff
from reminders.services.enroll import enroll
from tests.records import reply
from tests.web.signin import PASSWORD, csrf, sign_in


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    return settings.model_copy(update={"ok_review_rate": 1.0})  # every ok reply is sampled


@pytest.fixture
def patient(engine, clinics, clock):  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        add_staff(session, email="admin@kib.example.org", clinic_code="KIB", role="admin", password=PASSWORD)
        return enroll(session, PatientCreate(clinic="KIB", phone="+254712345678", language="en", consent=True,
                                             art_start_date=date(2026, 11, 25), display_name="<b>Amina</b>"),
                      now=clock.now)


def test_review_lists_ok_replies_escaped_and_marks_them_reviewed(client, engine, patient, clock):
    ok = reply(engine, patient.phone, "I am fine, <b>thanks</b>", clock.now)  # markup triage reads as ok
    sign_in(client, "nurse@kib.example.org")
    page = client.get("/review")
    assert page.status_code == 200
    assert "<b>thanks" not in page.text and "I am fine, &lt;b&gt;thanks&lt;/b&gt;" in page.text
    assert "<b>Amina</b>" not in page.text and "&lt;b&gt;Amina&lt;/b&gt;" in page.text
    done = client.post(f"/review/{ok}", data={"corrected_level": "flag", "csrf_token": csrf(client, "/review")},
                       follow_redirects=False)
    assert done.status_code == 303
    assert "I am fine" not in client.get("/review").text  # no longer pending
    assert "I am fine" in client.get("/review?show=reviewed").text
    with session_scope(engine) as session:
        row = session.exec(select(TriageCorrection)).one()
        assert (row.message_id, row.triage_level, row.corrected_level) == (ok, "ok", "flag")


def test_a_form_without_csrf_is_refused(client, engine, patient, clock):
    ok = reply(engine, patient.phone, "fine", clock.now)
    sign_in(client, "nurse@kib.example.org")
    assert client.post(f"/review/{ok}", data={"corrected_level": "ok"}).status_code == 403
    with session_scope(engine) as session:
        assert session.exec(select(TriageCorrection)).all() == []


def test_a_nurse_corrects_an_item_and_another_clinic_gets_404(client, engine, patient, clock):
    reply(engine, patient.phone, "I have a cough", clock.now)
    with session_scope(engine) as session:
        item = session.exec(select(QueueItem)).one()
    sign_in(client, "nurse@lis.example.org")
    refused = client.post(f"/queue/{item.id}/correct",
                          data={"corrected_level": "urgent", "csrf_token": csrf(client, "/review")})
    assert refused.status_code == 404
    sign_in(client, "nurse@kib.example.org")
    bad = client.post(f"/queue/{item.id}/correct",
                      data={"corrected_level": "terrible", "csrf_token": csrf(client, "/review")})
    assert bad.status_code == 422 and "corrected_level" in bad.text
    done = client.post(f"/queue/{item.id}/correct", follow_redirects=False,
                       data={"corrected_level": "urgent", "next": "https://evil.example/", "csrf_token": csrf(client, "/review")})
    assert done.status_code == 303 and done.headers["location"] == "/queue"
    with session_scope(engine) as session:
        assert session.exec(select(TriageCorrection.corrected_level)).all() == ["urgent"]


def test_only_admins_export_and_cells_are_formula_safe(client, engine, patient, clock):
    reply(engine, patient.phone, "=1+1 I have a cough", clock.now)
    with session_scope(engine) as session:
        item = session.exec(select(QueueItem)).one()
    sign_in(client, "nurse@kib.example.org")
    client.post(f"/queue/{item.id}/correct", data={"corrected_level": "urgent", "csrf_token": csrf(client, "/review")})
    assert client.get("/corrections/export.csv").status_code == 403
    sign_in(client, "admin@kib.example.org")
    response = client.get("/corrections/export.csv")
    assert response.status_code == 200
    assert list(csv.reader(io.StringIO(response.text))) == [
        ["text", "language", "triage_level", "corrected_level"], ["'=1+1 I have a cough", "en", "flag", "urgent"]]


def test_the_queue_item_page_offers_the_correction_form(client, engine, patient, clock):
    reply(engine, patient.phone, "I have a cough", clock.now)
    with session_scope(engine) as session:
        item = session.exec(select(QueueItem)).one()
    sign_in(client, "nurse@kib.example.org")
    page = client.get(f"/queue/{item.id}")
    assert f'action="/queue/{item.id}/correct"' in page.text
    token = re.search(r'action="/queue/\d+/correct">\s*<input type="hidden" name="csrf_token" value="([^"]+)"', page.text)
    assert token, "the correction form carries its CSRF token"
    done = client.post(f"/queue/{item.id}/correct", follow_redirects=False,
                       data={"corrected_level": "urgent", "next": f"/queue/{item.id}", "csrf_token": token.group(1)})
    assert done.status_code == 303 and done.headers["location"] == f"/queue/{item.id}"
