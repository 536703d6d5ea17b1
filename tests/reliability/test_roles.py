"""Roles are enforced on every API route (DESIGN.md, "Privacy and safety"): each role x
each route; a refused role gets 403 (and an audit row), another clinic's data 404."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlmodel import select

from reminders.db import session_scope
from reminders.models import STAFF_ROLES, AuditEvent, Clinic, QueueItem
from reminders.roles import (
    CLINIC_MANAGE, PATIENT_ENROLL, PATIENT_READ, PATIENT_UPDATE, PATIENT_WITHDRAW, QUEUE_WORK, can,
)
from reminders.schemas import PatientCreate
from reminders.services.clinics import add_staff
from reminders.services.enroll import enroll
from reminders.web import create_app
from tests.web.conftest import PASSWORD, clinics, clock, gateway  # noqa: F401  (fixtures)

PUBLIC = {"/api/token"}  # signing in needs no role


def _requires(dependant) -> set[str]:  # type: ignore[no-untyped-def]
    action = getattr(dependant.call, "required_action", None)
    found = {action} if action else set()
    for sub in dependant.dependencies:
        found |= _requires(sub)
    return found


def _api_routes(routes) -> list[APIRoute]:  # type: ignore[no-untyped-def]
    """Every APIRoute, also inside included routers (FastAPI keeps them nested)."""
    found = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found += _api_routes(route.original_router.routes)
        elif hasattr(route, "routes"):
            found += _api_routes(route.routes)
    return found


def test_every_api_route_declares_a_role_check(settings, engine, gateway):  # noqa: F811
    app = create_app(settings, engine=engine, gateway=gateway)
    routes = [r for r in _api_routes(app.routes) if r.path.startswith("/api/")]
    missing = [f"{sorted(r.methods)} {r.path}" for r in routes
               if r.path not in PUBLIC and not _requires(r.dependant)]
    assert routes and missing == []


@pytest.fixture
def staff_roles(engine, clinics):  # type: ignore[no-untyped-def]  # noqa: F811
    with session_scope(engine) as session:
        for role in STAFF_ROLES:
            add_staff(session, email=f"{role}1@kib.example.org", clinic_code="KIB", role=role,
                      password=PASSWORD)


@pytest.fixture
def app_client(settings, engine, gateway, clock, staff_roles):  # type: ignore[no-untyped-def]  # noqa: F811
    with TestClient(create_app(settings, engine=engine, gateway=gateway, clock=clock),
                    base_url=settings.public_url) as client:
        yield client


def _headers(client: TestClient, role: str) -> dict[str, str]:
    response = client.post("/api/token", data={"username": f"{role}1@kib.example.org",
                                               "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _patient(engine, clock, n: int) -> int:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        patient = enroll(session, PatientCreate(clinic="KIB", phone=f"+2547123450{n:02d}", language="en",
                                                art_start_date=date(2026, 11, 30), consent=True),
                         now=clock.now)
        session.flush()
        return patient.id


def _item(engine, patient_id: int) -> int:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        clinic_id = session.exec(select(Clinic.id).where(Clinic.code == "KIB")).one()
        item = QueueItem(clinic_id=clinic_id, patient_id=patient_id, level="flag", rank=3)
        session.add(item)
        session.flush()
        return item.id


# Each route: the action it needs, and a request an allowed role succeeds with.
ROUTES = [
    ("POST /api/patients", PATIENT_ENROLL, 201),
    ("GET /api/patients/{id}", PATIENT_READ, 200),
    ("PATCH /api/patients/{id}", PATIENT_UPDATE, 200),
    ("PATCH /api/patients/{id} withdraw", PATIENT_WITHDRAW, 200),
    ("GET /api/queue", QUEUE_WORK, 200),
    ("POST /api/queue/{id}/claim", QUEUE_WORK, 200),
    ("POST /api/queue/{id}/resolve", QUEUE_WORK, 200),
    ("PATCH /api/clinic", CLINIC_MANAGE, 200),
]


@pytest.mark.parametrize("role", STAFF_ROLES)
@pytest.mark.parametrize("route,action,ok", ROUTES, ids=[r[0] for r in ROUTES])
def test_role_matrix(app_client, engine, clock, role, route, action, ok):
    headers = _headers(app_client, role)
    patient_id = _patient(engine, clock, 1)
    item_id = _item(engine, patient_id)
    calls = {
        "POST /api/patients": lambda: app_client.post("/api/patients", headers=headers, json={
            "clinic": "KIB", "phone": "+254712345077", "language": "sw",
            "art_start_date": "2026-11-30", "consent": True}),
        "GET /api/patients/{id}": lambda: app_client.get(f"/api/patients/{patient_id}", headers=headers),
        "PATCH /api/patients/{id}": lambda: app_client.patch(f"/api/patients/{patient_id}",
                                                             headers=headers, json={"status": "paused"}),
        "PATCH /api/patients/{id} withdraw": lambda: app_client.patch(
            f"/api/patients/{patient_id}", headers=headers, json={"status": "withdrawn"}),
        "GET /api/queue": lambda: app_client.get("/api/queue", headers=headers),
        "POST /api/queue/{id}/claim": lambda: app_client.post(f"/api/queue/{item_id}/claim", headers=headers),
        "POST /api/queue/{id}/resolve": lambda: app_client.post(
            f"/api/queue/{item_id}/resolve", headers=headers, json={"outcome": "reached_well", "note": "ok"}),
        "PATCH /api/clinic": lambda: app_client.patch("/api/clinic", headers=headers,
                                                      json={"name": "Afya Njema"}),
    }
    if route == "POST /api/queue/{id}/resolve":
        assert app_client.post(f"/api/queue/{item_id}/claim", headers=headers).status_code == 200
    response = calls[route]()
    if can(role, action):
        assert response.status_code == ok, response.text
    else:
        assert response.status_code == 403, response.text
        assert action in response.json()["detail"]
        with engine.connect() as connection:
            denied = connection.execute(sa.select(AuditEvent.actor, AuditEvent.detail).where(
                AuditEvent.action == "access.forbidden")).all()
        assert [(actor, detail["needs"]) for actor, detail in denied] == [(f"{role}1@kib.example.org", action)]


def test_expected_refusals_match_design(app_client):
    # DESIGN.md: nurses and clinicians work the queue, read, enroll, update; admins also
    # withdraw and manage the clinic.
    for role in ("nurse", "clinician"):
        assert not can(role, PATIENT_WITHDRAW) and not can(role, CLINIC_MANAGE)
        assert all(can(role, a) for a in (QUEUE_WORK, PATIENT_READ, PATIENT_ENROLL, PATIENT_UPDATE))
    assert all(can("admin", a) for _, a, _ in ROUTES)


def test_a_refused_withdraw_changes_nothing(app_client, engine, clock):
    patient_id = _patient(engine, clock, 2)
    response = app_client.patch(f"/api/patients/{patient_id}", headers=_headers(app_client, "nurse"),
                                json={"status": "withdrawn"})
    assert response.status_code == 403
    body = app_client.get(f"/api/patients/{patient_id}", headers=_headers(app_client, "nurse")).json()
    assert body["status"] == "active"


def test_another_clinics_admin_gets_404_not_403(app_client, engine, clock):
    with session_scope(engine) as session:
        add_staff(session, email="admin@lis.example.org", clinic_code="LIS", role="admin", password=PASSWORD)
    patient_id = _patient(engine, clock, 3)
    response = app_client.post("/api/token", data={"username": "admin@lis.example.org", "password": PASSWORD})
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    assert app_client.get(f"/api/patients/{patient_id}", headers=headers).status_code == 404
    assert app_client.patch(f"/api/patients/{patient_id}", headers=headers,
                            json={"status": "withdrawn"}).status_code == 404


def test_require_works_with_another_way_of_signing_in(settings, engine, gateway, clinics):  # noqa: F811
    """Staff pages (cookie sessions) reuse Require with their own `current` dependency."""
    from fastapi import Depends

    from reminders.models import Staff
    from reminders.web.deps import Require

    app = create_app(settings, engine=engine, gateway=gateway)

    def page_staff() -> Staff:
        return Staff(id=1, email="nurse@kib.example.org", password_hash="x", role="nurse", clinic_id=1)

    @app.get("/page/settings", dependencies=[Depends(Require(CLINIC_MANAGE, current=page_staff))])
    def settings_page() -> dict[str, str]:
        return {"page": "settings"}

    @app.get("/page/queue", dependencies=[Depends(Require(QUEUE_WORK, current=page_staff))])
    def queue_page() -> dict[str, str]:
        return {"page": "queue"}

    with TestClient(app) as client:
        assert client.get("/page/settings").status_code == 403
        assert client.get("/page/queue").json() == {"page": "queue"}
