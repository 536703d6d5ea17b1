"""/patients/new (the form, ?phone= prefilled) and /patients/import (check, then confirm)."""

from __future__ import annotations

import re

from sqlmodel import select

from reminders.db import session_scope
from reminders.models import Patient
from tests.helpers import snapshot
from tests.web.signin import csrf, sign_in

XSS = "<script>alert(1)</script>"


def form(**values):  # type: ignore[no-untyped-def]
    base = {"phone": "0712 345 678", "language": "sw", "art_start_date": "2026-11-28", "consent": "1"}
    base.update(values)
    return base


def test_the_form_is_prefilled_from_the_queues_unknown_number(client):
    sign_in(client, "nurse@kib.example.org")
    page = client.get("/patients/new", params={"phone": '+254712000009"><b>x</b>'})
    assert page.status_code == 200
    assert 'value="+254712000009&#34;&gt;&lt;b&gt;x&lt;/b&gt;"' in page.text  # escaped in the attribute


def test_a_nurse_enrolls_a_patient_into_her_clinic(client, engine):
    sign_in(client, "nurse@kib.example.org")
    response = client.post("/patients/new", data={**form(display_name=XSS), "csrf_token": csrf(client, "/patients/new")},
                           follow_redirects=False)
    assert response.status_code == 303
    with session_scope(engine) as session:
        patient = session.exec(select(Patient)).one()
    assert response.headers["location"] == f"/patients/{patient.id}"
    assert (patient.phone, patient.language, patient.display_name, patient.clinic_id) == (
        "+254712345678", "sw", XSS, 1)


def test_bad_input_names_the_field_keeps_the_values_and_writes_nothing(client, engine):
    sign_in(client, "nurse@kib.example.org")
    before = snapshot(engine)
    token = csrf(client, "/patients/new")
    for values, field in ((form(consent=""), "consent"), (form(phone="12"), "phone"),
                          (form(art_start_date="2020-01-01"), "art_start_date"), (form(cd4="lots"), "cd4")):
        page = client.post("/patients/new", data={**values, "display_name": XSS, "csrf_token": token})
        assert page.status_code == 422 and f"{field}:" in page.text, field
        assert XSS not in page.text and "&lt;script&gt;" in page.text
    after = snapshot(engine)
    assert {k: v for k, v in after.items() if k != "web_session" and k != "audit_event"} == {
        k: v for k, v in before.items() if k != "web_session" and k != "audit_event"}


CSV = ("phone,art_start_date,consent,name\n"
       "0712 345 678,2026-11-28,yes,Amina\n"
       f"0712 345 679,2026-11-28,no,{XSS}\n").encode()


def test_an_upload_is_checked_row_by_row_before_anything_is_written(client, engine):
    sign_in(client, "nurse@kib.example.org")
    before = snapshot(engine)["patient"]
    page = client.post("/patients/import", data={"csrf_token": csrf(client, "/patients/import")},
                       files={"file": ("register.csv", CSV, "text/csv")})
    assert page.status_code == 200
    assert "1</strong> rows can be enrolled" in page.text and "consent:" in page.text
    assert XSS not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert snapshot(engine)["patient"] == before  # a dry run
    payload = re.search(r'name="payload" value="([^"]+)"', page.text).group(1)
    done = client.post("/patients/import/confirm", data={"payload": payload, "filename": "register.csv",
                                                          "csrf_token": csrf(client, "/patients/import")})
    assert done.status_code == 200 and "1</strong> patients enrolled" in done.text
    with session_scope(engine) as session:
        assert [p.display_name for p in session.exec(select(Patient))] == ["Amina"]


def test_an_unusable_file_is_refused_with_the_reason(client):
    sign_in(client, "nurse@kib.example.org")
    page = client.post("/patients/import", data={"csrf_token": csrf(client, "/patients/import")},
                       files={"file": ("register.csv", b"name\nAmina\n", "text/csv")})
    assert page.status_code == 422 and "file:" in page.text and "phone" in page.text
