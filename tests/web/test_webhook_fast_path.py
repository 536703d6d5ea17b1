"""The webhook's cheap path (issue 10): on PostgreSQL the common reply is stored in two
statements on the webhooks' own autocommit pool, and a POST to a Twilio webhook skips the
framework's layers. What it must keep: the rows `ingest` writes, the answers, the
headers, and a reply stored at once after the database dropped its connections."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import select

from reminders import spool
from reminders.db import session_scope, webhook_engine_for
from reminders.models import Message, Patient
from tests.web.test_inbound_webhook import PHONE, answer, inbound, patient, twilio  # noqa: F401 - fixtures

SECURITY_HEADERS = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer",
                    "x-frame-options": "DENY", "cache-control": "no-store"}


def rows(engine):  # type: ignore[no-untyped-def]
    """The replies and their answers (enrollment wrote a welcome before)."""
    with session_scope(engine) as session:
        return session.exec(select(Message).where(
            (Message.direction == "inbound") | (Message.kind == "answer")).order_by(Message.id)).all()


def test_the_reply_and_its_answer_are_the_rows_ingest_writes(twilio, patient, engine, clock):
    text = answer(twilio.post("nina homa tangu jana", sid="SM" + "1" * 32))
    reply, stored_answer = rows(engine)
    assert (reply.direction, reply.kind, reply.status, reply.provider_sid, reply.body, reply.phone) == (
        "inbound", "reply", "received", "SM" + "1" * 32, "nina homa tangu jana", PHONE)
    assert (reply.patient_id, reply.clinic_id, reply.created_at, reply.attempts) == (
        patient.id, patient.clinic_id, clock.now, 0)
    assert (stored_answer.direction, stored_answer.kind, stored_answer.status, stored_answer.body,
            stored_answer.in_reply_to, stored_answer.phone) == ("outbound", "answer", "twiml", text, reply.id, PHONE)
    assert (stored_answer.patient_id, stored_answer.clinic_id, stored_answer.created_at) == (
        patient.id, patient.clinic_id, clock.now)
    assert (reply.priority, stored_answer.priority) == (5, 1)  # models.priority_of("reply"), ("answer")
    # Twilio's retry: the same answer, nothing more stored.
    assert answer(twilio.post("nina homa tangu jana", sid="SM" + "1" * 32)) == text
    assert len(rows(engine)) == 2


def test_an_opted_out_patients_reply_is_stored_once_and_not_answered(twilio, patient, engine):
    with session_scope(engine) as session:
        session.get(Patient, patient.id).status = "opted_out"
    first = twilio.post("nina homa", sid="SM" + "2" * 32)
    assert answer(first) == "" and "<Message>" not in first.text
    assert answer(twilio.post("nina homa", sid="SM" + "2" * 32)) == ""
    assert [(m.direction, m.status) for m in rows(engine)] == [("inbound", "received")]


def test_webhook_answers_carry_the_security_headers(twilio, client, patient):
    good = twilio.post("1")
    bad = client.post("/twilio/sms", data={"MessageSid": "SM" + "3" * 32, "From": PHONE, "Body": "1"},
                      headers={"X-Twilio-Signature": "forged"})
    status = client.post("/twilio/status", data={"MessageSid": "SM1", "MessageStatus": "sent"},
                         headers={"X-Twilio-Signature": "forged"})
    assert good.status_code == 200
    assert (bad.status_code, bad.json()) == (403, {"detail": "invalid signature"})
    assert status.status_code == 403
    for response in (good, bad, status):
        assert {name: response.headers.get(name) for name in SECURITY_HEADERS} == SECURITY_HEADERS


def test_a_reply_after_the_database_dropped_every_connection_is_stored_at_once(
        twilio, patient, engine, settings):
    assert answer(twilio.post("1", sid="SM" + "4" * 32))
    if engine.dialect.name == "postgresql":
        webhook = webhook_engine_for(engine, settings.webhook_budget_seconds * 0.8)
        assert webhook is not None and webhook.pool.checkedin() >= 1  # a pooled connection to lose
        # A database restart, as the pool sees it: every other connection of this database ends.
        with engine.connect() as connection:
            connection.execute(sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
    else:
        assert webhook_engine_for(engine, 1.0) is None  # SQLite: the webhook uses the engine itself
    assert answer(twilio.post("nina homa", sid="SM" + "5" * 32))
    assert [m.provider_sid for m in inbound(engine)] == ["SM" + "4" * 32, "SM" + "5" * 32]
    assert spool.counts(settings.spool_dir).as_dict() == {"pending": 0, "quarantined": 0}
