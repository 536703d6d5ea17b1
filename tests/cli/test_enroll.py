"""`reminders enroll`: the patient, the plan and the welcome SMS; bad input changes nothing."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlmodel import select

from reminders.models import CheckIn, Message, Patient
from tests.helpers import snapshot

TODAY = datetime.now(timezone.utc).date()


def enroll_args(**overrides: str) -> list[str]:
    values = {"--clinic": "KIB", "--phone": "0712 345 678", "--art-start": TODAY.isoformat(),
              "--language": "sw"}
    values.update(overrides)
    args = [part for pair in values.items() for part in pair if pair[1] is not None]
    return ["enroll", *args, "--consent"]


def test_enroll_plans_checkins_and_sends_a_welcome(cli, kibera, session):
    result = cli(*enroll_args())
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["phone"] == "+254712345678"
    assert summary["status"] == "active"
    patient = session.exec(select(Patient)).one()
    assert patient.language == "sw" and patient.high_risk is False
    checkins = session.exec(select(CheckIn).order_by(CheckIn.due_at)).all()
    assert [c.day for c in checkins] == [3, 7, 10, 14, 17, 21, 24, 28, 35, 42, 49, 56]
    assert all(c.status == "planned" for c in checkins)
    welcome = session.exec(select(Message).where(Message.kind == "welcome")).one()
    assert welcome.phone == "+254712345678"
    assert "STOP" in welcome.body
    # Sent now unless it is quiet hours in Nairobi (then it waits for the morning).
    assert welcome.status in ("delivered", "pending")


def test_enroll_high_risk_adds_checkins(cli, kibera, session):
    result = cli(*enroll_args(), "--cd4", "85", "--recent-oi")
    assert result.exit_code == 0, result.output
    patient = session.exec(select(Patient)).one()
    assert patient.high_risk is True
    days = [c.day for c in session.exec(select(CheckIn).order_by(CheckIn.due_at))]
    assert len(days) > 12 and set([3, 7, 10, 14, 56]) <= set(days)


@pytest.mark.parametrize(
    ("overrides", "extra", "message"),
    [
        ({"--phone": "0712 34"}, [], "phone: '0712 34' is not"),
        ({"--phone": "hello"}, [], "phone: 'hello' is not a phone number"),
        ({"--clinic": "NOPE"}, [], "clinic: no clinic with code 'NOPE'"),
        ({"--language": "de"}, [], "language: 'de' is not one of en, sw, es, fr, pt"),
        ({"--art-start": "2026-02-30"}, [], "art_start_date: '2026-02-30' is not a date"),
        ({"--art-start": (TODAY - timedelta(days=60)).isoformat()}, [], "art_start_date:"),
        ({"--art-start": (TODAY + timedelta(days=9)).isoformat()}, [], "art_start_date:"),
        ({}, ["--preferred-hour", "24"], "preferred_hour:"),
    ],
)
def test_enroll_refuses_bad_input(cli, kibera, engine, overrides, extra, message):
    before = snapshot(engine)
    result = cli(*enroll_args(**overrides), *extra)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert snapshot(engine) == before


def test_enroll_requires_consent(cli, kibera, engine):
    before = snapshot(engine)
    args = enroll_args()[:-1]  # without --consent
    result = cli(*args)
    assert result.exit_code == 2
    assert "consent:" in result.stderr
    assert snapshot(engine) == before


def test_enroll_refuses_a_number_already_enrolled_unless_shared(cli, kibera, session):
    assert cli(*enroll_args()).exit_code == 0
    again = cli(*enroll_args())
    assert again.exit_code == 2 and "phone: another enrolled patient has this number" in again.stderr
    shared = cli(*enroll_args(), "--shared-phone")
    assert shared.exit_code == 0, shared.output
    assert len(session.exec(select(Patient)).all()) == 2


def test_bad_setting_is_one_line_naming_it(cli, monkeypatch):
    from typer.testing import CliRunner

    from reminders.cli import app

    result = CliRunner().invoke(app, ["db", "upgrade"], env={"REMINDERS_DATABASE_URL": "mysql://x/y"})
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: REMINDERS_DATABASE_URL: must start with sqlite: or postgresql:"


def test_art_start_in_the_past_is_recorded_as_lag(cli, kibera, session):
    start = TODAY - timedelta(days=12)
    result = cli(*enroll_args(**{"--art-start": start.isoformat()}))
    assert result.exit_code == 0, result.output
    patient = session.exec(select(Patient)).one()
    assert patient.enrollment_lag_days in (11, 12, 13)  # the clinic's date may differ from UTC's
    checkins = session.exec(select(CheckIn).order_by(CheckIn.due_at)).all()
    assert checkins[0].catch_up is True  # the missed early check-ins are not silently dropped
    assert all(c.day > 10 for c in checkins[1:])
    assert date.fromisoformat(str(patient.art_start_date)) == start
