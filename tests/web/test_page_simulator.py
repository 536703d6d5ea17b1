"""/simulator: a patient's thread as their phone shows it, and replies through the real
signed webhook (local gateway only; 404 with Twilio)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select
from twilio.request_validator import RequestValidator

from reminders.db import session_scope
from reminders.models import Message, QueueItem
from reminders.schemas import PatientCreate
from reminders.services import dispatch, simulator
from reminders.services.enroll import enroll
from reminders.web import create_app
from tests.web.signin import csrf, sign_in

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def patient(engine, clinics, clock, gateway):  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        patient = enroll(session, PatientCreate(clinic="KIB", phone="+254712345678", language="en", consent=True,
                                                art_start_date=date(2026, 11, 28), display_name="<script>x()</script>Amina"),
                         now=clock.now)
    dispatch.run_once(engine, gateway, now=clock.now)  # the welcome SMS goes out
    return patient


def test_a_reply_goes_through_the_signed_webhook_into_the_queue(client, engine, patient):
    sign_in(client, "nurse@kib.example.org")
    page = client.get("/simulator", params={"patient": patient.id})
    assert page.status_code == 200 and "We will send you short messages" in page.text  # the welcome SMS
    assert "<script>x()" not in page.text and "&lt;script&gt;x()&lt;/script&gt;Amina" in page.text
    sent = client.post(f"/simulator/{patient.id}/reply", follow_redirects=False,
                       data={"body": f"I have a fever {XSS}", "csrf_token": csrf(client, "/simulator")})
    assert sent.status_code == 303
    with session_scope(engine) as session:
        inbound = session.exec(select(Message).where(Message.direction == "inbound")).one()
        answer = session.exec(select(Message).where(Message.in_reply_to == inbound.id)).one()
        item = session.exec(select(QueueItem)).one()
    assert inbound.provider_sid.startswith("SM") and inbound.status == "processed"  # triaged
    assert answer.status == "twiml" and item.level == "flag" and item.patient_id == patient.id
    thread = client.get("/simulator", params={"patient": patient.id}).text
    assert XSS not in thread and "I have a fever &lt;img src=x onerror=alert(1)&gt;" in thread
    assert answer.body.split()[0] in thread  # the automatic answer is on the phone


def test_the_signature_is_the_one_the_webhook_checks(settings):
    fields, headers = simulator.signed_reply(settings, "+254712345678", "sawa")
    validator = RequestValidator(settings.webhook_auth_token)
    assert validator.validate(settings.public_url + "/twilio/sms", fields, headers["X-Twilio-Signature"])


def test_another_clinics_patient_is_404(client, patient):
    sign_in(client, "nurse@lis.example.org")
    assert client.get("/simulator", params={"patient": patient.id}).status_code == 404
    token = csrf(client, "/simulator")
    assert client.post(f"/simulator/{patient.id}/reply", data={"body": "hi", "csrf_token": token}).status_code == 404


def test_no_simulator_with_the_twilio_gateway(settings, engine, gateway, clock, clinics):
    twilio = settings.model_copy(update={"sms_gateway": "twilio", "twilio_account_sid": "AC" + "1" * 32,
                                         "twilio_from_number": "+15005550006"})
    from fastapi.testclient import TestClient

    with TestClient(create_app(twilio, engine=engine, gateway=gateway, clock=clock),
                    base_url=settings.public_url) as client:
        sign_in(client, "nurse@kib.example.org")
        assert client.get("/simulator").status_code == 404
        assert client.post("/simulator/1/reply", data={"body": "x", "csrf_token": csrf(client, "/queue")}).status_code == 404
