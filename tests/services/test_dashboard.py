"""The dashboard: patient counts, response rate and flags by week since ART start,
median times to claim and resolve, items past their target (real passes, both engines)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlmodel import select

from reminders.db import session_scope
from reminders.models import Patient, QueueItem
from reminders.services import dashboard, dispatch, queue
from tests.records import reply, staff_member

START = date(2026, 12, 1)  # a Tuesday
ENROLLED = datetime(2026, 12, 1, 7, 0, tzinfo=timezone.utc)


def day_at(day: int, hours: float = 0) -> datetime:
    return datetime(2026, 12, 1, 6, 5, tzinfo=timezone.utc) + timedelta(days=day, hours=hours)


def test_weeks_are_the_queues_weeks():
    assert [dashboard._week(d) for d in (0, 3, 6, 7, 10, 14, 55, 56)] == [1, 1, 1, 2, 2, 3, 8, 9]


def test_counts_rates_curve_medians_and_past_target(engine, gateway, clinic, make_patient):
    nurse = staff_member(engine, "nurse@kib.example.org")
    a = make_patient(enrolled=ENROLLED, art_start=START)
    b = make_patient(enrolled=ENROLLED, art_start=START)
    stopped = make_patient(enrolled=ENROLLED, art_start=START)
    with session_scope(engine) as session:
        session.get(Patient, stopped.id).status = "opted_out"
    dispatch.run_once(engine, gateway, now=day_at(3))  # day-3 check-in to a and b
    reply(engine, a.phone, "I am fine", day_at(3, 1))  # a answers (ok)
    reply(engine, b.phone, "I have a fever and a rash", day_at(3, 2))  # b: a flag in week 1
    dispatch.run_once(engine, gateway, now=day_at(10))  # day 10 (week 2) to both
    reply(engine, a.phone, "I cannot breathe and my chest hurts", day_at(10, 1))  # urgent, week 2

    with session_scope(engine) as session:
        flag, urgent = sorted(session.exec(select(QueueItem)), key=lambda i: i.rank)
        queue.claim(session, flag.id, nurse, day_at(3, 3))  # 1 h after it opened
        queue.resolve(session, flag.id, nurse, "advised_visit", "", day_at(3, 6))  # 4 h
        queue.claim(session, urgent.id, nurse, day_at(10, 4))  # 3 h after, still unresolved

    with session_scope(engine) as session:
        board = dashboard.build(session, clinic.id, day_at(13))
    assert board.patients["enrolled"] == 3
    assert (board.patients["active"], board.patients["opted_out"], board.patients["completed"]) == (2, 1, 0)
    week1, week2 = board.weeks[0], board.weeks[1]
    assert (week1.sent, week1.answered, week1.response_rate) == (2, 2, 1.0)
    assert (week2.sent, week2.answered, week2.response_rate) == (2, 1, 0.5)
    assert (week1.flags, week1.urgents, week2.flags, week2.urgents) == (1, 0, 0, 1)
    assert [w.week for w in board.weeks] == list(range(1, 10))
    assert board.weeks[5].response_rate is None  # nothing sent yet
    assert board.median_to_claim == timedelta(hours=2)  # 1 h and 3 h
    assert board.median_to_resolve == timedelta(hours=4)
    assert board.past_target == {"urgent": 1, "flag": 0, "no_response": 0, "admin": 0}
    assert board.unresolved == 1


def test_a_checkin_not_yet_due_an_answer_is_not_counted_unanswered(engine, gateway, clinic, make_patient):
    make_patient(enrolled=ENROLLED, art_start=START)
    dispatch.run_once(engine, gateway, now=day_at(3))
    with session_scope(engine) as session:
        assert dashboard.build(session, clinic.id, day_at(4)).weeks[0].sent == 0  # 24 h: still waiting
        assert dashboard.build(session, clinic.id, day_at(5, 1)).weeks[0].sent == 1  # 49 h: counts
