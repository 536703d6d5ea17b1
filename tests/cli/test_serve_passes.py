"""`reminders serve --passes spool`: a web process that runs only its heartbeat and the
replay of its own spool, leaving triage, dispatch, follow-up and reconciliation to
`reminders worker` processes (what docker-compose.yml and the runbook deploy)."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlmodel import select

from reminders import jobs, spool
from reminders.db import session_scope
from reminders.models import Message, SchedulerHeartbeat
from reminders.services.inbound import Incoming


def test_a_spool_only_web_process_beats_and_replays_its_spool_and_nothing_else(engine, settings, kibera):
    found = jobs.spool_jobs(engine, settings)
    assert [job.name for job in found] == ["heartbeat", "spool"]
    now = datetime.now(timezone.utc)
    spool.write(settings.spool_dir, Incoming(sid="SM" + "6" * 32, from_="+254712345678", to="+15005550006",
                                             body="nina homa"), now.isoformat())
    summaries = {job.name: job.run(now) for job in found}
    assert summaries["spool"]["ingested"] == 1
    with session_scope(engine) as session:
        assert [m.provider_sid for m in session.exec(select(Message).where(Message.direction == "inbound"))] == [
            "SM" + "6" * 32]
        assert [beat.role for beat in session.exec(select(SchedulerHeartbeat))] == ["serve"]
    # What the full set runs beside those two, left to workers.
    everything = {job.name for job in jobs.jobs(engine, None, settings)}  # type: ignore[arg-type]
    assert {"replies", "dispatch", "followup", "reconcile"} <= everything - {job.name for job in found}


def test_serve_refuses_an_unknown_set_of_passes(cli):
    result = cli("serve", "--passes", "triage")
    assert result.exit_code == 2
    assert result.stderr == "error: --passes: must be all or spool\n"
