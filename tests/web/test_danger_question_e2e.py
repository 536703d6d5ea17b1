"""The danger-sign question end to end: signed webhook -> triage pass -> outbox through the
real twilio client against tests/fake_twilio.py -> "1" -> urgent item -> on-call alert.

This is also the safety net for replies the lexicons miss: a flag reply followed by "1"
must reach the on-call phone.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from reminders import messages
from reminders.db import session_scope
from reminders.models import QueueItem
from reminders.schemas import PatientCreate
from reminders.services.enroll import enroll
from reminders.services.inbound import process_received
from reminders.services.outbox import send_pending
from reminders.sms.twilio import TwilioGateway
from reminders.web import create_app
from tests.web.test_inbound_webhook import PHONE, Twilio, answer

ONCALL = "+254700000002"


@pytest.fixture
def twilio_gateway(fake_twilio) -> TwilioGateway:  # type: ignore[no-untyped-def]
    return TwilioGateway(fake_twilio.account_sid, fake_twilio.auth_token, from_number="+15005550006",
                         api_base=fake_twilio.base_url)


@pytest.fixture
def web(settings, engine, twilio_gateway, clock, clinics):  # type: ignore[no-untyped-def]
    app = create_app(settings, engine=engine, gateway=twilio_gateway, clock=clock)
    with TestClient(app, base_url=settings.public_url) as client:
        yield client


@pytest.fixture
def patient(engine, clinics, clock):  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return enroll(session, PatientCreate(clinic="KIB", phone=PHONE, language="sw", consent=True,
                                             art_start_date=date(2026, 12, 1), display_name="Amina"),
                      now=clock.now)


@pytest.fixture
def phone(web, settings) -> Twilio:  # type: ignore[no-untyped-def]
    return Twilio(web, settings.twilio_auth_token)


def passes(engine, gateway, clock) -> None:  # type: ignore[no-untyped-def]
    """What the scheduler does every few seconds: triage the stored replies, send the outbox."""
    process_received(engine)
    send_pending(engine, gateway, now=clock.now)


def to(fake_twilio, number: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [m.body for m in fake_twilio.sent if m.to == number]


def item(engine) -> QueueItem:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return session.exec(select(QueueItem)).one()


QUESTION = messages.render("danger_question", "sw")


def test_a_flag_reply_then_1_alerts_the_on_call_phone_once(phone, web, login, patient, engine, twilio_gateway,
                                                           fake_twilio, clock):
    assert answer(phone.post("nimechoka tu")) == messages.render("flag_ack", "sw")
    passes(engine, twilio_gateway, clock)
    assert to(fake_twilio, PHONE)[-1] == QUESTION  # sent through the real client
    assert item(engine).level == "flag"

    clock.now += timedelta(minutes=20)
    text = answer(phone.post("1"))
    assert "+254700000001" in text and "tunafurahi" not in text.lower()  # not "glad you are well"
    passes(engine, twilio_gateway, clock)
    urgent = item(engine)
    assert (urgent.level, urgent.danger_answer) == ("urgent", "yes")
    (alert,) = to(fake_twilio, ONCALL)
    assert f"#{urgent.id}" in alert and "Amina" not in alert and PHONE not in alert

    passes(engine, twilio_gateway, clock)  # a second pass sends nothing more
    assert len(to(fake_twilio, ONCALL)) == 1
    assert to(fake_twilio, PHONE).count(QUESTION) == 1

    # Staff see the question and its answer in the timeline and on the item.
    headers = login()
    timeline = web.get(f"/api/patients/{patient.id}", headers=headers).json()["messages"]
    question = next(m for m in timeline if m["kind"] == "danger_question")
    reply = next(m for m in timeline if m["kind"] == "danger_answer")
    assert (question["direction"], question["body"]) == ("outbound", QUESTION)
    assert (reply["direction"], reply["body"], reply["in_reply_to"]) == ("inbound", "1", question["id"])
    (queued,) = web.get("/api/queue?status=open", headers=headers).json()
    assert (queued["level"], queued["danger_answer"]) == ("urgent", "yes") and queued["danger_asked_at"]


def test_2_keeps_the_flag_and_asks_nothing_more(phone, patient, engine, twilio_gateway, fake_twilio, clock):
    answer(phone.post("nina homa"))
    passes(engine, twilio_gateway, clock)
    clock.now += timedelta(minutes=20)
    assert answer(phone.post("2")) == messages.render("danger_no_ack", "sw")
    answer(phone.post("na kichwa kinauma kidogo"))  # another flag reply: not asked again
    passes(engine, twilio_gateway, clock)
    assert (item(engine).level, item(engine).danger_answer) == ("flag", "no")
    assert to(fake_twilio, ONCALL) == []
    assert to(fake_twilio, PHONE).count(QUESTION) == 1


def test_silence_keeps_the_flag(phone, patient, engine, twilio_gateway, fake_twilio, clock):
    answer(phone.post("3"))  # swelling or lumps
    passes(engine, twilio_gateway, clock)
    clock.now += timedelta(hours=25)
    passes(engine, twilio_gateway, clock)
    assert (item(engine).level, item(engine).danger_answer) == ("flag", None)
    assert to(fake_twilio, ONCALL) == [] and to(fake_twilio, PHONE).count(QUESTION) == 1


def test_stop_in_between_nothing_is_sent(phone, patient, engine, twilio_gateway, fake_twilio, clock):
    answer(phone.post("nina homa"))
    process_received(engine)  # the question is in the outbox, not sent yet
    assert "START" in answer(phone.post("STOP"))
    passes(engine, twilio_gateway, clock)
    assert QUESTION not in to(fake_twilio, PHONE)
    answer(phone.post("1"))
    passes(engine, twilio_gateway, clock)
    assert to(fake_twilio, ONCALL) == [] and item(engine).danger_answer is None


def test_yes_in_english_answers_the_question_while_it_is_open(phone, patient, engine, twilio_gateway,
                                                              fake_twilio, clock):
    answer(phone.post("2"))  # fever
    passes(engine, twilio_gateway, clock)
    text = answer(phone.post("YES", OptOutType="START"))  # Twilio marks YES as an opt-in word
    assert "+254700000001" in text
    passes(engine, twilio_gateway, clock)
    assert item(engine).level == "urgent" and len(to(fake_twilio, ONCALL)) == 1
