"""Promise: every API write commits BEFORE it answers, so a client is never told that a
write happened when it did not; NUL and other unstorable input gets 422 naming the field,
on every API write, and the database is unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from reminders.db import session_scope
from reminders.models import QueueItem
from reminders.services.inbound import Incoming, ingest, process_received
from reminders.web import create_app
from tests.helpers import snapshot
from tests.reliability.conftest import PHONE


@pytest.fixture
def item_id(engine, patient, clock) -> int:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        ingest(session, Incoming("SM" + "1" * 32, PHONE, "+15005550006", "nina homa"),
               now=clock.now + timedelta(minutes=1), answer_mode="twiml")
    process_received(engine)
    with session_scope(engine) as session:
        return session.exec(sa.select(QueueItem.id)).scalar_one()


def unchanged_but_audit(engine, before):  # type: ignore[no-untyped-def]
    after = snapshot(engine)
    return {k: v for k, v in after.items() if k != "audit_event"} == {
        k: v for k, v in before.items() if k != "audit_event"}


def test_a_resolve_with_a_nul_note_is_422_and_the_item_stays_claimed(client, login, engine, item_id):
    headers = login()
    assert client.post(f"/api/queue/{item_id}/claim", headers=headers).status_code == 200
    before = snapshot(engine)
    response = client.post(f"/api/queue/{item_id}/resolve", headers=headers,
                           json={"outcome": "advised_visit", "note": "called\x00back"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "note"]
    assert snapshot(engine) == before  # not resolved, no audit row claiming it was
    with session_scope(engine) as session:
        assert session.get(QueueItem, item_id).status == "claimed"


def _writes(patient_id: int, item_id: int) -> dict[str, tuple[str, str, dict, list]]:
    enrol = {"clinic": "KIB", "phone": "0712 345 999", "language": "en", "art_start_date": "2026-12-01",
             "consent": True}
    return {
        "enroll, name": ("POST", "/api/patients", {**enrol, "display_name": "Ami\x00na"}, ["body", "display_name"]),
        "enroll, register": ("POST", "/api/patients", {**enrol, "register_ref": "\x00"}, ["body", "register_ref"]),
        "enroll, phone": ("POST", "/api/patients", {**enrol, "phone": "0712\x00345999"}, ["body", "phone"]),
        "enroll, clinic": ("POST", "/api/patients", {**enrol, "clinic": "KIB\x00"}, ["body", "clinic"]),
        "update, name": ("PATCH", f"/api/patients/{patient_id}", {"display_name": "x\x00"}, ["body", "display_name"]),
        "update, phone": ("PATCH", f"/api/patients/{patient_id}", {"phone": "\x00"}, ["body", "phone"]),
        "resolve, surrogate": ("POST", f"/api/queue/{item_id}/resolve",
                               {"outcome": "advised_visit", "note": "\ud800"}, ["body", "note"]),
        "resolve, outcome": ("POST", f"/api/queue/{item_id}/resolve", {"outcome": "advised\x00visit"},
                             ["body", "outcome"]),
    }


@pytest.mark.parametrize("write", list(_writes(0, 0)))
def test_unstorable_text_is_422_naming_the_field_on_every_write(write, client, login, engine, patient, item_id):
    method, path, payload, loc = _writes(patient.id, item_id)[write]
    headers = login()
    before = snapshot(engine)
    # Raw JSON: "\u0000" and a lone "\ud800" are valid JSON escapes a client can send.
    import json

    response = client.request(method, path, headers={**headers, "Content-Type": "application/json"},
                              content=json.dumps(payload).encode())
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == loc
    assert snapshot(engine) == before


def test_a_nul_in_the_sign_in_form_is_422_not_500(client, engine, clinics):
    before = snapshot(engine)
    response = client.post("/api/token", data={"username": "nurse@kib.example.org\x00", "password": "x"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "username"]
    assert snapshot(engine) == before


def test_a_huge_id_is_422_not_a_database_error(client, login, patient):
    headers = login()
    assert client.post(f"/api/queue/{2**40}/claim", headers=headers).status_code == 422
    assert client.get(f"/api/patients/{2**40}", headers=headers).status_code == 422


@pytest.fixture
def commits_refused(engine) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """The database refuses any change to a queue item, at COMMIT (PostgreSQL: a deferred
    constraint trigger) or at the flush the commit does (SQLite: a trigger)."""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("CREATE TRIGGER refuse BEFORE UPDATE ON queue_item "
                                       "BEGIN SELECT RAISE(ABORT, 'refused'); END")
        else:
            connection.exec_driver_sql("CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                                       "$$ BEGIN RAISE EXCEPTION 'refused'; END $$")
            connection.exec_driver_sql("CREATE CONSTRAINT TRIGGER refuse AFTER UPDATE ON queue_item "
                                       "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse()")
    yield
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("DROP TRIGGER refuse")
        else:
            connection.exec_driver_sql("DROP TRIGGER refuse ON queue_item")
            connection.exec_driver_sql("DROP FUNCTION refuse()")


def test_a_write_whose_commit_fails_is_never_answered_as_done(settings, engine, gateway, clock, item_id, login,
                                                              commits_refused):
    app = create_app(settings, engine=engine, gateway=gateway, clock=clock)
    with TestClient(app, base_url=settings.public_url, raise_server_exceptions=False) as client:
        token = client.post("/api/token", data={"username": "nurse@kib.example.org",
                                                "password": "correct horse battery"}).json()["access_token"]
        response = client.post(f"/api/queue/{item_id}/claim", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code >= 500  # an error, never "claimed"
    with session_scope(engine) as session:
        assert session.get(QueueItem, item_id).status == "open"
