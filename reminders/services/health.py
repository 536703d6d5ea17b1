"""What /healthz, /metrics and `reminders doctor` report about the database, the
scheduler and the spool, each on its own."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from reminders import spool
from reminders.services import heartbeat

QUARANTINE = "quarantine"  # spool files that could not be ingested

# How long /healthz waits for the database. A health check that hangs with the database
# (a frozen server, a held write lock, a pool emptied by stuck requests) tells the
# orchestrator nothing; an answer that says "no answer" does.
PROBE_SECONDS = 3.0


@dataclass(frozen=True)
class SpoolCounts:
    pending: int
    quarantined: int


def spool_counts(spool_dir: Path) -> SpoolCounts:
    """Replies and status callbacks waiting in the spool, and files set aside in its
    quarantine folder (reminders/spool.py keeps the layout)."""
    counts = spool.counts(spool_dir)
    return SpoolCounts(counts.pending, counts.quarantined)


def database_check(engine: sa.Engine) -> dict[str, Any]:
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        return {"status": "down", "error": type(getattr(exc, "orig", None) or exc).__name__}
    return {"status": "ok"}


def scheduler_check(engine: sa.Engine, now: datetime, process: str | None = None) -> dict[str, Any]:
    """This process's scheduler: `off` when it runs none, `stale` when it stopped beating."""
    process = process or heartbeat.process_name()
    try:
        with Session(engine) as session:
            beat = heartbeat.last_beat(session, process=process)
    except sa.exc.SQLAlchemyError:
        return {"status": "unknown", "reason": "database unavailable"}
    if beat is None:
        return {"status": "off"}
    age = (now - beat).total_seconds()
    status = "ok" if age <= heartbeat.STALE_AFTER.total_seconds() else "stale"
    return {"status": status, "last_beat_seconds_ago": round(age, 1)}


def spool_check(spool_dir: Path) -> dict[str, Any]:
    counts = spool_counts(spool_dir)
    writable = _writable(spool_dir)
    return {"status": "ok" if writable else "not_writable", "pending": counts.pending,
            "quarantined": counts.quarantined}


def _writable(folder: Path) -> bool:
    probe = folder if folder.exists() else folder.parent
    return probe.is_dir() and os.access(probe, os.W_OK | os.X_OK)


@dataclass
class _Probe:
    """One look at the database and this process's heartbeat, in a thread of its own."""

    engine: sa.Engine
    now: datetime
    results: dict[str, dict[str, Any]] = field(default_factory=dict)

    def run(self) -> None:
        try:
            database = database_check(self.engine)
            self.results["database"] = database
            self.results["scheduler"] = (scheduler_check(self.engine, self.now) if database["status"] == "ok"
                                         else {"status": "unknown", "reason": "database unavailable"})
        finally:
            with _probes_lock:
                _probes.pop(id(self.engine), None)


# By engine: the probe still running for it, if any (a probe removes itself when done, and
# keeps its engine alive meanwhile, so the id cannot be another engine's).
_probes: dict[int, tuple[_Probe, threading.Thread]] = {}
_probes_lock = threading.Lock()


def database_and_scheduler(engine: sa.Engine, now: datetime,
                           timeout: float = PROBE_SECONDS) -> tuple[dict[str, Any], dict[str, Any]]:
    """`database_check` and `scheduler_check`, answered within `timeout` seconds whatever
    the database does. While a probe is still stuck, later checks wait on that same probe
    instead of starting another: a frozen database leaves at most one thread waiting."""
    with _probes_lock:
        running = _probes.get(id(engine))
        if running is None:
            probe = _Probe(engine, now)
            running = _probes[id(engine)] = (probe, threading.Thread(target=probe.run, name="health-probe",
                                                                     daemon=True))
            running[1].start()
    probe, thread = running
    thread.join(timeout)
    if thread.is_alive() or "scheduler" not in probe.results:
        return ({"status": "down", "error": f"no answer within {timeout:g} s"},
                {"status": "unknown", "reason": "database unavailable"})
    return probe.results["database"], probe.results["scheduler"]


def report(engine: sa.Engine, spool_dir: Path, now: datetime, *, scheduler_expected: bool) -> dict[str, Any]:
    """The three checks, and `ok` overall only when each is fine. A process started
    without a scheduler reports it `off`, which is fine for it alone."""
    database, scheduler_result = database_and_scheduler(engine, now)
    checks = {"database": database, "scheduler": scheduler_result, "spool": spool_check(spool_dir)}
    scheduler = checks["scheduler"]["status"]
    healthy = (checks["database"]["status"] == "ok" and checks["spool"]["status"] == "ok"
               and (scheduler == "ok" or (scheduler == "off" and not scheduler_expected)))
    return {"status": "ok" if healthy else "degraded", **checks}
