"""Replies that did not reach the database the normal way: the spool and reconciliation."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import select

from reminders import spool
from reminders.db import session_scope
from reminders.models import Message
from reminders.services.inbound import Incoming, ingest
from reminders.sms.base import SmsGateway

log = logging.getLogger(__name__)


def replay_spool(engine: sa.Engine, spool_dir: Path) -> dict[str, int]:
    """Ingest replies the webhook spooled while the database was down, then delete them.

    They were answered already (from triage alone), so no second answer is sent; queue
    items and alerts happen now. Ingestion is idempotent by SID: a crash between commit
    and delete only means the file is read again and found to be a duplicate.
    """
    ingested = duplicates = 0
    for path, sms, received_at in spool.pending(spool_dir):
        with session_scope(engine) as session:
            outcome = ingest(session, sms, now=datetime.fromisoformat(received_at), answer_mode="none")
        path.unlink()
        duplicates += outcome.duplicate
        ingested += not outcome.duplicate
    if ingested or duplicates:
        log.info("spool replayed ingested=%s duplicates=%s", ingested, duplicates)
    return {"ingested": ingested, "duplicates": duplicates}


def reconcile_inbound(engine: sa.Engine, gateway: SmsGateway, *, since: datetime,
                      until: datetime) -> dict[str, int]:
    """Ingest the inbound messages the provider has for a window and we never saw.

    They were never answered, so their answer goes through the outbox.
    """
    listed = gateway.list_inbound(since, until)
    ingested = 0
    for sms in listed:
        with session_scope(engine) as session:
            seen = session.exec(select(Message.id).where(Message.provider_sid == sms.sid)).first()
            if seen is not None:
                continue
            ingest(session, Incoming(sid=sms.sid, from_=sms.from_, to=sms.to, body=sms.body),
                   now=sms.received_at, answer_mode="outbox")
            ingested += 1
    return {"listed": len(listed), "ingested": ingested}
