"""The JSON API for patients: enroll, read (own clinic only), update; bad input changes nothing."""

from __future__ import annotations

import pytest

from tests.helpers import snapshot

PATIENT = {"clinic": "KIB", "phone": "0712 345 678", "language": "sw", "art_start_date": "2026-11-28",
           "preferred_hour": 9, "cd4": 85, "recent_oi": True, "shared_phone": False, "consent": True}


def test_token_answers_bearer_and_refuses_a_wrong_password(client):
    good = client.post("/api/token", data={"username": "nurse@kib.example.org", "password": "correct horse battery"})
    assert good.status_code == 200 and good.json()["token_type"] == "bearer"
    bad = client.post("/api/token", data={"username": "nurse@kib.example.org", "password": "nope-nope-nope"})
    unknown = client.post("/api/token", data={"username": "who@example.org", "password": "nope-nope-nope"})
    assert bad.status_code == unknown.status_code == 401
    assert bad.json() == unknown.json()  # no user enumeration


def test_every_sign_in_attempt_is_audited_without_the_password(client, engine):
    from sqlmodel import Session, select

    from reminders.models import AuditEvent

    client.post("/api/token", data={"username": "nurse@kib.example.org", "password": "wrong-password-1"})
    client.post("/api/token", data={"username": "nurse@kib.example.org", "password": "correct horse battery"})
    with Session(engine) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action.startswith("auth."))).all()
    assert [e.action for e in events] == ["auth.fail", "auth.login"]
    assert all("wrong-password-1" not in str(e.detail) for e in events)


def test_patients_need_a_token(client):
    assert client.post("/api/patients", json=PATIENT).status_code == 401
    assert client.get("/api/patients/1", headers={"Authorization": "Bearer forged.token"}).status_code == 401


def test_enroll_returns_the_patient_with_planned_checkins(client, login):
    response = client.post("/api/patients", json=PATIENT, headers=login())
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["phone"] == "+254712345678" and body["status"] == "active" and body["high_risk"] is True
    assert body["enrollment_lag_days"] == 3
    first = body["checkins"][0]
    assert first["status"] == "planned" and first["catch_up"] is True  # day 3 was due before enrollment
    # Nairobi is UTC+3: a 09:00 check-in is due at 06:00Z.
    assert any(c["due_at"].startswith("2026-12-05T06:00:00") for c in body["checkins"])


def test_read_shows_checkins_and_messages(client, login):
    headers = login()
    patient_id = client.post("/api/patients", json=PATIENT, headers=headers).json()["id"]
    body = client.get(f"/api/patients/{patient_id}", headers=headers).json()
    assert [m["kind"] for m in body["messages"]] == ["welcome"]
    assert set(body["messages"][0]) >= {"id", "direction", "body", "status", "sid", "created_at"}


def test_staff_never_see_another_clinics_patient(client, login):
    patient_id = client.post("/api/patients", json=PATIENT, headers=login()).json()["id"]
    other = login("nurse@lis.example.org")
    assert client.get(f"/api/patients/{patient_id}", headers=other).status_code == 404
    assert client.patch(f"/api/patients/{patient_id}", json={"status": "paused"}, headers=other).status_code == 404
    refused = client.post("/api/patients", json=PATIENT, headers=other)  # enrolling into KIB from LIS
    assert refused.status_code == 422


def test_a_refused_look_at_another_clinics_patient_is_audited(client, login, engine):
    from sqlmodel import Session, select

    from reminders.models import AuditEvent

    patient_id = client.post("/api/patients", json=PATIENT, headers=login()).json()["id"]
    assert client.get(f"/api/patients/{patient_id}", headers=login("nurse@lis.example.org")).status_code == 404
    with Session(engine) as session:
        denied = session.exec(select(AuditEvent).where(AuditEvent.action == "access.denied")).all()
    assert [(e.actor, e.detail["path"]) for e in denied] == [
        ("nurse@lis.example.org", f"/api/patients/{patient_id}")]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"phone": "0712 34"}, "phone"),
        ({"phone": "020 2222222"}, "phone"),  # a Nairobi landline: no SMS
        ({"clinic": "NOPE"}, "clinic"),
        ({"language": "de"}, "language"),
        ({"art_start_date": "2026-09-01"}, "art_start_date"),
        ({"art_start_date": "2026-12-25"}, "art_start_date"),
        ({"art_start_date": "yesterday"}, "art_start_date"),
        ({"preferred_hour": 25}, "preferred_hour"),
        ({"consent": False}, "consent"),
        ({"cd4": -5}, "cd4"),
    ],
)
def test_bad_enrollment_is_422_naming_the_field_and_changes_nothing(client, login, engine, change, field):
    headers = login()
    before = snapshot(engine)
    response = client.post("/api/patients", json={**PATIENT, **change}, headers=headers)
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"][0]["loc"]
    after = snapshot(engine)
    after.pop("audit_event"), before.pop("audit_event")
    assert after == before


def test_staff_can_pause_and_opt_out_a_patient(client, login):
    headers = login()
    patient_id = client.post("/api/patients", json=PATIENT, headers=headers).json()["id"]
    paused = client.patch(f"/api/patients/{patient_id}", json={"status": "paused"}, headers=headers)
    assert paused.json()["status"] == "paused"
    stopped = client.patch(f"/api/patients/{patient_id}", json={"status": "opted_out"}, headers=headers)
    assert stopped.json()["status"] == "opted_out"
    bad = client.patch(f"/api/patients/{patient_id}", json={"status": "finished"}, headers=headers)
    assert bad.status_code == 422 and "status" in bad.json()["detail"][0]["loc"]


def test_changing_the_preferred_hour_moves_planned_checkins(client, login):
    headers = login()
    patient_id = client.post("/api/patients", json=PATIENT, headers=headers).json()["id"]
    body = client.patch(f"/api/patients/{patient_id}", json={"preferred_hour": 14}, headers=headers).json()
    later = [c for c in body["checkins"] if not c["catch_up"]]
    assert later and all(c["due_at"][11:16] == "11:00" for c in later)  # 14:00 Nairobi = 11:00Z


def test_healthz_and_openapi(client):
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["database"]["status"] == "ok"
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/token", "/api/patients", "/api/patients/{patient_id}", "/api/queue",
                 "/api/queue/{item_id}/claim", "/api/queue/{item_id}/resolve", "/twilio/sms", "/twilio/status"):
        assert path in paths
    assert client.get("/healthz").headers["x-content-type-options"] == "nosniff"


def test_repeated_wrong_passwords_are_slowed_down_without_locking_out_for_long(client, clock):
    from datetime import timedelta

    wrong = {"username": "nurse@kib.example.org", "password": "wrong-password-1"}
    right = {"username": "nurse@kib.example.org", "password": "correct horse battery"}
    for _ in range(10):
        assert client.post("/api/token", data=wrong).status_code == 401
    throttled = client.post("/api/token", data=right)
    assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) > 0
    assert client.post("/api/token", data={**right, "username": "nurse@lis.example.org"}).status_code == 200
    clock.now += timedelta(minutes=16)
    assert client.post("/api/token", data=right).status_code == 200
