"""Promise: a database that hangs (a held lock, a server that never answers) does not hold
the webhook past Twilio's 15 s: after the time budget the reply (or delivery status) is
spooled and answered, then replayed once the database is back. SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import select

from reminders import spool
from reminders.db import create_db_engine, session_scope
from reminders.models import Message
from reminders.services.recovery import replay_spool
from reminders.web import create_app
from tests.reliability.conftest import PHONE, Twilio

TWILIO_GIVES_UP = 15  # seconds Twilio waits for a webhook answer


def within_twilio_timeout(post):  # type: ignore[no-untyped-def]
    """Run the post in a thread; the answer must come before Twilio would give up."""
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("response", post()), daemon=True)
    thread.start()
    thread.join(TWILIO_GIVES_UP)
    assert not thread.is_alive(), "the webhook held Twilio past its 15 s timeout"
    return result["response"]


@contextmanager
def write_lock_held(engine: sa.Engine, database_url: str) -> Iterator[None]:
    """Another connection holds what the webhook needs, until the block ends."""
    if engine.dialect.name == "sqlite":
        other = sqlite3.connect(sa.make_url(database_url).database, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")
            other.close()
        return
    with engine.connect() as other:
        other.execute(sa.text("LOCK TABLE message IN ACCESS EXCLUSIVE MODE"))
        try:
            yield
        finally:
            other.rollback()


def inbound_sids(engine) -> list[str]:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return list(session.exec(select(Message.provider_sid).where(Message.direction == "inbound")))


def test_a_held_lock_spools_the_reply_within_the_budget_then_it_is_replayed(
        twilio, patient, engine, database_url, settings):
    sid = "SM" + "1" * 32
    with write_lock_held(engine, database_url):
        response = within_twilio_timeout(lambda: twilio.post("siwezi kupumua", sid=sid))
        assert response.status_code == 200 and "<Message>" in response.text
        assert spool.counts(settings.spool_dir).pending == 1
    summary = replay_spool(engine, settings.spool_dir)
    assert summary["ingested"] + summary["duplicates"] == 1
    assert inbound_sids(engine) == [sid]  # stored once, never twice
    assert spool.counts(settings.spool_dir).as_dict() == {"pending": 0, "quarantined": 0}


def test_a_held_lock_spools_status_callbacks_then_they_are_applied(twilio, patient, engine, database_url,
                                                                    settings, clock):
    with session_scope(engine) as session:
        session.add(Message(patient_id=patient.id, direction="outbound", kind="checkin", phone=PHONE,
                            body="check-in", status="sent", provider_sid="SM" + "5" * 32, created_at=clock.now))
    with write_lock_held(engine, database_url):
        response = within_twilio_timeout(lambda: twilio.status("SM" + "5" * 32, "delivered"))
        assert response.status_code == 204
        assert spool.counts(settings.spool_dir).pending == 1
    assert replay_spool(engine, settings.spool_dir)["statuses"] == 1
    with session_scope(engine) as session:
        message = session.exec(select(Message).where(Message.provider_sid == "SM" + "5" * 32)).one()
    assert message.status == "delivered"


def test_a_server_that_never_answers_still_gets_the_reply_kept(silent_server, settings, engine, patient,
                                                               gateway, clock):
    frozen = create_db_engine(f"postgresql+psycopg://postgres@127.0.0.1:{silent_server}/reminders")
    app = create_app(settings, engine=frozen, gateway=gateway, clock=clock)
    with TestClient(app, base_url=settings.public_url) as client:
        twilio = Twilio(client, settings.twilio_auth_token)
        response = within_twilio_timeout(lambda: twilio.post("nina homa", sid="SM" + "7" * 32))
        status = within_twilio_timeout(lambda: twilio.status("SM" + "8" * 32, "delivered"))
    assert response.status_code == 200 and "<Message>" in response.text
    assert status.status_code == 204
    assert spool.counts(settings.spool_dir).pending == 2
    assert replay_spool(engine, settings.spool_dir)["ingested"] == 1
    assert inbound_sids(engine) == ["SM" + "7" * 32]
