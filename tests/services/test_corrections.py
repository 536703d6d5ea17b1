"""Triage corrections from the queue, the review of sampled ok replies, and the CSV export."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlmodel import select

from reminders import sampling
from reminders.db import session_scope
from reminders.errors import InputError, NotFound
from reminders.models import QueueItem, TriageCorrection
from reminders.services import corrections
from reminders.services.clinics import add_clinic
from tests.records import reply, staff_member

T0 = datetime(2026, 12, 1, 7, 0, tzinfo=timezone.utc)


@pytest.fixture
def nurse(engine, clinic):  # type: ignore[no-untyped-def]
    return staff_member(engine, "nurse@kib.example.org")


@pytest.fixture
def other_nurse(engine, clinic):  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        add_clinic(session, code="LIS", name="Saude Norte", timezone="Europe/Lisbon", country="PT",
                   phone="+351210000000")
    return staff_member(engine, "nurse@lis.example.org", clinic="LIS")


@pytest.fixture
def patient(make_patient):  # type: ignore[no-untyped-def]
    return make_patient(enrolled=T0, art_start=date(2026, 12, 1), language="sw")


def the_item(engine):  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return session.exec(select(QueueItem)).one()


def test_a_nurse_corrects_an_item_and_the_latest_reply_is_kept(engine, nurse, patient):
    reply(engine, patient.phone, "nina kikohozi", T0)
    second = reply(engine, patient.phone, "kikohozi bado", T0 + timedelta(hours=1))
    item = the_item(engine)
    assert item.level == "flag"
    with session_scope(engine) as session:
        corrections.correct_item(session, item.id, nurse, "urgent", T0 + timedelta(hours=2))
    with session_scope(engine) as session:
        row = session.exec(select(TriageCorrection)).one()
        assert (row.message_id, row.queue_item_id, row.language, row.triage_level,
                row.corrected_level, row.source, row.staff_id) == (
            second, item.id, "sw", "flag", "urgent", "queue", nurse.id)
        assert session.get(QueueItem, item.id).level == "flag"  # a record, not a change of the item


def test_a_second_correction_of_the_same_reply_replaces_the_first(engine, nurse, patient):
    reply(engine, patient.phone, "nina homa", T0)
    item = the_item(engine)
    for level in ("urgent", "admin"):
        with session_scope(engine) as session:
            corrections.correct_item(session, item.id, nurse, level, T0 + timedelta(hours=1))
    with session_scope(engine) as session:
        assert [r.corrected_level for r in session.exec(select(TriageCorrection))] == ["admin"]


def test_a_bad_level_or_another_clinics_item_is_refused(engine, nurse, other_nurse, patient):
    reply(engine, patient.phone, "nina homa", T0)
    item = the_item(engine)
    with session_scope(engine) as session, pytest.raises(InputError) as refused:
        corrections.correct_item(session, item.id, nurse, "no_response", T0)
    assert refused.value.field == "corrected_level"
    with session_scope(engine) as session, pytest.raises(NotFound):
        corrections.correct_item(session, item.id, other_nurse, "urgent", T0)
    with session_scope(engine) as session:
        assert session.exec(select(TriageCorrection)).all() == []


def test_an_item_without_a_reply_cannot_be_corrected(engine, nurse, patient):
    with session_scope(engine) as session:
        item = QueueItem(clinic_id=nurse.clinic_id, patient_id=patient.id, level="no_response",
                         rank=2, reason="no_response", opened_at=T0)
        session.add(item)
    with session_scope(engine) as session, pytest.raises(InputError) as refused:
        corrections.correct_item(session, item.id, nurse, "flag", T0)
    assert refused.value.field == "item"


def test_only_replies_triage_called_ok_are_sampled_for_review(engine, nurse, patient):
    ok = reply(engine, patient.phone, "niko sawa", T0)
    reply(engine, patient.phone, "nina homa", T0 + timedelta(hours=1))
    with session_scope(engine) as session:
        listed = corrections.review_list(session, nurse, rate=1.0)
    assert [r.message_id for r in listed.rows] == [ok]
    assert listed.rows[0].body == "niko sawa" and listed.rows[0].corrected_level is None


def test_the_sample_is_the_share_chosen_by_message_id(engine, nurse, patient):
    ids = [reply(engine, patient.phone, "sawa", T0 + timedelta(minutes=i)) for i in range(60)]
    rate = 0.2
    with session_scope(engine) as session:
        listed = corrections.review_list(session, nurse, rate=rate, per_page=100)
    expected = {i for i in ids if sampling.sampled(i, rate)}
    assert {r.message_id for r in listed.rows} == expected
    assert 0 < len(expected) < len(ids)
    with session_scope(engine) as session:
        assert corrections.review_list(session, nurse, rate=0.0).total == 0


def test_reviewing_marks_the_reply_reviewed_agree_or_correct(engine, nurse, patient):
    first = reply(engine, patient.phone, "sawa", T0)
    second = reply(engine, patient.phone, "niko poa", T0 + timedelta(hours=1))
    with session_scope(engine) as session:
        corrections.review_reply(session, first, nurse, "ok", T0 + timedelta(hours=2), rate=1.0)
        corrections.review_reply(session, second, nurse, "flag", T0 + timedelta(hours=2), rate=1.0)
    with session_scope(engine) as session:
        assert corrections.review_list(session, nurse, rate=1.0).total == 0  # nothing pending
        reviewed = corrections.review_list(session, nurse, rate=1.0, show="reviewed")
        assert {(r.message_id, r.corrected_level, r.reviewed_by) for r in reviewed.rows} == {
            (first, "ok", nurse.email), (second, "flag", nurse.email)}
        rows = {r.message_id: (r.triage_level, r.source) for r in session.exec(select(TriageCorrection))}
        assert rows == {first: ("ok", "ok_review"), second: ("ok", "ok_review")}


def test_a_reply_outside_the_review_list_cannot_be_reviewed(engine, nurse, other_nurse, patient):
    flagged = reply(engine, patient.phone, "nina homa", T0)
    ok = reply(engine, patient.phone, "sawa", T0 + timedelta(hours=1))
    with session_scope(engine) as session, pytest.raises(NotFound):
        corrections.review_reply(session, flagged, nurse, "ok", T0, rate=1.0)  # triage said flag
    with session_scope(engine) as session, pytest.raises(NotFound):
        corrections.review_reply(session, ok, other_nurse, "ok", T0, rate=1.0)  # another clinic
    with session_scope(engine) as session, pytest.raises(NotFound):
        corrections.review_reply(session, ok, nurse, "ok", T0, rate=0.0)  # not sampled


def test_the_export_has_the_four_columns_and_defuses_formulas(engine, nurse, other_nurse, patient):
    reply(engine, patient.phone, "=HYPERLINK(\"http://x\") nina homa", T0)
    ok = reply(engine, patient.phone, "@sawa", T0 + timedelta(hours=1))
    with session_scope(engine) as session:
        corrections.correct_item(session, the_item(engine).id, nurse, "urgent", T0)
        corrections.review_reply(session, ok, nurse, "flag", T0, rate=1.0)
    with session_scope(engine) as session:
        text = corrections.export_csv(session, nurse, T0)
        assert corrections.export_csv(session, other_nurse, T0).splitlines() == [
            "text,language,triage_level,corrected_level"]  # another clinic's are not there
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [
        ["text", "language", "triage_level", "corrected_level"],
        ["'=HYPERLINK(\"http://x\") nina homa", "sw", "flag", "urgent"],
        ["'@sawa", "sw", "ok", "flag"],
    ]


def test_an_ok_reply_after_the_item_opened_is_not_the_one_corrected(engine, nurse, patient):
    flagged = reply(engine, patient.phone, "nina homa", T0)
    reply(engine, patient.phone, "sawa", T0 + timedelta(hours=1))
    with session_scope(engine) as session:
        row = corrections.correct_item(session, the_item(engine).id, nurse, "urgent", T0)
    assert row.message_id == flagged
