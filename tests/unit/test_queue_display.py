"""Pure pieces of the staff pages: targets and age, evidence highlighting, saved replies."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from reminders import saved_replies, targets
from reminders.disclosure import check_discreet
from reminders.languages import LANGUAGES
from reminders.web.highlight import Segment, highlight

NAIROBI = "Africa/Nairobi"
MONDAY_9 = datetime(2026, 11, 30, 6, 0, tzinfo=timezone.utc)  # 09:00 in Nairobi
FRIDAY_15 = datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc)


def test_urgent_is_due_in_two_hours():
    age = targets.age_against_target("urgent", MONDAY_9, NAIROBI, MONDAY_9 + timedelta(hours=2, minutes=1))
    assert age.target == timedelta(hours=2) and age.overdue


def test_flag_is_due_the_next_working_day_skipping_the_weekend():
    assert targets.due_at("flag", MONDAY_9, NAIROBI) == MONDAY_9 + timedelta(days=1)
    assert targets.due_at("flag", FRIDAY_15, NAIROBI) == FRIDAY_15 + timedelta(days=3)
    saturday = FRIDAY_15 + timedelta(days=1)
    due = targets.due_at("flag", saturday, NAIROBI)
    assert due.astimezone(timezone(timedelta(hours=3))).strftime("%a %H:%M") == "Tue 08:00"
    assert not targets.age_against_target("flag", FRIDAY_15, NAIROBI, FRIDAY_15 + timedelta(days=2)).overdue


def test_admin_and_no_response_have_targets_too():
    assert targets.due_at("admin", MONDAY_9, NAIROBI) == MONDAY_9 + timedelta(days=2)
    assert targets.due_at("no_response", MONDAY_9, NAIROBI) == MONDAY_9 + timedelta(days=1)


@pytest.mark.parametrize("minutes, text", [(5, "5 min"), (60, "1 h"), (130, "2 h 10 min"), (60 * 50, "2 d 2 h")])
def test_short_duration(minutes, text):
    assert targets.short_duration(timedelta(minutes=minutes)) == text


def test_week_since_start():
    start = date(2026, 11, 1)
    assert [targets.week_since_start(start, start + timedelta(days=d)) for d in (0, 6, 7, 55)] == [1, 1, 2, 8]


def test_highlight_marks_evidence_case_insensitively_and_keeps_the_text():
    segments = highlight("I have a FEVER and my neck is stif", ["fever", "neck is stif"])
    assert segments == [Segment("I have a ", False), Segment("FEVER", True), Segment(" and my ", False),
                        Segment("neck is stif", True)]
    assert "".join(s.text for s in segments) == "I have a FEVER and my neck is stif"


def test_highlight_leaves_markup_as_plain_text_for_the_template_to_escape():
    text = "<img src=x onerror=alert(1)> fever"
    segments = highlight(text, ["fever"])
    assert segments[0] == Segment("<img src=x onerror=alert(1)> ", False)
    assert "".join(s.text for s in highlight("İstanbul fever", ["fever"])) == "İstanbul fever"


def test_every_saved_reply_exists_in_every_language_and_discloses_nothing():
    replies = saved_replies.saved_replies()
    assert replies
    for reply in replies.values():
        for language in LANGUAGES:
            text = reply.render(language, clinic="Afya", clinic_phone="+254700000001", name="")
            check_discreet("saved reply", text)
            assert "{" not in text and len(text) <= 300


def test_every_saved_reply_passes_the_staff_message_rule_with_the_longest_clinic_name() -> None:
    from reminders.messages import check_staff_message
    from reminders.saved_replies import saved_replies

    for reply in saved_replies().values():
        for language in reply.texts:
            text = reply.render(language, clinic="C" * 40, clinic_phone="+254700000001")
            assert check_staff_message(text, "text") == text, (reply.key, language)
