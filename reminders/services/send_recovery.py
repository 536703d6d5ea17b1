"""Settling sends nobody finished recording, without holding a transaction open while the
provider is asked.

Each step is: take the rows over in one short transaction (claim token, lease), commit;
ask the provider with no transaction open, one message at a time; record each answer in
its own short transaction, guarded by the token. A failing lookup leaves only its own
message for a later pass.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa

from reminders.db import session_scope
from reminders.models import Message
from reminders.services import audit
from reminders.services.outbox_record import LOOKUP_SPACING, record_found
from reminders.sms.base import GatewayError, SentSms, SmsGateway
from reminders.store.claims import take_over_stale_sending, take_unknown_for_lookup

log = logging.getLogger(__name__)

MAX_LOOKUPS = 5  # an unknown send is looked up this many times, then left to staff


def recover_stale(engine: sa.Engine, gateway: SmsGateway, *, now: datetime, token: str,
                  worker: str, lease: timedelta, counts: dict[str, int], limit: int = 500) -> None:
    """Messages left `sending` by a worker whose lease ran out (it died between sending
    and recording): found at the provider -> recorded with its SID, never re-sent; not
    found -> `pending` again (sent once more by this pass)."""
    with session_scope(engine) as session:
        taken = [(m.id, m.phone, m.body, m.claimed_at or m.created_at)
                 for m in take_over_stale_sending(session, token, worker, lease, limit)]
    for message_id, phone, body, claimed_at in taken:
        try:
            found = gateway.find_sent(phone, body, claimed_at - timedelta(minutes=1))
        except GatewayError as exc:
            # This message only: its lease runs out again and a later pass asks again.
            counts["lookup_errors"] += 1
            log.warning("recovery lookup failed message=%s kind=%s", message_id, exc.kind)
            continue
        with session_scope(engine) as session:
            message = session.get(Message, message_id, with_for_update=True)
            if message is None or message.claim_token != token or message.status != "sending":
                continue  # someone else settled it meanwhile
            if found is not None:
                record_found(session, message, found, now)
                counts["recovered"] += 1
            else:
                message.status, message.claim_token, message.lease_until = "pending", None, None
                message.claimed_at = message.claimed_by = None
                session.add(message)
                counts["requeued"] += 1
            audit.record(session, "system", "outbox.recover", "message", message.id,
                         at=now, found=found is not None)


def lookup_unknown(engine: sa.Engine, gateway: SmsGateway, *, now: datetime,
                   counts: dict[str, int], limit: int = 100) -> None:
    """Ambiguous sends (a timeout after the request left) looked up at the provider:
    found -> recorded with their SID (and their kept callbacks applied); not found -> they
    stay `unknown` (never re-sent) and staff see them."""
    with session_scope(engine) as session:
        due = [(m.id, m.phone, m.body, m.claimed_at or m.created_at)
               for m in take_unknown_for_lookup(session, now, limit, MAX_LOOKUPS, LOOKUP_SPACING)]
    for message_id, phone, body, claimed_at in due:
        try:
            found: SentSms | None = gateway.find_sent(phone, body, claimed_at - timedelta(minutes=1))
        except GatewayError as exc:
            counts["lookup_errors"] += 1
            log.warning("unknown-send lookup failed message=%s kind=%s", message_id, exc.kind)
            continue
        if found is None:
            continue
        with session_scope(engine) as session:
            message = session.get(Message, message_id, with_for_update=True)
            if message is None or message.status != "unknown":
                continue
            record_found(session, message, found, now)
            audit.record(session, "system", "outbox.found_unknown", "message", message.id, at=now)
            counts["found_unknown"] += 1
