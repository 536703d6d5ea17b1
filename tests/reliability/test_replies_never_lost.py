"""Promise: whatever Twilio can post to /twilio/sms is stored or spooled, never a 500 with
nothing kept; the signature is still checked first. On SQLite and PostgreSQL."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from sqlmodel import select

from reminders import spool
from reminders.db import session_scope
from reminders.models import Message, QueueItem
from reminders.services.inbound import process_received
from reminders.services.recovery import reconcile_inbound, replay_spool
from tests.helpers import snapshot
from tests.reliability.conftest import PHONE, SMS_URL

SID = "SM" + "f" * 32


def stored(engine) -> list[Message]:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return list(session.exec(select(Message).where(Message.direction == "inbound").order_by(Message.id)))


def answered(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    found = ET.fromstring(response.text).findall("Message")
    return found[0].text if found else ""


# What Twilio can post: every field may carry a NUL; a WhatsApp sender is longer than an
# E.164 number; SIDs are 34 characters (we allow 64); bodies up to 1,600 characters for
# SMS and 4,096 for WhatsApp; percent-escapes that are not UTF-8.
HOSTILE = {
    "nul in body": dict(body="nina\x00 homa"),
    "nul in sid": dict(body="1", sid="SM\x00" + "1" * 31),
    "nul in from": dict(body="1", sender=PHONE + "\x00"),
    "nul in to": dict(body="1", To="+1500555\x000006"),
    "nul in opt-out type": dict(body="stop", OptOutType="STOP\x00"),
    "whatsapp sender": dict(body="nina homa", sender="whatsapp:" + PHONE),
    "whatsapp sender, longest number": dict(body="1", sender="whatsapp:+999123456789012"),
    "64-character sid": dict(body="1", sid="SM" + "a" * 62),
    "sid with odd characters": dict(body="1", sid="SM/../../etc" + "ü" * 10),
    "emoji and right-to-left marks": dict(body="\u202eأنا بخير 🙏🏾\u200f"),
    "whatsapp-length body": dict(body="ñ" * 4096, sender="whatsapp:" + PHONE),
    "control characters": dict(body="\x01\x02\x1b[31m ok \x7f"),
}


@pytest.mark.parametrize("case", HOSTILE, ids=list(HOSTILE))
def test_a_reply_twilio_can_post_is_stored_with_nul_marked(case, twilio, patient, engine, settings):
    fields = twilio.fields(**HOSTILE[case])
    first = answered(twilio.post_fields(fields))
    assert first
    (row,) = stored(engine)
    assert "\x00" not in row.body + row.phone + (row.provider_sid or "")
    assert row.body == fields["Body"].replace("\x00", "\ufffd")
    assert spool.counts(settings.spool_dir).as_dict() == {"pending": 0, "quarantined": 0}
    # Twilio's retry of the same post: the same answer, still one row.
    assert answered(twilio.post_fields(fields)) == first
    assert len(stored(engine)) == 1


def test_a_retry_of_a_nul_sid_is_stored_once(twilio, patient, engine):
    sid = "SM\x00" + "2" * 31
    first = answered(twilio.post("nina homa", sid=sid))
    second = answered(twilio.post("nina homa", sid=sid))
    assert first == second
    assert [m.provider_sid for m in stored(engine)] == ["SM\ufffd" + "2" * 31]


def test_invalid_utf8_escapes_are_kept_as_replacement_characters(client, settings, patient, engine):
    from twilio.request_validator import RequestValidator

    raw = f"MessageSid={SID}&From=%2B254712345678&To=%2B15005550006&Body=caf%E9+%FF%FE+homa"
    # Twilio signs the decoded values; this is what any form parser decodes them to.
    values = {"MessageSid": SID, "From": PHONE, "To": "+15005550006", "Body": "caf\ufffd \ufffd\ufffd homa"}
    signature = RequestValidator(settings.twilio_auth_token).compute_signature(SMS_URL, values)
    response = client.post("/twilio/sms", content=raw.encode(), headers={
        "X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"})
    assert answered(response)
    assert [m.body for m in stored(engine)] == ["caf\ufffd \ufffd\ufffd homa"]


def test_the_signature_is_checked_on_the_raw_form_before_anything_is_kept(client, settings, patient, engine):
    from twilio.request_validator import RequestValidator

    fields = {"MessageSid": SID, "From": PHONE, "To": "+15005550006", "Body": "nina\x00homa"}
    # Signed over the cleaned text, not what was posted: refused.
    cleaned = {**fields, "Body": "nina\ufffdhoma"}
    wrong = RequestValidator(settings.twilio_auth_token).compute_signature(SMS_URL, cleaned)
    before = snapshot(engine)
    assert client.post("/twilio/sms", data=fields, headers={"X-Twilio-Signature": wrong}).status_code == 403
    assert client.post("/twilio/sms", data=fields).status_code == 403
    assert snapshot(engine) == before
    assert spool.counts(settings.spool_dir).as_dict() == {"pending": 0, "quarantined": 0}


def test_over_long_fields_are_quarantined_not_lost(twilio, patient, engine, settings, client):
    assert answered(twilio.post("nina homa", sid="SM" + "9" * 100))
    assert answered(twilio.post("1", sender="whatsapp:" + "+2547" * 20))
    assert stored(engine) == []
    assert spool.counts(settings.spool_dir).as_dict() == {"pending": 0, "quarantined": 2}
    reasons = sorted((settings.spool_dir / "quarantine").glob("*.reason"))
    assert len(reasons) == 2 and all("longer than Twilio documents" in r.read_text() for r in reasons)
    spool_health = client.get("/healthz").json()["spool"]
    assert (spool_health["pending"], spool_health["quarantined"]) == (0, 2)


def test_a_whatsapp_reply_reaches_the_queue(twilio, patient, engine):
    answered(twilio.post("siwezi kupumua", sender="whatsapp:" + PHONE))
    process_received(engine)
    with session_scope(engine) as session:
        items = session.exec(select(QueueItem)).all()
    assert [(i.reason, i.level) for i in items] == [("unknown_sender", "admin")]


def test_reconciliation_lists_todays_replies(engine, patient, fake_twilio, clock):
    """Twilio's DateSent<D means "before midnight on D": asking with today's date missed
    every reply of the current day, the ones reconciliation exists for."""
    from reminders.sms.twilio import TwilioGateway

    gateway = TwilioGateway(fake_twilio.account_sid, fake_twilio.auth_token,
                            from_number="+15005550006", api_base=fake_twilio.base_url)
    today = fake_twilio.add_inbound(PHONE, "+15005550006", "nina homa", date_sent=clock.now - timedelta(minutes=5))
    window = {"since": clock.now - timedelta(hours=2), "until": clock.now}
    assert reconcile_inbound(engine, gateway, **window) == {"listed": 1, "ingested": 1}
    assert [m.provider_sid for m in stored(engine)] == [today.sid]


def test_reconciliation_and_the_spool_store_one_row_per_sid(engine, patient, fake_twilio, clock, settings):
    from reminders.services.inbound import Incoming
    from reminders.sms.twilio import TwilioGateway

    gateway = TwilioGateway(fake_twilio.account_sid, fake_twilio.auth_token,
                            from_number="+15005550006", api_base=fake_twilio.base_url)
    listed = fake_twilio.add_inbound(PHONE, "+15005550006", "nina homa", date_sent=clock.now - timedelta(minutes=5))
    spool.write(settings.spool_dir, Incoming(sid=listed.sid, from_=PHONE, to="+15005550006", body="nina homa"),
                (clock.now - timedelta(minutes=5)).isoformat())
    window = {"since": clock.now - timedelta(hours=2), "until": clock.now}
    assert reconcile_inbound(engine, gateway, **window)["ingested"] == 1
    assert reconcile_inbound(engine, gateway, **window)["ingested"] == 0
    summary = replay_spool(engine, settings.spool_dir)
    assert (summary["ingested"], summary["duplicates"]) == (0, 1)
    assert [m.provider_sid for m in stored(engine)] == [listed.sid]
