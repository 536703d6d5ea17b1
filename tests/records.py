"""Helpers for the tests of the staff records (corrections, review, dashboard, audit):
replies go through the real inbound path (ingest, then the triage pass)."""

from __future__ import annotations

import itertools
from datetime import datetime

import sqlalchemy as sa

from reminders.db import session_scope
from reminders.models import Staff
from reminders.services.clinics import add_staff
from reminders.services.inbound import Incoming, ingest, process_received

PASSWORD = "correct horse battery"
_sids = itertools.count(1)


def staff_member(engine: sa.Engine, email: str, role: str = "nurse", clinic: str = "KIB") -> Staff:
    with session_scope(engine) as session:
        return add_staff(session, email=email, clinic_code=clinic, role=role, password=PASSWORD)


def reply(engine: sa.Engine, phone: str, body: str, at: datetime) -> int:
    """A patient's SMS, stored and triaged into the queue as the webhook and pass would."""
    with session_scope(engine) as session:
        outcome = ingest(session, Incoming(sid=f"SMtest{next(_sids):026d}", from_=phone, to="+15005550006",
                                           body=body), now=at, answer_mode="none")
    process_received(engine)
    return outcome.message_id
