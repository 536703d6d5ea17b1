"""STOP is the patient's decision (DESIGN.md): re-enrolling or re-importing an opted-out
number does not make it active again and sends nothing; staff cannot switch it back;
only the patient's START (through the signed webhook) does. Re-running an import is safe."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from reminders.models import Message, Patient
from reminders.web import create_app
from tests.helpers import snapshot
from tests.reliability.security_helpers import env_for, run, signed_post
from tests.web.conftest import PASSWORD, clinics, clock, gateway  # noqa: F401  (fixtures)

PHONE = "+254712345678"


@pytest.fixture
def app_client(settings, engine, gateway, clock, clinics):  # type: ignore[no-untyped-def]  # noqa: F811
    with TestClient(create_app(settings, engine=engine, gateway=gateway, clock=clock),
                    base_url=settings.public_url) as client:
        yield client


@pytest.fixture
def headers(app_client):  # type: ignore[no-untyped-def]
    token = app_client.post("/api/token", data={"username": "nurse@kib.example.org",
                                                "password": PASSWORD}).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def cli_env(settings, tmp_path):  # type: ignore[no-untyped-def]
    return env_for(settings.database_url, tmp_path, REMINDERS_SECRET_KEY=settings.secret_key)


def _text(client: TestClient, settings, body: str, sid: str, phone: str = PHONE):  # type: ignore[no-untyped-def]
    fields = {"MessageSid": sid, "AccountSid": "AC" + "0" * 32, "From": phone,
              "To": "+15005550006", "Body": body}
    response = signed_post(client, settings.public_url, "/twilio/sms", fields, settings.webhook_auth_token)
    assert response.status_code == 200, response.text
    return response


def _enroll_then_stop(app_client, headers, settings, phone: str = PHONE) -> int:  # type: ignore[no-untyped-def]
    created = app_client.post("/api/patients", headers=headers, json={
        "clinic": "KIB", "phone": phone, "language": "en", "art_start_date": "2026-11-30",
        "consent": True})
    assert created.status_code == 201, created.text
    _text(app_client, settings, "STOP", "SM" + phone[-8:] + "0" * 24, phone)
    patient = app_client.get(f"/api/patients/{created.json()['id']}", headers=headers).json()
    assert patient["status"] == "opted_out"
    return created.json()["id"]


def _statuses(engine, phone: str = PHONE) -> list[str]:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return list(connection.execute(sa.select(Patient.status).where(Patient.phone == phone)).scalars())


def _outbound(engine, phone: str = PHONE) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(Message).where(
            Message.phone == phone, Message.direction == "outbound",
            Message.status != "cancelled")).scalar_one()


def test_api_enroll_of_an_opted_out_number_is_refused_and_sends_nothing(app_client, headers, settings, engine):
    _enroll_then_stop(app_client, headers, settings)
    before = snapshot(engine)
    for shared in (False, True):
        response = app_client.post("/api/patients", headers=headers, json={
            "clinic": "KIB", "phone": "0712 345 678", "language": "sw", "art_start_date": "2026-11-30",
            "consent": True, "shared_phone": shared})
        assert response.status_code == 422
        detail = response.json()["detail"][0]
        assert detail["loc"][-1] == "phone" and "opted out by the patient" in detail["msg"]
    assert snapshot(engine) == before


def test_cli_enroll_of_an_opted_out_number_is_refused(app_client, headers, settings, engine, cli_env):
    _enroll_then_stop(app_client, headers, settings)
    sent = _outbound(engine)
    result = run(["enroll", "--clinic", "KIB", "--phone", PHONE, "--art-start", "2026-11-30", "--consent"],
                 cli_env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: phone: this number was opted out by the patient (STOP); only the patient can "
        "restart messages, by texting START"]
    assert _statuses(engine) == ["opted_out"] and _outbound(engine) == sent


def test_reimport_leaves_opted_out_alone_and_a_rerun_is_safe(app_client, headers, settings, engine,
                                                            cli_env, tmp_path):
    register = tmp_path / "register.csv"
    register.write_text("phone,art_start_date,consent,language\n"
                        "+254712345678,2026-11-30,yes,en\n"
                        "+254712345679,2026-11-29,yes,sw\n"
                        "+254712345680,2026-11-28,yes,fr\n")
    first = run(["import", str(register), "--clinic", "KIB"], cli_env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == {"imported": 3, "unchanged": 0, "refused": 0}
    again = run(["import", str(register), "--clinic", "KIB"], cli_env)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == {"imported": 0, "unchanged": 3, "refused": 0}
    # Each patient got one welcome, not two.
    for phone in ("+254712345678", "+254712345679", "+254712345680"):
        assert _outbound(engine, phone) == 1 and len(_statuses(engine, phone)) == 1

    _text(app_client, settings, "STOP", "SM" + "5" * 32)
    sent = _outbound(engine)
    third = run(["import", str(register), "--clinic", "KIB"], cli_env)
    assert third.returncode == 1
    assert json.loads(third.stdout) == {"imported": 0, "unchanged": 2, "refused": 1}
    assert "row 2: phone: opted out by the patient (STOP)" in third.stderr
    assert _statuses(engine) == ["opted_out"] and _outbound(engine) == sent


def test_the_same_number_with_another_art_start_is_not_reported_unchanged(
        app_client, headers, settings, engine, cli_env, tmp_path):
    register = tmp_path / "register.csv"
    register.write_text("phone,art_start_date,consent\n+254712345690,2026-11-30,yes\n")
    assert run(["import", str(register), "--clinic", "KIB"], cli_env).returncode == 0
    changed = tmp_path / "changed.csv"
    changed.write_text("phone,art_start_date,consent\n+254712345690,2026-11-29,yes\n")
    result = run(["import", str(changed), "--clinic", "KIB"], cli_env)
    assert result.returncode == 1  # another active patient on the number: refused, as before
    assert "phone: another enrolled patient has this number" in result.stderr


@pytest.mark.parametrize("status", ["active", "paused"])
def test_staff_cannot_switch_an_opted_out_patient_back(app_client, headers, settings, engine, status):
    patient_id = _enroll_then_stop(app_client, headers, settings)
    before = snapshot(engine)
    response = app_client.patch(f"/api/patients/{patient_id}", headers=headers, json={"status": status})
    assert response.status_code == 422
    detail = response.json()["detail"][0]
    assert detail["loc"][-1] == "status" and "only the patient can restart" in detail["msg"]
    # The refusal's audit is not a change: only the audit table may differ (it does not, here).
    assert snapshot(engine) == before


def test_staff_cannot_move_a_patient_onto_an_opted_out_number(app_client, headers, settings, engine):
    _enroll_then_stop(app_client, headers, settings)
    other = app_client.post("/api/patients", headers=headers, json={
        "clinic": "KIB", "phone": "+254712345611", "language": "en", "art_start_date": "2026-11-30",
        "consent": True}).json()["id"]
    response = app_client.patch(f"/api/patients/{other}", headers=headers, json={"phone": PHONE})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"][-1] == "phone"


def test_only_the_patients_start_reactivates(app_client, headers, settings, engine):
    patient_id = _enroll_then_stop(app_client, headers, settings)
    answer = _text(app_client, settings, "START", "SM" + "7" * 32)
    assert "<Message>" in answer.text  # the start confirmation
    patient = app_client.get(f"/api/patients/{patient_id}", headers=headers).json()
    assert patient["status"] == "active"
    # Active again: a second enrollment of the number is the ordinary "number taken" answer.
    response = app_client.post("/api/patients", headers=headers, json={
        "clinic": "KIB", "phone": PHONE, "language": "en", "art_start_date": "2026-11-30", "consent": True})
    assert response.status_code == 422 and "another enrolled patient" in response.json()["detail"][0]["msg"]
