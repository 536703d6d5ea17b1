"""Status callbacks through the real twilio client and the fake: signed, forward-only, idempotent."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from reminders.db import session_scope
from reminders.models import CheckIn, Message, Patient, QueueItem
from reminders.schemas import PatientCreate
from reminders.services import dispatch
from reminders.services.enroll import enroll
from reminders.services.outbox import SendOptions
from reminders.sms.twilio import TwilioGateway
from reminders.web import create_app
from tests.helpers import snapshot

DUE = datetime(2026, 12, 4, 6, 5, tzinfo=timezone.utc)


@pytest.fixture
def twilio_app(settings, engine, fake_twilio, clinics, clock):  # type: ignore[no-untyped-def]
    settings = settings.model_copy(update={"twilio_auth_token": fake_twilio.auth_token,
                                           "sms_gateway": "twilio"})
    gateway = TwilioGateway(fake_twilio.account_sid, fake_twilio.auth_token,
                            from_number="+15005550006", api_base=fake_twilio.base_url)
    app = create_app(settings, engine=engine, gateway=gateway, clock=clock)
    with TestClient(app, base_url=settings.public_url) as client:
        yield client, gateway, settings


@pytest.fixture
def sent_checkin(twilio_app, engine):  # type: ignore[no-untyped-def]
    _client, gateway, settings = twilio_app
    with session_scope(engine) as session:
        patient = enroll(session, PatientCreate(clinic="KIB", phone="0712345678", language="en",
                                                art_start_date=date(2026, 12, 1), consent=True),
                         now=datetime(2026, 12, 1, 7, 0, tzinfo=timezone.utc))
    summary = dispatch.run_once(engine, gateway, now=DUE, options=SendOptions.from_settings(settings))
    assert summary["sent"] == 2
    with session_scope(engine) as session:
        checkin = session.exec(select(CheckIn).where(CheckIn.status == "sent")).one()
    return patient, checkin


def post_callback(client, fake, sid, status, error_code=None):  # type: ignore[no-untyped-def]
    url, fields, headers = fake.signed_status_callback(sid, status, error_code=error_code)
    assert url == "https://reminders.example.org/twilio/status"  # what we asked Twilio to call
    return client.post("/twilio/status", data=fields, headers=headers)


def message_status(engine, sid):  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return session.exec(select(Message.status).where(Message.provider_sid == sid)).one()


def test_statuses_only_move_forward(twilio_app, fake_twilio, sent_checkin, engine):
    client = twilio_app[0]
    sid = sent_checkin[1].provider_sid
    assert message_status(engine, sid) == "queued"
    assert post_callback(client, fake_twilio, sid, "sent").status_code == 204
    assert post_callback(client, fake_twilio, sid, "delivered").status_code == 204
    assert message_status(engine, sid) == "delivered"
    post_callback(client, fake_twilio, sid, "sent")  # late, out of order
    post_callback(client, fake_twilio, sid, "delivered")  # duplicate
    assert message_status(engine, sid) == "delivered"


def test_a_bad_signature_is_403_and_changes_nothing(twilio_app, fake_twilio, sent_checkin, engine):
    client = twilio_app[0]
    sid = sent_checkin[1].provider_sid
    url, fields, headers = fake_twilio.signed_status_callback(sid, "delivered")
    before = snapshot(engine)
    forged = client.post("/twilio/status", data={**fields, "MessageStatus": "failed"}, headers=headers)
    missing = client.post("/twilio/status", data=fields)
    assert forged.status_code == missing.status_code == 403
    assert snapshot(engine) == before


def test_undelivered_counts_as_unanswered_and_says_why(twilio_app, fake_twilio, sent_checkin, engine):
    client = twilio_app[0]
    patient, checkin = sent_checkin
    post_callback(client, fake_twilio, checkin.provider_sid, "undelivered", error_code=30006)
    with session_scope(engine) as session:
        stored = session.get(CheckIn, checkin.id)
        assert (stored.status, stored.error_code, stored.error_kind) == ("failed", 30006, "invalid_number")
        item = session.exec(select(QueueItem)).one()
        assert (item.patient_id, item.reason) == (patient.id, "invalid_number")


def test_a_carrier_opt_out_in_a_callback_stops_the_patient(twilio_app, fake_twilio, sent_checkin, engine):
    client = twilio_app[0]
    patient, checkin = sent_checkin
    post_callback(client, fake_twilio, checkin.provider_sid, "failed", error_code=21610)
    with session_scope(engine) as session:
        assert session.get(Patient, patient.id).status == "opted_out"


def test_a_dispatched_checkin_reached_the_fake_with_our_callback_url(sent_checkin, fake_twilio):
    patient, checkin = sent_checkin
    created = fake_twilio.message(checkin.provider_sid)
    assert created.to == patient.phone
    assert created.status_callback == "https://reminders.example.org/twilio/status"
