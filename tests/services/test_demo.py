"""`reminders serve --demo`: a living clinic made through the real passes and triage."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from reminders.db import session_scope
from reminders.models import Clinic, Patient, QueueItem
from reminders.services import dashboard
from reminders.services.demo import REPLIES, seed_demo
from reminders.triage import triage

NOW = datetime(2026, 12, 2, 8, 30, tzinfo=timezone.utc)  # a Wednesday


@pytest.mark.parametrize("level", sorted(REPLIES))
def test_every_demo_reply_triages_at_its_level(level):
    for language, texts in REPLIES[level].items():
        for text in texts:
            assert triage(text, language=language).level == level, (language, text)


def test_the_demo_clinic_is_alive_and_a_second_run_keeps_it(engine):
    login = seed_demo(engine, now=NOW)
    with session_scope(engine) as session:
        clinic = session.exec(select(Clinic).where(Clinic.code == login.clinic)).one()
        patients = session.exec(select(Patient)).all()
        items = session.exec(select(QueueItem)).all()
        board = dashboard.build(session, clinic.id, NOW)
    today = NOW.astimezone(ZoneInfo(clinic.timezone)).date()
    weeks = {(today - p.art_start_date).days // 7 + 1 for p in patients if p.status == "active"}
    assert set(range(1, 9)) <= weeks  # someone in every week of the plan
    statuses = Counter(p.status for p in patients)
    assert statuses["completed"] > 0 and statuses["opted_out"] == 1
    levels = Counter(i.level for i in items)
    assert all(levels[level] > 0 for level in ("urgent", "flag", "no_response", "admin"))
    assert any(i.status == "resolved" for i in items) and any(i.patient_id is None for i in items)
    assert board.past_target["urgent"] >= 1  # overdue work for the demo's nurse
    curve = [w.flags + w.urgents for w in board.weeks]
    assert max(curve[1:4]) > curve[0] and max(curve[1:4]) > curve[-1]  # the IRIS window shows
    assert all(w.sent > 0 for w in board.weeks[:8])
    assert board.median_to_claim is not None and board.median_to_resolve is not None
    again = seed_demo(engine, now=NOW)  # idempotent: same data, a new password
    with session_scope(engine) as session:
        assert len(session.exec(select(Patient.id)).all()) == len(patients)
    assert again.password != login.password


def test_a_demo_started_after_midnight_at_the_clinic_enrolls_every_patient(engine):
    """Seeded at 00:30 in Nairobi, before the day's first step: today's patient was left out
    (35 of 36, and the dashboard said so) until the enrollment came before the day's cut-off."""
    from reminders.services.demo import PATIENTS

    seed_demo(engine, now=datetime(2026, 12, 1, 21, 30, tzinfo=timezone.utc))  # 00:30 in Nairobi
    with session_scope(engine) as session:
        assert len(session.exec(select(Patient)).all()) == PATIENTS
