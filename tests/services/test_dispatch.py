"""Dispatch: due check-ins are sent once, the newest only, never to patients who stopped."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa
from sqlmodel import select

from reminders.db import session_scope
from reminders.models import CheckIn, Message, Patient, QueueItem
from reminders.services import dispatch
from reminders.sms.base import SendError
from reminders.store.claims import db_now
from tests.recording_gateway import Sent

ENROLLED = datetime(2026, 12, 1, 7, 0, tzinfo=timezone.utc)  # 10:00 in Nairobi
START = date(2026, 12, 1)


def day_at(day: int, hour_utc: int = 6, minute: int = 5) -> datetime:
    """`day` days after ART start, at hour_utc (06:05Z = 09:05 in Nairobi)."""
    return datetime(2026, 12, 1, hour_utc, minute, tzinfo=timezone.utc) + timedelta(days=day)


def checkins(engine, patient_id):  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return session.exec(select(CheckIn).where(CheckIn.patient_id == patient_id)
                            .order_by(CheckIn.due_at)).all()


def test_a_due_checkin_is_sent_once(engine, gateway, make_patient):
    patient = make_patient(enrolled=ENROLLED, art_start=START)
    first = dispatch.run_once(engine, gateway, now=day_at(3))
    assert first["due"] == 1
    assert len(gateway.to(patient.phone)) == 2  # the welcome, then the day-3 check-in
    again = dispatch.run_once(engine, gateway, now=day_at(3, minute=30))
    assert again["due"] == 0 and again["sent"] == 0
    assert len(gateway.to(patient.phone)) == 2
    day3 = checkins(engine, patient.id)[0]
    assert (day3.day, day3.status, day3.attempts) == (3, "sent", 1)
    assert day3.provider_sid == gateway.to(patient.phone)[1].sid
    assert "1" in gateway.to(patient.phone)[1].body  # the menu


def test_after_an_outage_only_the_newest_overdue_checkin_is_sent(engine, gateway, make_patient):
    patient = make_patient(enrolled=ENROLLED, art_start=START)
    summary = dispatch.run_once(engine, gateway, now=day_at(15))  # days 3, 7, 10, 14 all overdue
    assert summary["due"] == 1 and summary["skipped"] == 3
    statuses = {c.day: c.status for c in checkins(engine, patient.id)}
    assert statuses[14] == "sent"
    assert [statuses[d] for d in (3, 7, 10)] == ["skipped"] * 3
    assert statuses[17] == "planned"
    assert len([s for s in gateway.to(patient.phone) if s.body != gateway.sent[0].body]) == 1


def test_patients_who_stopped_or_paused_get_nothing(engine, gateway, make_patient):
    silent = {}
    for status in ("paused", "opted_out", "withdrawn", "completed"):
        patient = make_patient(enrolled=ENROLLED, art_start=START)
        with session_scope(engine) as session:
            session.get(Patient, patient.id).status = status
        silent[status] = patient
    active = make_patient(enrolled=ENROLLED, art_start=START)
    summary = dispatch.run_once(engine, gateway, now=day_at(3))
    assert summary["due"] == 1
    assert len(gateway.to(active.phone)) == 2
    for status, patient in silent.items():
        bodies = [s.body for s in gateway.to(patient.phone)]
        assert len(bodies) <= 1, status  # a paused patient may still get the welcome
        if status in ("opted_out", "withdrawn"):
            assert bodies == [], status


def test_a_patient_in_the_middle_of_an_exchange_is_held_back(engine, gateway, make_patient):
    patient = make_patient(enrolled=ENROLLED, art_start=START)
    now = day_at(3)
    with session_scope(engine) as session:
        session.get(Patient, patient.id).last_inbound_at = now - timedelta(minutes=4)
    summary = dispatch.run_once(engine, gateway, now=now)
    assert summary["due"] == 0 and summary["held"] == 1
    later = dispatch.run_once(engine, gateway, now=now + timedelta(minutes=7))
    assert later["due"] == 1


def test_opted_out_at_the_carrier_marks_the_patient(engine, gateway, make_patient):
    patient = make_patient(enrolled=ENROLLED, art_start=START)
    gateway.failures[patient.phone] = SendError("opted_out", code=21610, status=400)
    summary = dispatch.run_once(engine, gateway, now=day_at(3))
    assert summary["failed"] == 2  # welcome and check-in
    with session_scope(engine) as session:
        assert session.get(Patient, patient.id).status == "opted_out"
        assert session.exec(select(QueueItem)).all() == []
    assert checkins(engine, patient.id)[0].error_code == 21610


def test_an_unusable_number_opens_a_queue_item_for_staff(engine, gateway, make_patient):
    patient = make_patient(enrolled=ENROLLED, art_start=START)
    gateway.failures[patient.phone] = SendError("invalid_number", code=21614, status=400)
    dispatch.run_once(engine, gateway, now=day_at(3))
    with session_scope(engine) as session:
        item = session.exec(select(QueueItem)).one()
        assert (item.patient_id, item.reason, item.status) == (patient.id, "invalid_number", "open")
    first = checkins(engine, patient.id)[0]
    assert (first.status, first.error_kind) == ("failed", "invalid_number")


def test_transient_failures_are_retried_across_passes_then_fail_visibly(engine, gateway, make_patient):
    patient = make_patient(enrolled=ENROLLED, art_start=START)
    gateway.failures[patient.phone] = SendError("transient", code=20429, status=429)
    first = dispatch.run_once(engine, gateway, now=day_at(3))
    assert first["retrying"] == 2  # the welcome and the check-in
    assert checkins(engine, patient.id)[0].status == "queued"  # not failed: tried again later
    # Passes every 6 hours until the day-7 check-in is due: then it is given up, visibly.
    moment = day_at(3)
    while checkins(engine, patient.id)[0].status == "queued":
        moment += timedelta(hours=6)
        assert moment < day_at(8), "never given up"
        dispatch.run_once(engine, gateway, now=moment)
    assert checkins(engine, patient.id)[0].status == "failed"
    with session_scope(engine) as session:
        assert session.exec(select(QueueItem.reason).distinct()).one() == "send_failed"


def test_an_ambiguous_send_is_unknown_and_never_resent(engine, gateway, make_patient):
    patient = make_patient(enrolled=ENROLLED, art_start=START)
    dispatch.run_once(engine, gateway, now=ENROLLED)  # the welcome goes out
    gateway.failures[patient.phone] = SendError("unknown", status=None)
    dispatch.run_once(engine, gateway, now=day_at(3))
    del gateway.failures[patient.phone]
    dispatch.run_once(engine, gateway, now=day_at(3, minute=40))
    assert checkins(engine, patient.id)[0].status == "unknown"
    assert len(gateway.to(patient.phone)) == 1  # only the welcome


def _strand_as_sending(engine, patient_id, claimed_at, lease_left=timedelta(seconds=-1)):  # type: ignore[no-untyped-def]
    """What a worker killed between claiming and recording leaves behind: a `sending` row
    whose lease (database clock) ran out `-lease_left` ago."""
    with session_scope(engine) as session:
        message = session.exec(select(Message).where(Message.patient_id == patient_id,
                                                     Message.kind == "checkin")).one()
        message.status, message.claimed_at, message.claimed_by = "sending", claimed_at, "dead:1"
        message.claim_token, message.lease_until = "deadworkertoken", db_now(session) + lease_left
        return message.id


def test_a_dead_workers_claim_found_at_the_provider_is_not_resent(engine, gateway, make_patient):
    patient = make_patient(enrolled=ENROLLED, art_start=START)
    dispatch.queue_due_checkins(engine, now=day_at(3))
    message_id = _strand_as_sending(engine, patient.id, day_at(3))
    with session_scope(engine) as session:
        body = session.get(Message, message_id).body
    gateway.provider_has.append(Sent(patient.phone, body, "SMfromthedeadworker", None))
    summary = dispatch.run_once(engine, gateway, now=day_at(3, minute=20))
    assert summary["recovered"] == 1 and summary["requeued"] == 0
    assert [s.body for s in gateway.to(patient.phone)] == [gateway.sent[0].body]  # welcome only
    with session_scope(engine) as session:
        assert session.get(Message, message_id).provider_sid == "SMfromthedeadworker"


def test_a_dead_workers_claim_the_provider_never_saw_is_sent_once(engine, gateway, make_patient):
    patient = make_patient(enrolled=ENROLLED, art_start=START)
    dispatch.queue_due_checkins(engine, now=day_at(3))
    message_id = _strand_as_sending(engine, patient.id, day_at(3), lease_left=timedelta(minutes=5))
    soon = dispatch.run_once(engine, gateway, now=day_at(3, minute=20))  # lease not over yet
    assert soon["requeued"] == 0
    with session_scope(engine) as session:  # the lease runs out (database clock)
        session.get(Message, message_id).lease_until = db_now(session) - timedelta(seconds=1)
    summary = dispatch.run_once(engine, gateway, now=day_at(3, minute=20))
    assert summary["requeued"] == 1
    checkin_bodies = [s for s in gateway.to(patient.phone) if "1" in s.body and s is not gateway.sent[0]]
    assert len(checkin_bodies) == 1
    assert checkins(engine, patient.id)[0].status == "sent"


def test_welcome_waits_for_the_end_of_quiet_hours(engine, gateway, make_patient):
    night = datetime(2026, 12, 1, 19, 30, tzinfo=timezone.utc)  # 22:30 in Nairobi
    patient = make_patient(enrolled=night, art_start=START)
    assert dispatch.run_once(engine, gateway, now=night)["sent"] == 0
    morning = datetime(2026, 12, 2, 4, 1, tzinfo=timezone.utc)  # 07:01 in Nairobi
    assert dispatch.run_once(engine, gateway, now=morning)["sent"] == 1
    assert len(gateway.to(patient.phone)) == 1


def test_dispatch_summary_counts_are_consistent(engine, gateway, make_patient):
    for _ in range(5):
        make_patient(enrolled=ENROLLED, art_start=START)
    summary = dispatch.run_once(engine, gateway, now=day_at(3))
    assert summary["due"] == 5
    assert summary["sent"] == 10  # five welcomes and five check-ins
    with session_scope(engine) as session:
        count = session.execute(sa.select(sa.func.count()).select_from(CheckIn)
                                .where(CheckIn.status == "sent")).scalar_one()
    assert count == 5
