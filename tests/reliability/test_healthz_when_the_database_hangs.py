"""/healthz answers when the database does not: a held write lock, a connection pool
emptied by stuck requests, a server that accepts connections and never answers. An
orchestrator's health check that hangs with the database learns nothing; one that is
told "no answer within 3 s" can act. (Seen before: /healthz silent for 15 s in a fault
run while every webhook was answered.) SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import sqlalchemy as sa
from fastapi.testclient import TestClient

from reminders.db import create_db_engine
from reminders.web import create_app
from tests.reliability.test_replies_never_lost_when_the_database_hangs import write_lock_held

# Several times the probe's 3 s: generous for a busy machine, yet well short of what
# the database's own waits were (SQLite's 30 s busy timeout, SQLAlchemy's 30 s pool wait).
BOUND = 12


def healthz_within_bound(client: TestClient):  # type: ignore[no-untyped-def]
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("response", client.get("/healthz")), daemon=True)
    thread.start()
    thread.join(BOUND)
    assert not thread.is_alive(), "/healthz hung with the database"
    return result["response"]


def probes_alive() -> int:
    return sum(thread.name == "health-probe" and thread.is_alive() for thread in threading.enumerate())


def test_healthz_answers_while_another_connection_holds_the_write_lock(client, engine, database_url):
    with write_lock_held(engine, database_url):
        response = healthz_within_bound(client)
    body = response.json()
    if engine.dialect.name == "sqlite":  # one writer at a time: the heartbeat read waits on it
        assert response.status_code == 503
        assert body["database"] == {"status": "down", "error": "no answer within 3 s"}
    else:  # a lock on one table stops nothing /healthz reads
        assert body["database"] == {"status": "ok"}
    assert body["spool"]["status"] == "ok"


def test_healthz_answers_when_stuck_requests_hold_every_pooled_connection(settings, database_url, gateway,
                                                                            clock, clinics):
    small = create_db_engine(database_url, pool_size=1, max_overflow=0, pool_timeout=60)
    app = create_app(settings, engine=small, gateway=gateway, clock=clock, scheduler=False)
    with TestClient(app, base_url=settings.public_url) as client:
        with small.connect() as stuck:
            stuck.execute(sa.text("SELECT 1"))
            response = healthz_within_bound(client)
            assert response.status_code == 503
            assert response.json()["database"] == {"status": "down", "error": "no answer within 3 s"}
        # The connection is back: the probe that waited for it finishes, and the next
        # look reports the database as it is.
        for _ in range(3):
            response = healthz_within_bound(client)
            if response.json()["database"]["status"] == "ok":
                break
        assert response.status_code == 200, response.json()
    small.dispose()


def test_a_frozen_server_leaves_one_probe_waiting_however_often_healthz_is_asked(
        silent_server, settings, gateway, clock):
    frozen = create_db_engine(f"postgresql+psycopg://postgres@127.0.0.1:{silent_server}/reminders")
    app = create_app(settings, engine=frozen, gateway=gateway, clock=clock, scheduler=False)
    with TestClient(app, base_url=settings.public_url) as client:
        for _ in range(3):
            response = healthz_within_bound(client)
            assert response.status_code == 503
            assert response.json()["database"]["status"] == "down"
            assert probes_alive() <= 1
    frozen.dispose()

