"""Retention: old message bodies are erased by a scheduled job; the triage result and the
symptoms stay; every erasure is audited; what is still needed is kept."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from reminders.config import Settings
from reminders.db import session_scope
from reminders.jobs import jobs
from reminders.models import AuditEvent, Message, QueueItem
from reminders.services import inbound, retention
from reminders.services.inbound import Incoming, ingest

REPLY = "nina homa na uvimbe shingoni"


def _message(session, patient, *, created_at, status, direction="outbound", body="How are you?"):  # type: ignore[no-untyped-def]
    message = Message(patient_id=patient.id, clinic_id=patient.clinic_id, direction=direction, kind="checkin",
                      phone=patient.phone, body=body, status=status, created_at=created_at)
    session.add(message)
    session.flush()
    return message.id


def test_old_bodies_are_erased_and_the_triage_result_and_symptoms_stay(engine, make_patient, now):
    patient = make_patient(enrolled=now - timedelta(days=120), art_start=(now - timedelta(days=120)).date())
    long_ago = now - timedelta(days=91)
    with session_scope(engine) as session:
        reply_id = ingest(session, Incoming(sid="SM" + "b" * 32, from_=patient.phone, to="+15005550006",
                                            body=REPLY), now=long_ago, answer_mode="twiml").message_id
    inbound.process_received(engine)
    with session_scope(engine) as session:
        old_sent = _message(session, patient, created_at=long_ago, status="delivered")
        recent = _message(session, patient, created_at=now - timedelta(days=89), status="delivered")
        old_pending = _message(session, patient, created_at=long_ago, status="pending")
        old_unknown = _message(session, patient, created_at=long_ago, status="unknown")

    assert retention.erase_old_bodies(engine, now=now, days=90, batch=2)["erased"] >= 3

    with session_scope(engine) as session:
        body = {m.id: m for m in session.exec(select(Message)).all()}
        assert body[reply_id].body == "" and body[reply_id].body_erased_at == now
        assert body[reply_id].triage_level == "flag"  # the triage result stays
        assert body[old_sent].body == ""
        assert body[recent].body == "How are you?" and body[recent].body_erased_at is None
        assert body[old_pending].body == "How are you?"  # not sent yet: still needed
        assert body[old_unknown].body == "How are you?"  # reconciliation looks for it by body
        item = session.exec(select(QueueItem).where(QueueItem.patient_id == patient.id)).one()
        assert {"fever", "swelling"} <= set(item.symptoms)
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "retention.erase")).all()
        erased = sum(event.detail["count"] for event in events)
        assert erased == sum(1 for m in body.values() if m.body_erased_at is not None)
        assert all(event.detail["older_than_days"] == 90 for event in events)
        assert REPLY not in str([event.detail for event in events])

    again = retention.erase_old_bodies(engine, now=now, days=90)
    assert again == {"erased": 0}
    with session_scope(engine) as session:
        count = len(session.exec(select(AuditEvent).where(AuditEvent.action == "retention.erase")).all())
    assert count == len(events)  # nothing erased, nothing audited


def test_retention_is_a_scheduled_job_only_when_configured(engine, gateway, settings):
    assert "retention" not in {job.name for job in jobs(engine, gateway, settings)}
    configured = settings.model_copy(update={"retention_days": 30})
    [job] = [job for job in jobs(engine, gateway, configured) if job.name == "retention"]
    assert job.seconds == 3600


def test_the_retention_period_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("REMINDERS_RETENTION_DAYS", "180")
    assert Settings().retention_days == 180
