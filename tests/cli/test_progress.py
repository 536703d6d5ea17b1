"""Long passes show progress on a terminal, and only there: a pass run by cron or in a
container writes its JSON summary and nothing else."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from reminders.progress import TerminalProgress

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_rewrites_one_line_on_a_terminal_and_ends_it():
    stream = Terminal()
    with TerminalProgress("dispatch", stream) as progress:
        progress("check-ins queued", 500)
    assert stream.getvalue().startswith("\rdispatch: 500 check-ins queued")
    assert stream.getvalue().endswith("\n")


def test_progress_is_silent_when_not_a_terminal():
    stream = io.StringIO()
    with TerminalProgress("dispatch", stream) as progress:
        progress("check-ins queued", 500)
        progress("sent", 12)
    assert stream.getvalue() == ""
    assert progress.counts == {"check-ins queued": 500, "sent": 12}


def run_dispatch(cli_env: dict[str, str], now: str, *, terminal: bool) -> tuple[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REMINDERS_", "TWILIO_"))} | cli_env
    command = [sys.executable, "-m", "reminders", "dispatch", "--now", now]
    if not terminal:
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout, done.stderr
    master, slave = pty.openpty()
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=slave, text=True)
    os.close(slave)
    out, _ = process.communicate(timeout=120)
    assert process.returncode == 0
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the terminal's other side is closed and drained
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    return out, seen.decode()


def test_dispatch_shows_its_progress_on_a_terminal_only(cli, kibera, cli_env):
    start = datetime.now(ZoneInfo("Africa/Nairobi")).date()  # the plan starts today: every check-in ahead
    for i in range(3):
        assert cli("enroll", "--clinic", "KIB", "--phone", f"07123456{i:02d}", "--art-start",
                   start.isoformat(), "--consent").exit_code == 0
    now = datetime.combine(start + timedelta(days=3), time(10, 0), ZoneInfo("Africa/Nairobi")).isoformat()
    out, terminal = run_dispatch(cli_env, now, terminal=True)
    assert json.loads(out)["due"] == 3, (out, terminal, now)
    assert "dispatch: 3 check-ins queued" in terminal
    later = datetime.combine(start + timedelta(days=7), time(10, 0), ZoneInfo("Africa/Nairobi")).isoformat()
    out, stderr = run_dispatch(cli_env, later, terminal=False)
    assert json.loads(out)["due"] == 3
    assert "dispatch:" not in stderr and "queued" not in stderr
