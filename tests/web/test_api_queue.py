"""The queue API: most urgent first, claim, resolve with an outcome; own clinic only."""

from __future__ import annotations

from datetime import date, timedelta

from reminders.db import session_scope
from reminders.schemas import PatientCreate
from reminders.services.enroll import enroll
from reminders.services.inbound import Incoming, ingest, process_received
from tests.helpers import snapshot


def reply(engine, clock, phone, text, sid, minutes=0):  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        ingest(session, Incoming(sid, phone, "+15005550006", text),
               now=clock.now + timedelta(minutes=minutes), answer_mode="twiml")
    process_received(engine)


def seed(engine, clock):  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        for i in range(3):
            enroll(session, PatientCreate(clinic="KIB", phone=f"+25471234500{i}", language="en",
                                          art_start_date=date(2026, 12, 1), consent=True), now=clock.now)
    reply(engine, clock, "+254712345000", "I have a fever", "SM1", minutes=1)
    reply(engine, clock, "+254712345001", "I have a rash", "SM2", minutes=2)
    reply(engine, clock, "+254712345002", "I had a seizure", "SM3", minutes=3)


def test_queue_is_most_urgent_then_oldest_first(client, login, engine, clock):
    seed(engine, clock)
    queue = client.get("/api/queue?status=open", headers=login()).json()
    assert [q["level"] for q in queue] == ["urgent", "flag", "flag"]
    assert queue[1]["opened_at"] < queue[2]["opened_at"]
    assert set(queue[0]) >= {"id", "patient_id", "level", "symptoms", "status", "opened_at"}


def test_claim_and_resolve(client, login, engine, clock):
    seed(engine, clock)
    headers = login()
    item = client.get("/api/queue", headers=headers).json()[0]
    claimed = client.post(f"/api/queue/{item['id']}/claim", headers=headers)
    assert claimed.status_code == 200 and claimed.json()["status"] == "claimed"
    resolved = client.post(f"/api/queue/{item['id']}/resolve", headers=headers,
                           json={"outcome": "advised_visit", "note": "Coming in today <b>now</b>"})
    assert resolved.json()["status"] == "resolved" and resolved.json()["outcome"] == "advised_visit"
    assert [q["id"] for q in client.get("/api/queue?status=open", headers=headers).json()] != [item["id"]]


def test_a_bad_outcome_is_422_and_changes_nothing(client, login, engine, clock):
    seed(engine, clock)
    headers = login()
    item = client.get("/api/queue", headers=headers).json()[0]
    before = snapshot(engine)
    response = client.post(f"/api/queue/{item['id']}/resolve", headers=headers, json={"outcome": "fine"})
    assert response.status_code == 422 and "outcome" in response.json()["detail"][0]["loc"]
    after = snapshot(engine)
    before.pop("audit_event"), after.pop("audit_event")
    assert after == before


def test_another_clinic_sees_nothing(client, login, engine, clock):
    seed(engine, clock)
    other = login("nurse@lis.example.org")
    assert client.get("/api/queue", headers=other).json() == []
    item_id = client.get("/api/queue", headers=login()).json()[0]["id"]
    assert client.post(f"/api/queue/{item_id}/claim", headers=other).status_code == 404
