"""REMINDERS_PROTOCOL_FILE: a clinic's own copy of the protocol plans its patients."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from reminders import protocols
from reminders.cli import app
from reminders.models import CheckIn
from tests.helpers import snapshot

DEFAULT = Path(protocols.__file__).parent / "data" / "protocols" / "default.toml"


@pytest.fixture(autouse=True)
def _packaged_protocol_again():
    yield
    protocols.use_protocol_file(None)


def run(settings, protocol_file: Path, *args: str):  # type: ignore[no-untyped-def]
    env = {"REMINDERS_DATABASE_URL": settings.database_url, "REMINDERS_SMS_GATEWAY": "local",
           "REMINDERS_PROTOCOL_FILE": str(protocol_file)}
    return CliRunner().invoke(app, list(args), env=env)


def test_a_clinics_copy_of_the_protocol_plans_its_patients(settings, kibera, session, tmp_path):
    copy = tmp_path / "weekly.toml"
    copy.write_text(DEFAULT.read_text().replace(
        "days = [3, 7, 10, 14, 17, 21, 24, 28, 35, 42, 49, 56]", "days = [7, 14, 21, 28, 35, 42, 49, 56]"))
    today = datetime.now(timezone.utc).date().isoformat()
    result = run(settings, copy, "enroll", "--clinic", "KIB", "--phone", "0712345678",
                 "--art-start", today, "--consent")
    assert result.exit_code == 0, result.output
    assert [c.day for c in session.exec(select(CheckIn).order_by(CheckIn.due_at))] == [7, 14, 21, 28, 35, 42, 49, 56]


def test_a_bad_protocol_file_stops_the_command_and_writes_nothing(settings, kibera, engine, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(DEFAULT.read_text().replace("quiet_end = 7", "quiet_end = 25"))
    before = snapshot(engine)
    result = run(settings, bad, "enroll", "--clinic", "KIB", "--phone", "0712345678",
                 "--art-start", "2026-12-01", "--consent")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: protocol.quiet_end:") and result.stderr.count("\n") == 1
    assert snapshot(engine) == before
    missing = run(settings, tmp_path / "nope.toml", "dispatch")
    assert missing.exit_code == 2 and "protocol: file not found" in missing.stderr
