"""The redaction safety net: the whole formatted record, exception text included."""

import json
import logging
import sys

import pytest

from reminders.logs import JsonFormatter, RedactingFormatter, redact


def _record(msg, *args, exc=False):
    exc_info = None
    if exc:
        try:
            raise RuntimeError("send to +254712345678 failed for ada@example.org")
        except RuntimeError:
            exc_info = sys.exc_info()
    return logging.LogRecord("x", logging.ERROR, __file__, 1, msg, args, exc_info)


@pytest.mark.parametrize("phone", ["+254712345678", "+254 712 345 678", "0712 345 678",
                                   "0712-345-678", "0712345678", "254712345678",
                                   "whatsapp:+254712345678"])
def test_phone_numbers_in_any_usual_form_are_masked(phone):
    assert redact(f"send to {phone} failed") == "send to [phone] failed"


@pytest.mark.parametrize("text", [
    "2026-12-01 06:05:00,123 INFO x", "at 2026-12-01T06:05:00+03:00",
    "sid=SM0123456789abcdef0123456789abcdef", "sid=SMlocal0000000012345678",
    "AC00000000000000000000000000000001", "message=12345 code=21610", "took 0.123456789 s",
])
def test_timestamps_sids_and_ids_are_left_alone(text):
    assert redact(text) == text


def test_emails_and_what_databases_echo_are_masked():
    text = ('(psycopg.errors.CheckViolation) new row violates check constraint "c"\n'
            "DETAIL:  Failing row contains (7, +254712345678, I have a fever).\n"
            "[parameters: {'body': 'I have a fever', 'note': 'called]'}]\n"
            "1 validation error [type=string_type, input_value='Ada Lovelace', input_type=str]\n"
            "staff ada@example.org")
    out = redact(text)
    for secret in ("fever", "called", "Ada", "ada@example.org", "712345678"):
        assert secret not in out
    assert "CheckViolation" in out and "[email]" in out


def test_text_format_redacts_the_traceback_and_keeps_one_line_per_event():
    line = RedactingFormatter().format(_record("job failed for %s", "+254712345678", exc=True))
    assert "\n" not in line
    assert "712345678" not in line and "ada@example.org" not in line
    assert "RuntimeError" in line and "Traceback" in line


def test_json_format_is_one_object_per_line_with_the_traceback_redacted():
    line = JsonFormatter().format(_record("job failed for %s", "0712 345 678", exc=True))
    assert "\n" not in line
    event = json.loads(line)
    assert event["level"] == "ERROR" and event["message"] == "job failed for [phone]"
    assert "RuntimeError" in event["exc"] and "712345678" not in event["exc"]
    assert "ada@example.org" not in line


def test_a_bad_log_format_is_one_line_and_exit_2():
    from typer.testing import CliRunner

    from reminders.cli import app

    result = CliRunner().invoke(app, ["triage", "hi"], env={"REMINDERS_LOG_FORMAT": "xml"})
    assert result.exit_code == 2
    assert result.output.strip() == "error: REMINDERS_LOG_FORMAT: must be text or json"
