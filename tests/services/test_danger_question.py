"""The danger-sign question (services/danger.py) through ingest, the triage pass and the
outbox, on SQLite and PostgreSQL, with the recording gateway."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta, timezone

from sqlmodel import select

from reminders import messages
from reminders.db import session_scope
from reminders.models import Message, Patient, QueueItem, Staff
from reminders.services import dispatch, queue
from reminders.services.inbound import Incoming, ingest, process_received
from reminders.services.outbox import send_pending

ENROLLED = datetime(2026, 12, 1, 7, 0, tzinfo=timezone.utc)
START = date(2026, 12, 1)
ONCALL = "+254700000002"
SIDS = itertools.count(1)


def day_at(day: int, hours: float = 0) -> datetime:
    """09:05 in Nairobi on day `day` of the plan, plus `hours`."""
    return datetime(2026, 12, 1, 6, 5, tzinfo=timezone.utc) + timedelta(days=day, hours=hours)


def reply(engine, patient, body: str, at: datetime) -> str | None:  # type: ignore[no-untyped-def]
    """The patient texts `body` at `at`: the webhook's immediate answer."""
    with session_scope(engine) as session:
        outcome = ingest(session, Incoming(f"SM{next(SIDS):032d}", patient.phone, "+15005550006", body),
                         now=at, answer_mode="twiml")
    return outcome.answer


def the_item(engine, patient) -> QueueItem:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return session.exec(select(QueueItem).where(QueueItem.patient_id == patient.id)).one()


def sent_kinds(engine, patient) -> list[str]:  # type: ignore[no-untyped-def]
    """The kinds of outbound messages the provider accepted for this patient, in order."""
    with session_scope(engine) as session:
        rows = session.exec(select(Message).where(Message.patient_id == patient.id,
                                                  Message.direction == "outbound",
                                                  Message.provider_sid.is_not(None))  # type: ignore[union-attr]
                            .order_by(Message.id)).all()
        return [m.kind for m in rows]


def asked(engine, gateway, make_patient, *, language: str = "en", first: str = "2"):  # type: ignore[no-untyped-def]
    """A patient whose check-in got a flag reply; the question has gone out."""
    patient = make_patient(enrolled=ENROLLED, art_start=START, language=language)
    dispatch.run_once(engine, gateway, now=day_at(3))
    assert reply(engine, patient, first, day_at(3, 1)) == messages.render("flag_ack", language)
    process_received(engine)
    send_pending(engine, gateway, now=day_at(3, 1))
    question = messages.render("danger_question", language)
    assert [s.body for s in gateway.to(patient.phone)][-1] == question
    return patient


def test_a_flag_reply_gets_the_danger_question_once_in_the_patients_language(engine, gateway, make_patient):
    patient = asked(engine, gateway, make_patient, language="sw", first="nina homa")
    item = the_item(engine, patient)
    assert item.level == "flag" and item.danger_asked_at == day_at(3, 1) and item.danger_answer is None
    # More flag replies join the item; the question is not asked again.
    reply(engine, patient, "na kichwa kinauma", day_at(3, 2))
    reply(engine, patient, "3", day_at(3, 3))
    process_received(engine)
    send_pending(engine, gateway, now=day_at(3, 3))
    assert sent_kinds(engine, patient).count("danger_question") == 1
    assert the_item(engine, patient).level == "flag"


def test_yes_makes_the_same_item_urgent_and_alerts_on_call_once(engine, gateway, make_patient):
    patient = asked(engine, gateway, make_patient)
    item_id = the_item(engine, patient).id
    answer = reply(engine, patient, "1", day_at(3, 1.5))
    assert answer == messages.render("urgent_ack", "en", clinic="Kibera Clinic", clinic_phone="+254700000001")
    assert "glad" not in answer.lower()
    process_received(engine)
    send_pending(engine, gateway, now=day_at(3, 1.5))
    item = the_item(engine, patient)
    assert (item.id, item.level, item.danger_answer) == (item_id, "urgent", "yes")
    assert "danger_signs" in item.symptoms and "1" in item.evidence
    (alert,) = gateway.to(ONCALL)
    assert f"#{item.id}" in alert.body
    # Nothing more: the question is answered, a later "1" is the menu again.
    reply(engine, patient, "1", day_at(3, 2))
    process_received(engine)
    send_pending(engine, gateway, now=day_at(3, 2))
    assert len(gateway.to(ONCALL)) == 1


def test_the_answer_is_marked_in_the_timeline(engine, gateway, make_patient):
    patient = asked(engine, gateway, make_patient)
    reply(engine, patient, "2", day_at(3, 1.5))
    process_received(engine)
    with session_scope(engine) as session:
        rows = session.exec(select(Message).where(Message.patient_id == patient.id).order_by(Message.id)).all()
        question = next(m for m in rows if m.kind == "danger_question")
        answer = next(m for m in rows if m.kind == "danger_answer")
    assert (answer.direction, answer.body, answer.in_reply_to) == ("inbound", "2", question.id)
    item = the_item(engine, patient)
    assert (item.danger_message_id, item.danger_answer, item.danger_answered_at) == (question.id, "no", day_at(3, 1.5))


def test_no_keeps_the_item_a_flag_with_a_short_thanks(engine, gateway, make_patient):
    patient = asked(engine, gateway, make_patient, language="fr", first="j'ai de la fievre")
    assert reply(engine, patient, "2", day_at(3, 1.5)) == messages.render("danger_no_ack", "fr")
    process_received(engine)
    send_pending(engine, gateway, now=day_at(3, 2))
    item = the_item(engine, patient)
    assert (item.level, item.danger_answer) == ("flag", "no")
    assert "fever" in item.symptoms and "danger_signs" not in item.symptoms  # "2" is not menu 2 here
    assert gateway.to(ONCALL) == []


def test_a_no_with_more_to_say_joins_the_item(engine, gateway, make_patient):
    patient = asked(engine, gateway, make_patient)
    reply(engine, patient, "2, but my neck is swollen", day_at(3, 1.5))
    process_received(engine)
    item = the_item(engine, patient)
    assert (item.level, item.danger_answer) == ("flag", "no")
    assert "swelling" in item.symptoms


def test_a_red_flag_in_the_answer_is_a_yes(engine, gateway, make_patient):
    patient = asked(engine, gateway, make_patient, language="sw", first="2")
    assert "+254700000001" in reply(engine, patient, "hapana, ila sasa siwezi kupumua", day_at(3, 1.5))
    process_received(engine)
    item = the_item(engine, patient)
    assert (item.level, item.danger_answer) == ("urgent", "yes") and "breathing" in item.symptoms


def test_silence_leaves_the_item_a_flag_and_the_question_closes_after_a_day(engine, gateway, make_patient):
    patient = asked(engine, gateway, make_patient)
    send_pending(engine, gateway, now=day_at(4, 2))
    item = the_item(engine, patient)
    assert (item.level, item.danger_answer) == ("flag", None)
    assert gateway.to(ONCALL) == []
    # 25 hours later "1" is the check-in menu's "I am well" again, not a yes.
    assert "glad" in reply(engine, patient, "1", day_at(4, 2)).lower()
    process_received(engine)
    assert the_item(engine, patient).level == "flag" and the_item(engine, patient).danger_answer is None


def test_yes_answers_the_question_and_is_not_twilios_start(engine, gateway, make_patient):
    patient = asked(engine, gateway, make_patient)
    answer = reply(engine, patient, "YES", day_at(3, 1.5))
    assert answer == messages.render("urgent_ack", "en", clinic="Kibera Clinic", clinic_phone="+254700000001")
    process_received(engine)
    assert (the_item(engine, patient).level, the_item(engine, patient).danger_answer) == ("urgent", "yes")


def test_start_is_still_start_while_the_question_is_open(engine, gateway, make_patient):
    patient = asked(engine, gateway, make_patient)
    assert reply(engine, patient, "START", day_at(3, 1.5)) == messages.render(
        "start_confirm", "en", clinic="Kibera Clinic")
    process_received(engine)
    assert the_item(engine, patient).danger_answer is None
    reply(engine, patient, "1", day_at(3, 2))  # the question is still open
    process_received(engine)
    assert the_item(engine, patient).danger_answer == "yes"


def test_yes_without_an_open_question_is_start(engine, gateway, make_patient):
    patient = make_patient(enrolled=ENROLLED, art_start=START)
    assert reply(engine, patient, "YES", day_at(3)) == messages.render("start_confirm", "en", clinic="Kibera Clinic")


def test_another_reply_while_the_question_is_open_is_triaged_and_joins_the_item(engine, gateway, make_patient):
    patient = asked(engine, gateway, make_patient)
    reply(engine, patient, "3", day_at(3, 1.5))  # not yes/no: the check-in menu's swelling
    process_received(engine)
    item = the_item(engine, patient)
    assert (item.level, item.danger_answer) == ("flag", None) and "swelling" in item.symptoms
    reply(engine, patient, "2", day_at(3, 2))  # the question is still open
    process_received(engine)
    assert the_item(engine, patient).danger_answer == "no"


def test_never_during_quiet_hours_the_question_waits_for_the_morning(engine, gateway, make_patient):
    patient = make_patient(enrolled=ENROLLED, art_start=START)
    dispatch.run_once(engine, gateway, now=day_at(3))
    night = datetime(2026, 12, 4, 19, 30, tzinfo=timezone.utc)  # 22:30 in Nairobi
    reply(engine, patient, "I have a fever", night)
    process_received(engine)
    with session_scope(engine) as session:
        question = session.exec(select(Message).where(Message.kind == "danger_question")).one()
    morning = datetime(2026, 12, 5, 4, 0, tzinfo=timezone.utc)  # 07:00 in Nairobi
    assert question.send_after == morning
    send_pending(engine, gateway, now=night + timedelta(hours=1))
    assert "danger_question" not in sent_kinds(engine, patient)
    # A reply before the question went out cannot answer it: "1" is the menu.
    assert "glad" in reply(engine, patient, "1", night + timedelta(hours=2)).lower()
    send_pending(engine, gateway, now=morning)
    assert sent_kinds(engine, patient)[-1] == "danger_question"


def test_stop_in_between_nothing_is_sent(engine, gateway, make_patient):
    patient = make_patient(enrolled=ENROLLED, art_start=START)
    dispatch.run_once(engine, gateway, now=day_at(3))
    reply(engine, patient, "2", day_at(3, 1))
    process_received(engine)  # the question is written to the outbox
    reply(engine, patient, "STOP", day_at(3, 1.1))
    before = len(gateway.to(patient.phone))
    send_pending(engine, gateway, now=day_at(3, 2))
    assert len(gateway.to(patient.phone)) == before  # the STOP confirmation went in TwiML
    assert "danger_question" not in sent_kinds(engine, patient)
    # And "1" from an opted-out patient is never read as an answer.
    reply(engine, patient, "1", day_at(3, 3))
    process_received(engine)
    assert the_item(engine, patient).danger_answer is None and gateway.to(ONCALL) == []


def test_the_outbox_never_sends_the_question_to_a_patient_who_opted_out_at_the_carrier(engine, gateway, make_patient):
    patient = make_patient(enrolled=ENROLLED, art_start=START)
    dispatch.run_once(engine, gateway, now=day_at(3))
    reply(engine, patient, "2", day_at(3, 1))
    process_received(engine)
    with session_scope(engine) as session:  # Twilio 21610 on another message: opted out, nothing cancelled
        session.get(Patient, patient.id).status = "opted_out"
    summary = send_pending(engine, gateway, now=day_at(3, 2))
    assert summary.cancelled >= 1
    assert "danger_question" not in sent_kinds(engine, patient)
    with session_scope(engine) as session:
        assert session.exec(select(Message.status).where(Message.kind == "danger_question")).one() == "cancelled"


def test_an_urgent_item_is_not_asked_and_a_pending_question_is_withdrawn(engine, gateway, make_patient):
    urgent = make_patient(enrolled=ENROLLED, art_start=START)
    reply(engine, urgent, "I cannot breathe", day_at(3, 1))
    process_received(engine)
    assert the_item(engine, urgent).danger_asked_at is None
    patient = make_patient(enrolled=ENROLLED, art_start=START)
    night = datetime(2026, 12, 4, 19, 30, tzinfo=timezone.utc)
    reply(engine, patient, "homa", night)
    process_received(engine)
    reply(engine, patient, "sasa nimepata degedege", night + timedelta(minutes=5))
    process_received(engine)
    send_pending(engine, gateway, now=night + timedelta(hours=12))
    assert the_item(engine, patient).level == "urgent"
    assert "danger_question" not in sent_kinds(engine, patient)


def test_resolving_the_item_withdraws_a_question_not_yet_sent(engine, gateway, make_patient):
    patient = make_patient(enrolled=ENROLLED, art_start=START)
    night = datetime(2026, 12, 4, 19, 30, tzinfo=timezone.utc)
    reply(engine, patient, "fever", night)
    process_received(engine)
    item_id = the_item(engine, patient).id
    with session_scope(engine) as session:
        staff = Staff(email="n@example.org", password_hash="x", role="nurse", clinic_id=patient.clinic_id)
        session.add(staff)
        session.flush()
        queue.resolve(session, item_id, staff, "reached_well", "called", night)
    send_pending(engine, gateway, now=night + timedelta(hours=12))
    assert "danger_question" not in sent_kinds(engine, patient)


def test_a_checkin_sent_after_the_question_takes_the_digits_back(engine, gateway, make_patient):
    patient = asked(engine, gateway, make_patient)
    with session_scope(engine) as session:  # a check-in due soon after (a high-risk day)
        from reminders.models import CheckIn
        session.add(CheckIn(patient_id=patient.id, day=4, due_at=day_at(3, 3)))
    dispatch.run_once(engine, gateway, now=day_at(3, 3))
    assert sent_kinds(engine, patient)[-1] == "checkin"
    assert "glad" in reply(engine, patient, "1", day_at(3, 4)).lower()
    process_received(engine)
    assert the_item(engine, patient).danger_answer is None


def test_please_call_me_is_admin_answered_that_a_nurse_will_call_and_not_asked(engine, gateway, make_patient):
    patient = make_patient(enrolled=ENROLLED, art_start=START, language="es")
    dispatch.run_once(engine, gateway, now=day_at(3))
    assert reply(engine, patient, "6", day_at(3, 1)) == messages.render("flag_ack", "es")
    process_received(engine)
    item = the_item(engine, patient)
    assert (item.level, item.symptoms, item.danger_asked_at) == ("admin", ["call_request"], None)
