"""Scheduler heartbeats: a real `reminders worker` beats, and `reminders heartbeat` (the
worker container's healthcheck) says so; without a beat it exits 1."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from sqlmodel import select

from reminders.db import session_scope
from reminders.models import SchedulerHeartbeat
from tests.integration.conftest import ROOT, start_reminders


def _heartbeat_command(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reminders", "heartbeat", "--max-age", "60"],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_a_worker_beats_and_the_healthcheck_sees_it(engine, database_url, reminders_env):
    env = reminders_env(database_url, REMINDERS_SMS_GATEWAY="local")
    before = _heartbeat_command(env)
    assert before.returncode == 1 and "no recent scheduler heartbeat" in before.stderr
    worker = start_reminders(["worker"], env)
    try:
        deadline = time.monotonic() + 60
        beats: list[SchedulerHeartbeat] = []
        while not beats and time.monotonic() < deadline and worker.poll() is None:
            with session_scope(engine) as session:
                beats = list(session.exec(select(SchedulerHeartbeat)).all())
            time.sleep(0.2)
        assert [beat.role for beat in beats] == ["worker"]
        assert beats[0].process.endswith(f":{worker.pid}")
        after = _heartbeat_command(env)
        assert after.returncode == 0, after.stderr
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=30)
