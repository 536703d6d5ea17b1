"""APScheduler is the clock: each process registers the same few periodic passes at start-up.

No job per patient and no shared job store (APScheduler 3 does not support several
schedulers on one store): the durable schedule is our own rows, and every pass claims
its work from them, so any number of processes can run these side by side.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from reminders.config import Settings
from reminders.db import session_scope
from reminders.services import dispatch, followup, heartbeat, inbound, recovery, retention
from reminders.services.outbox import SendOptions
from reminders.sms.base import SmsGateway

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    seconds: int
    run: Callable[[datetime], Any]


def jobs(engine: sa.Engine, gateway: SmsGateway, settings: Settings, *,
         spool: bool = True) -> list[Job]:
    options = SendOptions.from_settings(settings)

    def dispatch_pass(now: datetime) -> Any:
        return dispatch.run_once(engine, gateway, now=now, options=options)

    role = "serve" if spool else "worker"

    def heartbeat_pass(now: datetime) -> Any:
        with session_scope(engine) as session:
            heartbeat.beat(session, role, now)
        return {}  # quiet: a beat is not news

    def reconcile_pass(now: datetime) -> Any:
        return recovery.reconcile_inbound(engine, gateway, since=now - timedelta(hours=2), until=now)

    found = [
        Job("heartbeat", heartbeat.INTERVAL_SECONDS, heartbeat_pass),
        Job("replies", 2, lambda now: inbound.process_received(engine)),
        Job("dispatch", 30, dispatch_pass),
        Job("followup", 60, lambda now: followup.run_once(engine, now=now)),
        Job("reconcile", 900, reconcile_pass),
    ]
    if settings.retention_days:
        days = settings.retention_days
        found.append(Job("retention", 3600,
                         lambda now: retention.erase_old_bodies(engine, now=now, days=days)))
    if spool:  # the spool is on this machine's disk: only processes that serve webhooks replay it
        found.append(Job("spool", 30, lambda now: recovery.replay_spool(engine, settings.spool_dir)))
    return found


def spool_jobs(engine: sa.Engine, settings: Settings) -> list[Job]:
    """What a web process must run itself when workers run the other passes (`serve
    --passes spool`): its heartbeat and the replay of the spool on its own disk."""
    def heartbeat_pass(now: datetime) -> Any:
        with session_scope(engine) as session:
            heartbeat.beat(session, "serve", now)
        return {}

    return [Job("heartbeat", heartbeat.INTERVAL_SECONDS, heartbeat_pass),
            Job("spool", 30, lambda now: recovery.replay_spool(engine, settings.spool_dir))]


def register(scheduler: BaseScheduler, found: list[Job]) -> None:
    for job in found:
        scheduler.add_job(
            _logged(job), "interval", seconds=job.seconds, id=job.name, name=job.name,
            # The default grace is 1 s: a busy process would skip passes. Late is fine; twice is not.
            misfire_grace_time=job.seconds, coalesce=True, max_instances=1,
            next_run_time=datetime.now(timezone.utc) + timedelta(seconds=1),
        )


def _logged(job: Job) -> Callable[[], None]:
    def run() -> None:
        try:
            summary = job.run(datetime.now(timezone.utc))
            if any(summary.values()):  # quiet when a pass found nothing to do
                log.info("job=%s summary=%s", job.name, summary)
        except Exception:  # one failed pass must not stop the clock
            log.exception("job=%s failed", job.name)

    return run


def start_background(found: list[Job]) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone=timezone.utc)
    register(scheduler, found)
    scheduler.start()
    return scheduler


def run_blocking(found: list[Job]) -> None:
    scheduler = BlockingScheduler(timezone=timezone.utc)
    register(scheduler, found)
    scheduler.start()
