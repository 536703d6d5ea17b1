"""A clinic's short name is in every SMS: a disclosing one ("HIV Care Centre") is refused
wherever it can be set (CLI add and rename: exit 2; API: 422), and nothing changes."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from reminders.db import session_scope
from reminders.services.clinics import add_staff
from reminders.web import create_app
from tests.helpers import snapshot
from tests.reliability.security_helpers import env_for, run
from tests.web.conftest import PASSWORD, clinics, clock, gateway  # noqa: F401  (fixtures)

DISCLOSING = ["HIV Care Centre", "Kliniki ya VVU", "Centro VIH/SIDA", "ART clinic", "Centre A.R.V."]


@pytest.fixture
def cli_env(settings, tmp_path):  # type: ignore[no-untyped-def]
    return env_for(settings.database_url, tmp_path, REMINDERS_SECRET_KEY=settings.secret_key)


@pytest.mark.parametrize("name", DISCLOSING[:3])
def test_cli_clinic_add_refuses_a_disclosing_name(cli_env, engine, name):
    before = snapshot(engine)
    result = run(["clinic", "add", "HCC", "--name", name, "--timezone", "Africa/Nairobi",
                  "--country", "KE", "--phone", "+254700000001"], cli_env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: name: must not contain words that disclose")
    assert snapshot(engine) == before


def test_cli_clinic_rename_refuses_a_disclosing_name_and_accepts_a_neutral_one(cli_env, engine, clinics):  # noqa: F811
    before = snapshot(engine)
    result = run(["clinic", "rename", "KIB", "--name", "HIV Care Centre"], cli_env)
    assert result.returncode == 2 and result.stderr.startswith("error: name:")
    assert snapshot(engine) == before
    result = run(["clinic", "rename", "KIB", "--name", "Afya Njema"], cli_env)
    assert result.returncode == 0, result.stderr


@pytest.fixture
def admin_client(settings, engine, gateway, clock, clinics):  # type: ignore[no-untyped-def]  # noqa: F811
    with session_scope(engine) as session:
        add_staff(session, email="admin@kib.example.org", clinic_code="KIB", role="admin", password=PASSWORD)
    with TestClient(create_app(settings, engine=engine, gateway=gateway, clock=clock),
                    base_url=settings.public_url) as client:
        token = client.post("/api/token", data={"username": "admin@kib.example.org",
                                                 "password": PASSWORD}).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


@pytest.mark.parametrize("name", DISCLOSING)
def test_api_refuses_a_disclosing_clinic_name(admin_client, engine, name):
    before = snapshot(engine)
    response = admin_client.patch("/api/clinic", json={"name": name})
    assert response.status_code == 422
    detail = response.json()["detail"][0]
    assert detail["loc"][-1] == "name" and "disclose a diagnosis" in detail["msg"]
    assert snapshot(engine) == before


def test_api_renames_with_a_neutral_name_and_messages_carry_it(admin_client, engine):
    response = admin_client.patch("/api/clinic", json={"name": "Afya Njema"})
    assert response.status_code == 200 and response.json()["name"] == "Afya Njema"
    created = admin_client.post("/api/patients", json={
        "clinic": "KIB", "phone": "+254712345600", "language": "en", "art_start_date": "2026-11-30",
        "consent": True})
    assert created.status_code == 201
    patient = admin_client.get(f"/api/patients/{created.json()['id']}").json()
    welcome = [m["body"] for m in patient["messages"] if m["kind"] == "welcome"]
    assert welcome and "Afya Njema" in welcome[0]
