"""Seeding the live server's database the way real traffic would (enroll, a reply, triage)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from reminders.db import session_scope
from reminders.schemas import PatientCreate
from reminders.services.enroll import enroll
from reminders.services.inbound import Incoming, ingest, process_received

_sids = iter(range(1, 1_000_000))


def patient_with_reply(engine: sa.Engine, phone: str, text: str, *, name: str | None = None,
                       clinic: str = "KIB", minutes_ago: int = 0) -> int:
    now = datetime.now(timezone.utc)
    with session_scope(engine) as session:
        patient_id = enroll(session, PatientCreate(
            clinic=clinic, phone=phone, language="en", display_name=name, consent=True,
            art_start_date=(now - timedelta(days=10)).date()), now=now - timedelta(minutes=minutes_ago + 1)).id
    unknown_sender_reply(engine, phone, text, minutes_ago=minutes_ago)
    return patient_id


def unknown_sender_reply(engine: sa.Engine, phone: str, text: str, *, minutes_ago: int = 0) -> None:
    now = datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)
    with session_scope(engine) as session:
        ingest(session, Incoming(f"SMbrowser{next(_sids)}", phone, "+15005550006", text), now=now,
               answer_mode="twiml")
    process_received(engine)
