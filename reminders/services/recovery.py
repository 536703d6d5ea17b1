"""Replies that did not reach the database the normal way: the spool and reconciliation."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from reminders import spool
from reminders.db import session_scope
from reminders.services import status
from reminders.services.inbound import Incoming, ingest, storable_text
from reminders.sms.base import SmsGateway

log = logging.getLogger(__name__)

# A replay pass stops after this many database errors in a row: the database is down
# or hung, and every file behind would fail the same way (they wait for the next pass).
MAX_DATABASE_ERRORS = 3
REPLAY_TIMEOUT = 10.0  # seconds per statement or lock wait: a hung database ends the pass


def replay_spool(engine: sa.Engine, spool_dir: Path) -> dict[str, int]:
    """Ingest replies (and apply status callbacks) spooled while the database could not
    take them, then delete their files.

    Replies were answered already (from triage alone), so no second answer is sent;
    queue items and alerts happen now. Ingestion is idempotent by SID: a crash between
    commit and delete only means the file is read again and found to be a duplicate.
    A file that fails for any reason but the database itself goes to quarantine/ and
    the pass goes on with the next file.
    """
    summary = {"ingested": 0, "duplicates": 0, "statuses": 0, "quarantined": 0, "waiting": 0}

    def reply(path: Path) -> None:
        sms, received_at = spool.read_reply(path)
        with session_scope(engine, timeout=REPLAY_TIMEOUT) as session:
            outcome = ingest(session, sms.storable(), now=datetime.fromisoformat(received_at),
                             answer_mode="none")
        summary["duplicates" if outcome.duplicate else "ingested"] += 1

    def callback(path: Path) -> None:
        found = spool.read_status(path)
        with session_scope(engine, timeout=REPLAY_TIMEOUT) as session:
            status.apply_callback(session, found.sid, found.status, found.error_code,
                                  datetime.fromisoformat(found.received_at))
        summary["statuses"] += 1

    database_errors = 0
    work = [(path, reply) for path in spool.reply_files(spool_dir)]
    work += [(path, callback) for path in spool.status_files(spool_dir)]
    for index, (path, replay) in enumerate(work):
        try:
            replay(path)
        except FileNotFoundError:
            continue  # another process replayed it meanwhile
        except sa.exc.OperationalError as exc:
            database_errors += 1
            log.warning("spool replay: database error file=%s error=%s", path.name, type(exc).__name__)
            if database_errors >= MAX_DATABASE_ERRORS:
                summary["waiting"] += len(work) - index
                break
            summary["waiting"] += 1
            continue
        except Exception as exc:  # noqa: BLE001 - a file that cannot go in must not block the rest
            spool.quarantine(spool_dir, path, f"{type(exc).__name__}: could not be ingested")
            summary["quarantined"] += 1
            log.error("spool file quarantined file=%s error=%s", path.name, type(exc).__name__)
            continue
        database_errors = 0
        path.unlink(missing_ok=True)
    if any(summary.values()):
        log.info("spool replayed %s", " ".join(f"{k}={v}" for k, v in summary.items()))
    return summary


def reconcile_inbound(engine: sa.Engine, gateway: SmsGateway, *, since: datetime,
                      until: datetime) -> dict[str, int]:
    """Ingest the inbound messages the provider has for a window and we never saw.

    They were never answered, so their answer goes through the outbox. Each SID is
    ingested once, even when the listing repeats it (paging while new messages arrive)
    or another process reconciles the same window: the unique SID decides.
    """
    listed = gateway.list_inbound(since, until)
    unique = {sms.sid: sms for sms in listed if sms.sid}
    ingested = 0
    for sms in unique.values():
        reply = Incoming(sid=sms.sid, from_=sms.from_, to=sms.to, body=sms.body).storable()
        try:
            with session_scope(engine) as session:
                outcome = ingest(session, reply, now=sms.received_at, answer_mode="outbox")
        except sa.exc.OperationalError:
            raise  # the database is down: the next pass lists the same window again
        except Exception as exc:  # noqa: BLE001 - one message must not stop the others
            log.error("reconcile: message not ingested sid=%r error=%s", sms.sid[:64], type(exc).__name__)
            continue
        ingested += not outcome.duplicate
    return {"listed": len(unique), "ingested": ingested}
