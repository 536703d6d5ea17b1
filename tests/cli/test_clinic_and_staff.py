"""`reminders clinic add` and `reminders staff add`: good input lands, bad input changes nothing."""

from __future__ import annotations

import pytest
from sqlmodel import select

from reminders.models import Clinic, Staff
from reminders.security import verify_password
from tests.helpers import snapshot


def test_clinic_add_normalises_phones(cli, session):
    result = cli("clinic", "add", "kib", "--name", "Kibera Clinic", "--timezone", "Africa/Nairobi",
                 "--country", "ke", "--phone", "0700 000 001", "--backup-phone", "0711 111 111")
    assert result.exit_code == 0, result.output
    clinic = session.exec(select(Clinic)).one()
    assert (clinic.code, clinic.country, clinic.timezone) == ("KIB", "KE", "Africa/Nairobi")
    assert clinic.phone == "+254700000001"
    assert clinic.oncall_phone == "+254700000001"  # defaults to the clinic phone
    assert clinic.backup_phone == "+254711111111"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--timezone", "Africa/Nairobi", "--country", "KE", "--phone", ""], "phone: is empty"),
        (["--timezone", "Africa/Narobi", "--country", "KE"], "timezone: 'Africa/Narobi' is not an IANA time zone"),
        (["--timezone", "Africa/Nairobi", "--country", "XX"], "country: 'XX' is not an ISO 3166 country code"),
        (["--timezone", "Africa/Nairobi", "--country", "KE", "--phone", "12"], "phone: '12' is not"),
        (["--timezone", "Africa/Nairobi", "--country", "KE", "--oncall-phone", "+1 202 555"], "oncall_phone:"),
    ],
)
def test_clinic_add_refuses_bad_input(cli, engine, args, message):
    before = snapshot(engine)
    if "--phone" not in args:
        args = [*args, "--phone", "+254700000001"]
    result = cli("clinic", "add", "KIB", "--name", "Kibera", *args)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr
    assert snapshot(engine) == before


def test_clinic_code_is_unique(cli, kibera, engine):
    before = snapshot(engine)
    result = cli("clinic", "add", "KIB", "--name", "Other", "--timezone", "Africa/Nairobi",
                 "--country", "KE", "--phone", "+254700000009")
    assert result.exit_code == 2
    assert "code: clinic KIB already exists" in result.stderr
    assert snapshot(engine) == before


def test_staff_add_reads_password_from_stdin_and_hashes_it(cli, kibera, session):
    result = cli("staff", "add", "Nurse@Example.org", "--clinic", "KIB", "--role", "nurse",
                 "--password-stdin", input="correct horse battery\n")
    assert result.exit_code == 0, result.output
    staff = session.exec(select(Staff)).one()
    assert staff.email == "nurse@example.org"
    assert staff.password_hash.startswith("$argon2id$")
    assert "correct horse battery" not in staff.password_hash
    assert verify_password(staff.password_hash, "correct horse battery")


def test_staff_password_is_never_an_argument(cli, kibera):
    result = cli("staff", "add", "n@example.org", "--clinic", "KIB", "--password", "secret123")
    assert result.exit_code == 2  # no such option


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["n@example.org", "--clinic", "NOPE"], "correct horse battery", "clinic: no clinic with code 'NOPE'"),
        (["n@example.org", "--clinic", "KIB", "--role", "doctor"], "correct horse battery", "role: must be one of"),
        (["not-an-email", "--clinic", "KIB"], "correct horse battery", "email: 'not-an-email' is not an email"),
        (["n@example.org", "--clinic", "KIB"], "short", "password: must be at least 8 characters"),
        (["n@example.org", "--clinic", "KIB"], "password123", "password: is one of the most common"),
    ],
)
def test_staff_add_refuses_bad_input(cli, kibera, engine, args, password, message):
    before = snapshot(engine)
    result = cli("staff", "add", *args, "--password-stdin", input=password + "\n")
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stderr.count("\n") == 1
    assert snapshot(engine) == before


def test_staff_add_without_a_terminal_asks_for_password_stdin(cli, kibera, engine):
    before = snapshot(engine)
    result = cli("staff", "add", "n@example.org", "--clinic", "KIB", input="")
    assert result.exit_code == 2
    assert "password: no terminal to prompt on: use --password-stdin" in result.stderr
    assert snapshot(engine) == before
