"""Follow-up: a reminder after 24 h, a no_response item after 48 h (raised after two in a
row), escalation of unclaimed urgent items, completion after the last day."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlmodel import select

from reminders.db import session_scope
from reminders.models import CheckIn, Message, Patient, QueueItem
from reminders.services import dispatch, followup
from reminders.services.inbound import Incoming, ingest, process_received

ENROLLED = datetime(2026, 12, 1, 7, 0, tzinfo=timezone.utc)
START = date(2026, 12, 1)


def day_at(day: int, hours: float = 0) -> datetime:
    return datetime(2026, 12, 1, 6, 5, tzinfo=timezone.utc) + timedelta(days=day, hours=hours)


def kinds(engine, patient_id):  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return [m.kind for m in session.exec(select(Message).where(Message.patient_id == patient_id)
                                             .order_by(Message.id))]


def test_one_gentle_reminder_after_24_hours(engine, gateway, make_patient):
    patient = make_patient(enrolled=ENROLLED, art_start=START)
    dispatch.run_once(engine, gateway, now=day_at(3))
    assert followup.run_once(engine, now=day_at(3, 23))["reminded"] == 0
    assert followup.run_once(engine, now=day_at(4, 1))["reminded"] == 1
    assert followup.run_once(engine, now=day_at(4, 2))["reminded"] == 0  # only one
    dispatch.run_once(engine, gateway, now=day_at(4, 2))
    assert kinds(engine, patient.id) == ["welcome", "checkin", "reminder"]


def test_no_reply_after_48_hours_opens_a_no_response_item(engine, gateway, make_patient):
    patient = make_patient(enrolled=ENROLLED, art_start=START)
    dispatch.run_once(engine, gateway, now=day_at(3))
    assert followup.run_once(engine, now=day_at(5, 1))["no_response"] == 1
    with session_scope(engine) as session:
        item = session.exec(select(QueueItem)).one()
        assert (item.patient_id, item.level, item.reason) == (patient.id, "no_response", "no_response")


def test_two_unanswered_in_a_row_raise_the_item(engine, gateway, make_patient):
    make_patient(enrolled=ENROLLED, art_start=START)
    dispatch.run_once(engine, gateway, now=day_at(3))
    followup.run_once(engine, now=day_at(5, 1))
    dispatch.run_once(engine, gateway, now=day_at(7))
    followup.run_once(engine, now=day_at(9, 1))
    with session_scope(engine) as session:
        item = session.exec(select(QueueItem)).one()  # the same open item, joined
        assert item.level == "flag"
        assert "no_response_twice" in item.symptoms


def test_an_answered_checkin_needs_nothing(engine, gateway, make_patient):
    patient = make_patient(enrolled=ENROLLED, art_start=START)
    dispatch.run_once(engine, gateway, now=day_at(3))
    with session_scope(engine) as session:
        ingest(session, Incoming("SMreply1", patient.phone, "+15005550006", "1"),
               now=day_at(3, 2), answer_mode="twiml")
    process_received(engine)
    summary = followup.run_once(engine, now=day_at(6))
    assert summary["reminded"] == summary["no_response"] == 0


def test_undelivered_checkin_counts_as_unanswered(engine, gateway, make_patient):
    make_patient(enrolled=ENROLLED, art_start=START)
    dispatch.run_once(engine, gateway, now=day_at(3))
    with session_scope(engine) as session:
        checkin = session.exec(select(CheckIn).where(CheckIn.status == "sent")).one()
        checkin.status, checkin.error_code, checkin.error_kind = "failed", 30003, "transient"
    summary = followup.run_once(engine, now=day_at(5, 1))
    assert summary["reminded"] == 0 and summary["no_response"] == 1
    with session_scope(engine) as session:
        assert "undelivered:30003" in session.exec(select(QueueItem)).one().symptoms


def test_unclaimed_urgent_item_goes_to_the_backup_after_30_minutes(engine, gateway, make_patient):
    patient = make_patient(enrolled=ENROLLED, art_start=START)
    dispatch.run_once(engine, gateway, now=day_at(3))
    with session_scope(engine) as session:
        ingest(session, Incoming("SMurgent1", patient.phone, "+15005550006",
                                 "I cannot breathe and my chest hurts"), now=day_at(3, 1),
               answer_mode="twiml")
    process_received(engine)
    dispatch.run_once(engine, gateway, now=day_at(3, 1))
    assert len(gateway.to("+254700000002")) == 1  # on-call
    assert followup.run_once(engine, now=day_at(3, 1.4))["escalated"] == 0
    assert followup.run_once(engine, now=day_at(3, 1.6))["escalated"] == 1
    dispatch.run_once(engine, gateway, now=day_at(3, 1.6))
    backup = gateway.to("+254700000003")
    assert len(backup) == 1
    assert patient.phone not in backup[0].body and "breathe" not in backup[0].body


def test_a_patient_is_thanked_and_completed_after_the_last_day(engine, gateway, make_patient):
    patient = make_patient(enrolled=ENROLLED, art_start=START)
    for day in (3, 7, 10, 14, 17, 21, 24, 28, 35, 42, 49, 56):
        dispatch.run_once(engine, gateway, now=day_at(day))
    assert followup.run_once(engine, now=day_at(56, 12))["completed"] == 0  # time to reply
    assert followup.run_once(engine, now=day_at(58, 1))["completed"] == 1
    with session_scope(engine) as session:
        assert session.get(Patient, patient.id).status == "completed"
    dispatch.run_once(engine, gateway, now=day_at(58, 2))
    assert kinds(engine, patient.id)[-1] == "completed"
    assert followup.run_once(engine, now=day_at(60))["completed"] == 0


def test_the_followup_pass_works_in_batches_of_short_transactions(engine, gateway, make_patient):
    patients = [make_patient(enrolled=ENROLLED, art_start=START) for _ in range(5)]
    dispatch.run_once(engine, gateway, now=day_at(3))
    with session_scope(engine) as session:
        assert followup.send_reminders(session, day_at(4, 1), followup.protocols.load_protocol(), 2) == 2
        session.rollback()
    summary = followup.run_once(engine, now=day_at(5, 1), batch=2)  # 5 rows: 2 + 2 + 1
    assert summary["reminded"] == 5 and summary["no_response"] == 5
    assert all(kinds(engine, p.id).count("reminder") == 1 for p in patients)
