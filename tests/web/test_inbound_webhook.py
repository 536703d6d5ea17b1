"""POST /twilio/sms: signed, stored once, keywords before triage, answered in TwiML, queued."""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select
from twilio.request_validator import RequestValidator

from reminders.db import create_db_engine, session_scope
from reminders.models import Message, Patient, QueueItem
from reminders.schemas import PatientCreate
from reminders.services.enroll import enroll
from reminders.services.inbound import process_received
from reminders.services.recovery import reconcile_inbound, replay_spool
from reminders.web import create_app
from tests.helpers import snapshot

URL = "https://reminders.example.org/twilio/sms"
PHONE = "+254712345678"


@pytest.fixture
def patient(engine, clinics, clock):  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return enroll(session, PatientCreate(clinic="KIB", phone=PHONE, language="sw", consent=True,
                                             art_start_date=date(2026, 12, 1), display_name="Amina"),
                      now=clock.now)


class Twilio:
    """Posts inbound messages the way Twilio does: form fields and a signature."""

    def __init__(self, client: TestClient, token: str) -> None:
        self.client, self.token, self.count = client, token, 0

    def post(self, body: str, *, sid: str | None = None, sender: str = PHONE, **extra: str):  # type: ignore[no-untyped-def]
        self.count += 1
        fields = {"MessageSid": sid or f"SM{self.count:032d}", "AccountSid": "AC" + "0" * 32,
                  "From": sender, "To": "+15005550006", "Body": body, "NumMedia": "0", **extra}
        signature = RequestValidator(self.token).compute_signature(URL, fields)
        return self.client.post("/twilio/sms", data=fields, headers={"X-Twilio-Signature": signature})


@pytest.fixture
def twilio(client, settings) -> Twilio:  # type: ignore[no-untyped-def]
    return Twilio(client, settings.twilio_auth_token)


def answer(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    messages = ET.fromstring(response.text).findall("Message")
    return messages[0].text if messages else ""


def items(engine):  # type: ignore[no-untyped-def]
    """The queue once the replies pass has triaged what the webhook stored."""
    process_received(engine)
    with session_scope(engine) as session:
        return session.exec(select(QueueItem).order_by(QueueItem.id)).all()


def inbound(engine):  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return session.exec(select(Message).where(Message.direction == "inbound")).all()


def test_a_well_reply_is_stored_and_thanked_in_the_patients_language(twilio, patient, engine):
    text = answer(twilio.post("1"))
    assert text and "asante" in text.lower()
    assert [m.body for m in inbound(engine)] == ["1"]
    assert items(engine) == []


def test_a_plain_thank_you_is_thanked_and_queues_nothing(twilio, patient, engine):
    # triage calls it admin (not a health report), but it asks staff for nothing
    text = answer(twilio.post("asante sana"))
    assert "asante kwa jibu" in text.lower()
    assert items(engine) == []


def test_call_me_without_a_symptom_is_an_admin_queue_item(twilio, patient, engine):
    answer(twilio.post("naomba mnipigie simu"))
    (item,) = items(engine)
    assert item.level == "admin" and item.patient_id == patient.id


@pytest.mark.parametrize("signature", ["", "bm90IGEgc2lnbmF0dXJl", None])
def test_a_bad_signature_is_403_and_stores_nothing(client, patient, engine, signature):
    before = snapshot(engine)
    fields = {"MessageSid": "SM" + "1" * 32, "From": PHONE, "To": "+15005550006", "Body": "I cannot breathe"}
    headers = {} if signature is None else {"X-Twilio-Signature": signature}
    assert client.post("/twilio/sms", data=fields, headers=headers).status_code == 403
    assert client.post("/twilio/sms", content=b"", headers=headers).status_code == 403
    assert snapshot(engine) == before


def test_a_signature_for_another_url_is_refused(client, settings, patient, engine):
    fields = {"MessageSid": "SM" + "2" * 32, "From": PHONE, "To": "+1", "Body": "1"}
    wrong = RequestValidator(settings.twilio_auth_token).compute_signature("http://testserver/twilio/sms", fields)
    assert client.post("/twilio/sms", data=fields, headers={"X-Twilio-Signature": wrong}).status_code == 403
    assert inbound(engine) == []


def test_a_retried_delivery_is_stored_once_and_answered_the_same(twilio, patient, engine):
    first = answer(twilio.post("nina homa", sid="SM" + "a" * 32))
    second = answer(twilio.post("nina homa", sid="SM" + "a" * 32))
    assert first == second and first
    assert len(inbound(engine)) == 1
    assert len(items(engine)) == 1


def test_concurrent_deliveries_of_one_sid_store_one_row(twilio, patient, engine):
    results = []
    threads = [threading.Thread(target=lambda: results.append(twilio.post("nina homa", sid="SM" + "b" * 32)))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status_code for r in results] == [200] * 4
    assert len(inbound(engine)) == 1


def test_unicode_emoji_and_long_messages_are_kept_intact(twilio, patient, engine):
    body = ("Ninajisikia vizuri 🙏🏾 — merci, ça va. " * 40)[:1600]
    answer(twilio.post(body))
    assert inbound(engine)[0].body == body


def test_an_oversized_body_is_refused(twilio, patient, engine):
    response = twilio.post("x" * 70_000)
    assert response.status_code == 413
    assert inbound(engine) == []


def test_an_unknown_number_gets_a_neutral_answer_and_an_admin_item(twilio, patient, engine):
    text = answer(twilio.post("who is this?", sender="+254799999999"))
    assert text
    for revealing in ("Kibera", "+254700000001", "Amina", "clinic"):
        assert revealing.lower() not in text.lower()
    (item,) = items(engine)
    assert (item.level, item.reason, item.patient_id) == ("admin", "unknown_sender", None)


def test_an_urgent_reply_is_queued_answered_with_the_clinic_phone_and_alerts_on_call(twilio, patient, engine):
    text = answer(twilio.post("siwezi kupumua, kifua kinauma sana"))
    assert "+254700000001" in text
    (item,) = items(engine)
    assert item.level == "urgent" and item.patient_id == patient.id
    assert item.evidence  # staff see why
    with session_scope(engine) as session:
        (alert,) = session.exec(select(Message).where(Message.kind == "alert")).all()
    assert alert.phone == "+254700000002" and alert.status == "pending"
    assert f"#{item.id}" in alert.body
    for secret in ("Amina", PHONE, "kupumua", "breath"):
        assert secret.lower() not in alert.body.lower()


def test_a_worse_reply_joins_the_open_item_and_raises_it(twilio, patient, engine):
    answer(twilio.post("nina homa kidogo"))
    assert [i.level for i in items(engine)] == ["flag"]
    answer(twilio.post("sasa nimepata degedege"))
    (item,) = items(engine)
    assert item.level == "urgent"
    assert len(item.evidence) >= 2


def test_stop_ends_messages_once_and_keeps_the_urgent_item_visible(twilio, client, login, patient, engine):
    answer(twilio.post("I cannot breathe"))
    confirmation = answer(twilio.post(" Stop! "))
    assert confirmation and "START" in confirmation
    assert answer(twilio.post("STOP")) == ""  # one confirmation only
    with session_scope(engine) as session:
        assert session.get(Patient, patient.id).status == "opted_out"
        pending = session.exec(select(Message).where(Message.patient_id == patient.id,
                                                     Message.status == "pending")).all()
    assert pending == []
    process_received(engine)
    queue = client.get("/api/queue?status=open", headers=login()).json()
    assert [(q["level"], q["patient_status"]) for q in queue] == [("urgent", "opted_out")]


def test_opt_out_type_from_twilio_is_honoured(twilio, patient, engine):
    answer(twilio.post("please no more", OptOutType="STOP"))
    with session_scope(engine) as session:
        assert session.get(Patient, patient.id).status == "opted_out"


def test_start_resumes_help_gives_the_clinic_phone_and_language_switches(twilio, patient, engine):
    answer(twilio.post("acha"))
    assert answer(twilio.post("START"))
    with session_scope(engine) as session:
        assert session.get(Patient, patient.id).status == "active"
    assert "+254700000001" in answer(twilio.post("help"))
    answer(twilio.post("LANG EN"))
    with session_scope(engine) as session:
        assert session.get(Patient, patient.id).language == "en"
    assert items(engine) == []  # keywords are never triaged as symptoms


def test_a_reply_spooled_while_the_database_is_down_is_ingested_later(settings, engine, gateway, clock, patient):
    down = create_db_engine("postgresql+psycopg://postgres@127.0.0.1:1/nothing")
    app = create_app(settings, engine=down, gateway=gateway, clock=clock)
    with TestClient(app, base_url=settings.public_url) as client:
        text = answer(Twilio(client, settings.twilio_auth_token).post("I cannot breathe", sid="SM" + "c" * 32))
    assert text  # answered from triage alone
    assert list(settings.spool_dir.glob("*.json"))
    assert inbound(engine) == []
    assert replay_spool(engine, settings.spool_dir)["ingested"] == 1
    assert [m.body for m in inbound(engine)] == ["I cannot breathe"]
    assert [i.level for i in items(engine)] == ["urgent"]
    assert list(settings.spool_dir.glob("*.json")) == []
    assert not any(replay_spool(engine, settings.spool_dir).values())


def test_reconciliation_ingests_replies_we_never_received(engine, patient, fake_twilio, clock):
    from reminders.sms.twilio import TwilioGateway

    fake_twilio.add_inbound(PHONE, "+15005550006", "nina homa", date_sent=clock.now - timedelta(minutes=30))
    gateway = TwilioGateway(fake_twilio.account_sid, fake_twilio.auth_token,
                            from_number="+15005550006", api_base=fake_twilio.base_url)
    window = {"since": clock.now - timedelta(hours=2), "until": clock.now}
    assert reconcile_inbound(engine, gateway, **window) == {"listed": 1, "ingested": 1}
    assert reconcile_inbound(engine, gateway, **window) == {"listed": 1, "ingested": 0}
    assert [m.body for m in inbound(engine)] == ["nina homa"]
    with session_scope(engine) as session:
        answers = session.exec(select(Message).where(Message.kind == "answer")).all()
    assert [a.status for a in answers] == ["pending"]  # never answered: goes through the outbox


def test_logs_carry_no_phone_number_or_message_body(twilio, patient, caplog):
    import logging

    body = "siwezi kupumua usiku wote"
    with caplog.at_level(logging.DEBUG):
        answer(twilio.post(body))
        answer(twilio.post("who is this", sender="+254799999999"))
    assert caplog.records  # something was logged, by id
    assert PHONE not in caplog.text and "+254799999999" not in caplog.text
    assert body not in caplog.text and "kupumua" not in caplog.text
