"""Promise: clear errors. An unreachable database is one line naming the host (never the
password) and the reason, with a non-zero exit, for every CLI command; a bad date in an
import names the date column; an unknown queue status is a 422."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import cli, cli_env, kibera  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "s3cret-Passw0rd"

COMMANDS = {
    "db upgrade": ["db", "upgrade"],
    "clinic add": ["clinic", "add", "KIB", "--name", "Kibera", "--timezone", "Africa/Nairobi", "--country", "KE",
                   "--phone", "+254700000001"],
    "staff add": ["staff", "add", "n@example.org", "--clinic", "KIB", "--password-stdin"],
    "enroll": ["enroll", "--clinic", "KIB", "--phone", "0712345678", "--art-start", "2026-12-01", "--consent"],
    "import": ["import", "REGISTER", "--clinic", "KIB"],
    "dispatch": ["dispatch"],
    "followup": ["followup"],
    "simulate-reply": ["simulate-reply", "nina homa", "--phone", "+254712345678"],
    "serve": ["serve", "--port", "1"],
    "worker": ["worker"],
}


@pytest.fixture(scope="module")
def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("command", COMMANDS, ids=list(COMMANDS))
def test_an_unreachable_database_is_one_line_naming_the_host(command, closed_port, tmp_path):
    register = tmp_path / "register.csv"
    register.write_text("phone,art_start_date,consent\n0712345678,2026-12-01,yes\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REMINDERS_", "TWILIO_"))}
    env.update(REMINDERS_DATABASE_URL=f"postgresql://nurse:{PASSWORD}@127.0.0.1:{closed_port}/reminders",
               REMINDERS_SMS_GATEWAY="local", REMINDERS_SECRET_KEY="test-secret-key-0123456789-0123456789-abcdef",
               REMINDERS_SPOOL_DIR=str(tmp_path / "spool"))
    args = [str(register) if arg == "REGISTER" else arg for arg in COMMANDS[command]]
    done = subprocess.run([sys.executable, "-m", "reminders", *args], env=env, cwd=ROOT, input="long password 1\n",
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 3, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip() and not line.startswith("importing")]
    assert lines == [f"error: database unreachable at 127.0.0.1:{closed_port}/reminders: Connection refused"]
    assert PASSWORD not in done.stderr + done.stdout


def test_a_bad_date_in_an_import_names_the_date_column(cli, kibera, tmp_path):  # noqa: F811
    register = tmp_path / "register.csv"
    register.write_text("phone,art_start_date,consent,cd4,preferred_hour\n"
                        "0712345001,2026-13-45,yes,,\n"
                        "0712345002,2026-12-01,perhaps,,\n"
                        "0712345003,2026-12-01,yes,lots,\n"
                        "0712345004,2026-12-01,yes,,nine\n", encoding="utf-8")
    result = cli("import", str(register), "--clinic", "KIB")
    lines = [line for line in result.stderr.splitlines() if line.startswith("row ")]
    assert [line.split(": ")[1] for line in lines] == ["art_start_date", "consent", "cd4", "preferred_hour"]
    assert "'2026-13-45' is not a date" in lines[0]


def test_an_unknown_queue_status_is_422_naming_the_parameter(client, login):
    response = client.get("/api/queue?status=bogus", headers=login())
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "status"]
    assert client.get("/api/queue?status=unresolved", headers=login()).status_code == 200
