"""GET /metrics (Prometheus text from the database) and /healthz (three separate checks)."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import select

from reminders.db import create_db_engine, session_scope
from reminders.models import CheckIn, Message, Patient
from reminders.schemas import PatientCreate
from reminders.services import heartbeat, inbound
from reminders.services.enroll import enroll
from reminders.services.inbound import Incoming, ingest
from reminders.services.queue import open_or_join
from reminders.web import create_app

PHONE = "+254712345678"
BODY = "nina homa kali na kichwa kinauma"


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _seed(engine, clock) -> int:  # type: ignore[no-untyped-def]
    now = clock.now
    with session_scope(engine) as session:
        patient = enroll(session, PatientCreate(clinic="KIB", phone=PHONE, language="sw",
                                                art_start_date=date(2026, 11, 28), consent=True),
                         now=now)
        session.flush()
        checkins = session.exec(select(CheckIn).where(CheckIn.patient_id == patient.id)
                                .order_by(CheckIn.due_at)).all()
        checkins[0].due_at = now - timedelta(minutes=7)  # due, not sent: the dispatch lag
        welcome = session.exec(select(Message).where(Message.patient_id == patient.id)).one()
        welcome.status, welcome.provider_sid = "delivered", "SM" + "1" * 32
        for index, status in enumerate(("sent", "failed", "unknown", "undelivered")):
            session.add(Message(patient_id=patient.id, clinic_id=patient.clinic_id, direction="outbound",
                                kind="checkin", phone=PHONE, body="x", status=status,
                                provider_sid=None if status == "unknown" else f"SM{index:032d}",
                                created_at=now))
        heartbeat.beat(session, "worker", now - timedelta(seconds=5), process="worker-1:42")
        return patient.id


def test_metrics_count_what_the_database_holds_without_a_phone_or_a_text(client, engine, clock, settings):
    _seed(engine, clock)
    with session_scope(engine) as session:
        ingest(session, Incoming(sid="SM" + "a" * 32, from_=PHONE, to="+15005550006", body=BODY),
               now=clock.now - timedelta(minutes=3), answer_mode="twiml")
    inbound.process_received(engine)  # a flag: one reply at level flag, one open item
    with session_scope(engine) as session:
        open_or_join(session, clinic_id=1, patient_id=None, level="urgent", reason="reply",
                     now=clock.now - timedelta(minutes=10), symptoms=["seizure"])
    settings.spool_dir.mkdir(parents=True)
    (settings.spool_dir / "SMx.json").write_text("{}")
    (settings.spool_dir / "quarantine").mkdir()
    (settings.spool_dir / "quarantine" / "SMy.json").write_text("{}")

    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert "712345678" not in text and "homa" not in text
    samples = _samples(text)
    assert samples[("reminders_messages_sent_total", ())] == 4  # delivered, sent, failed, undelivered had SIDs
    assert samples[("reminders_messages_delivered_total", ())] == 1
    assert samples[("reminders_messages_failed_total", ())] == 2
    assert samples[("reminders_messages_unknown", ())] == 1
    assert samples[("reminders_replies_total", (("level", "flag"),))] == 1
    assert samples[("reminders_replies_total", (("level", "urgent"),))] == 0
    assert samples[("reminders_queue_items", (("level", "urgent"), ("status", "open")))] == 1
    assert samples[("reminders_queue_items", (("level", "flag"), ("status", "open")))] == 1
    assert samples[("reminders_queue_oldest_open_age_seconds", (("level", "urgent"),))] == 600
    assert samples[("reminders_queue_oldest_open_age_seconds", (("level", "flag"),))] == 180
    assert samples[("reminders_dispatch_lag_seconds", ())] == 420
    assert samples[("reminders_spool_files", ())] == 1
    assert samples[("reminders_spool_quarantined_files", ())] == 1
    assert samples[("reminders_scheduler_heartbeat_age_seconds",
                    (("process", "worker-1:42"), ("role", "worker")))] == 5


def test_a_paused_patient_is_not_dispatch_lag(client, engine, clock):
    patient_id = _seed(engine, clock)
    with session_scope(engine) as session:
        session.get(Patient, patient_id).status = "paused"
    assert _samples(client.get("/metrics").text)[("reminders_dispatch_lag_seconds", ())] == 0


def test_healthz_reports_database_scheduler_and_spool_separately(settings, engine, clock, gateway, clinics):
    app = create_app(settings, engine=engine, gateway=gateway, clock=clock, scheduler=True)
    with TestClient(app, base_url=settings.public_url) as client:
        missing = client.get("/healthz")  # a scheduler expected, and no heartbeat yet
        assert missing.status_code == 503
        assert missing.json()["scheduler"]["status"] == "off"
        assert missing.json()["database"]["status"] == "ok"
        with session_scope(engine) as session:
            heartbeat.beat(session, "serve", clock.now)
        body = client.get("/healthz").json()
        assert body["status"] == "ok" and body["scheduler"]["status"] == "ok"
        assert body["spool"] == {"status": "ok", "pending": 0, "quarantined": 0}
        clock.now += heartbeat.STALE_AFTER + timedelta(seconds=1)
        stale = client.get("/healthz")
        assert stale.status_code == 503 and stale.json()["scheduler"]["status"] == "stale"


def test_healthz_says_which_part_is_down(settings, engine, clock, gateway, clinics, tmp_path):
    dead = create_db_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    app = create_app(settings, engine=dead, gateway=gateway, clock=clock)
    with TestClient(app, base_url=settings.public_url) as client:
        answer = client.get("/healthz")
    assert answer.status_code == 503
    body = answer.json()
    assert body["database"]["status"] == "down"
    assert body["spool"]["status"] == "ok"  # replies would still be kept
    assert body["scheduler"]["status"] == "unknown"
