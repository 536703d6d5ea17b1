"""Promise: a spool file that cannot be ingested goes to quarantine/ and never blocks the
files behind it; /healthz reports the spool (pending, quarantined) apart from the database."""

from __future__ import annotations

import json
import os

from fastapi.testclient import TestClient
from sqlmodel import select

from reminders import spool
from reminders.db import create_db_engine, session_scope
from reminders.models import Message
from reminders.services.inbound import Incoming
from reminders.services.recovery import replay_spool
from reminders.web import create_app
from tests.reliability.conftest import PHONE


def _write_bad(folder, name: str, text: str, age: int) -> None:  # type: ignore[no-untyped-def]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    os.utime(path, (age, age))  # older than the good files: first in line


def test_bad_files_are_quarantined_and_the_good_ones_behind_them_ingested(engine, patient, settings, clock):
    folder = settings.spool_dir
    _write_bad(folder, "truncated.json", '{"received_at": "2026-12-01T07:00:00+00:00", "sid": "SM', 1)
    _write_bad(folder, "missing.json", json.dumps({"received_at": "2026-12-01T07:00:00+00:00"}), 2)
    _write_bad(folder, "baddate.json", json.dumps({"received_at": "yesterday", "sid": "SMx", "from_": PHONE,
                                                   "to": "+1", "body": "1"}), 3)
    _write_bad(folder / "status", "garbage.json", "\x00\x01 not json", 4)
    for number in range(3):
        spool.write(folder, Incoming(sid=f"SM{number:032d}", from_=PHONE, to="+15005550006", body="nina homa"),
                    clock.now.isoformat())
    assert spool.counts(folder).as_dict() == {"pending": 7, "quarantined": 0}

    summary = replay_spool(engine, folder)

    assert (summary["ingested"], summary["quarantined"]) == (3, 4)
    assert spool.counts(folder).as_dict() == {"pending": 0, "quarantined": 4}
    with session_scope(engine) as session:
        sids = session.exec(select(Message.provider_sid).where(Message.direction == "inbound")).all()
    assert sorted(sids) == [f"SM{n:032d}" for n in range(3)]
    reasons = {p.name: p.read_text() for p in (folder / "quarantine").glob("*.reason")}
    assert set(reasons) == {"truncated.json.reason", "missing.json.reason", "baddate.json.reason",
                            "status-garbage.json.reason"}
    assert "JSONDecodeError" in reasons["truncated.json.reason"]
    # The next pass has nothing left to trip on.
    assert not any(replay_spool(engine, folder).values())


def test_healthz_reports_the_spool_apart_from_the_database(settings, engine, gateway, clock, clinics, client):
    spool.write(settings.spool_dir, Incoming(sid="SM" + "1" * 32, from_=PHONE, to="+1", body="1"),
                clock.now.isoformat())
    _write_bad(settings.spool_dir / "quarantine", "old.json", "{}", 1)
    health = client.get("/healthz").json()
    assert health["database"]["status"] == "ok"
    assert (health["spool"]["pending"], health["spool"]["quarantined"]) == (1, 1)

    down = create_db_engine("postgresql+psycopg://postgres@127.0.0.1:1/nothing")
    with TestClient(create_app(settings, engine=down, gateway=gateway, clock=clock),
                    base_url=settings.public_url) as offline:
        health = offline.get("/healthz")
    assert health.status_code == 503
    assert health.json()["database"]["status"] != "ok"
    assert (health.json()["spool"]["pending"], health.json()["spool"]["quarantined"]) == (1, 1)


def test_a_replay_while_the_database_is_down_quarantines_nothing(settings, engine, patient, clock):
    for number in range(5):
        spool.write(settings.spool_dir, Incoming(sid=f"SM{number:032d}", from_=PHONE, to="+1", body="1"),
                    clock.now.isoformat())
    down = create_db_engine("postgresql+psycopg://postgres@127.0.0.1:1/nothing")
    summary = replay_spool(down, settings.spool_dir)
    assert (summary["quarantined"], summary["waiting"]) == (0, 5)
    assert spool.counts(settings.spool_dir).as_dict() == {"pending": 5, "quarantined": 0}
    assert replay_spool(engine, settings.spool_dir)["ingested"] == 5
