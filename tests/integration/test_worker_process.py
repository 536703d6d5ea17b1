"""`reminders worker`: a real process whose APScheduler clock runs the passes from our rows."""

from __future__ import annotations

import signal
import time
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlmodel import select

from reminders.db import session_scope
from reminders.models import CheckIn, Message
from reminders.schemas import PatientCreate
from reminders.services.clinics import add_clinic
from reminders.services.enroll import enroll
from tests.integration.conftest import start_reminders


def daytime_zone(now: datetime) -> str:
    """A time zone where it is day now: overdue check-ins wait out the clinic's quiet hours."""
    for name in ("Africa/Nairobi", "America/Sao_Paulo", "America/Los_Angeles", "Asia/Tokyo",
                 "Pacific/Auckland", "Asia/Kolkata"):
        if 9 <= now.astimezone(ZoneInfo(name)).hour < 18:
            return name
    raise AssertionError("no daytime zone in the list")


def test_a_worker_process_sends_a_due_checkin_on_its_own(engine, database_url, reminders_env):
    now = datetime.now(timezone.utc)
    with session_scope(engine) as session:
        add_clinic(session, code="KIB", name="Kibera Clinic", timezone=daytime_zone(now),
                   country="KE", phone="+254700000001")
        patient = enroll(session, PatientCreate(clinic="KIB", phone="+254712345678", language="en",
                                                art_start_date=date.today(), consent=True), now=now)
        session.flush()
        first = session.exec(select(CheckIn).where(CheckIn.patient_id == patient.id)
                             .order_by(CheckIn.due_at)).first()
        first.due_at = now - timedelta(minutes=1)  # due now
    worker = start_reminders(["worker"], reminders_env(database_url, REMINDERS_SMS_GATEWAY="local"))
    try:
        deadline = time.monotonic() + 60
        while True:
            with session_scope(engine) as session:
                status = session.get(CheckIn, first.id).status
            if status == "sent" or time.monotonic() > deadline or worker.poll() is not None:
                break
            time.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGTERM)
        _out, err = worker.communicate(timeout=30)
    assert status == "sent", err[-2000:]
    with session_scope(engine) as session:
        message = session.exec(select(Message).where(Message.checkin_id == first.id)).one()
    assert message.provider_sid.startswith("SMlocal")
    assert "+254712345678" not in err  # logs carry ids, not phone numbers
