"""`reminders dispatch --now`, `reminders followup --now` and `reminders triage`."""

from __future__ import annotations

import json


def test_dispatch_now_prints_a_json_summary(cli, kibera):
    result = cli("dispatch", "--now", "2026-12-01T09:05:00+03:00")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert {"due", "sent", "failed", "skipped", "held"} <= set(summary)


def test_dispatch_refuses_a_bad_instant(cli):
    for bad in ("tomorrow", "2026-12-01T09:05:00"):
        result = cli("dispatch", "--now", bad)
        assert result.exit_code == 2
        assert result.stderr.startswith("error: now: ") and result.stderr.count("\n") == 1


def test_followup_now_prints_a_json_summary(cli):
    result = cli("followup", "--now", "2026-12-03T09:05:00+03:00")
    assert json.loads(result.stdout) == {"reminded": 0, "no_response": 0, "escalated": 0, "completed": 0}


def test_triage_prints_json(cli):
    result = cli("triage", "sina homa lakini shingo imevimba", "--language", "sw")
    body = json.loads(result.stdout)
    assert body["level"] == "flag" and "swelling" in body["symptoms"] and body["evidence"]
    assert cli("triage", "hello", "--language", "de").exit_code == 2


def test_simulate_reply_runs_the_inbound_path_for_the_demo(cli, kibera, session):
    from sqlmodel import select

    from reminders.models import QueueItem

    assert cli("enroll", "--clinic", "KIB", "--phone", "0712345678", "--art-start",
               __import__("datetime").date.today().isoformat(), "--consent").exit_code == 0
    result = cli("simulate-reply", "I cannot breathe", "--phone", "+254712345678")
    assert result.exit_code == 0, result.output
    assert "+254700000001" in json.loads(result.stdout)["answer"]  # the clinic's phone
    assert session.exec(select(QueueItem.level)).one() == "urgent"
    bad = cli("simulate-reply", "hi", "--phone", "0712345678")
    assert bad.exit_code == 2 and "phone:" in bad.stderr
