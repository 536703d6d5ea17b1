"""Claims: a batch of rows taken by one process, atomically, on SQLite and PostgreSQL.

PostgreSQL: `FOR UPDATE SKIP LOCKED` in the same transaction as the update, so several
workers take disjoint batches without waiting on each other. SQLite: every transaction
starts with BEGIN IMMEDIATE (see db.py), so the select-then-update runs under the one
write lock and cannot interleave with another claimer.

Leases are timed by the database clock (`db_now`), never by a pass's `now`: `now` is the
business instant (what is due, quiet hours) and may be simulated (`dispatch --now`), but
whether another worker's claim has run out must be judged on one clock all processes
share. A claim carries a token (fencing): only its holder may mark a row `sending`, in one
guarded UPDATE, so a worker whose claim was taken over never sends.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from reminders.models import CheckIn, Message, Patient

# A claimed check-in: a row with id, patient_id, day, due_at and attempts.
ClaimedCheckin = sa.Row

# A patient who texted in the last 10 minutes is in the middle of an exchange.
EXCHANGE_WINDOW = timedelta(minutes=10)


def db_now(session: Session) -> datetime:
    """The database's clock, read in this session's transaction (aware UTC)."""
    if session.get_bind().dialect.name == "postgresql":
        return session.execute(sa.text("SELECT clock_timestamp()")).scalar_one().astimezone(timezone.utc)
    text = session.execute(sa.text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')")).scalar_one()
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


# --- check-ins ---------------------------------------------------------------------------


def _can_be_sent(now: datetime) -> list[sa.ColumnElement[bool]]:
    return [Patient.status == "active",
            sa.or_(Patient.last_inbound_at.is_(None),  # type: ignore[union-attr]
                   Patient.last_inbound_at < now - EXCHANGE_WINDOW)]


def due_candidates(now: datetime, limit: int,
                   passed_over: Collection[int] = ()) -> sa.Select[tuple[int]]:
    """Patients of the oldest due check-ins (a patient may appear more than once), less
    those this pass already found locked by another process."""
    statement = (
        sa.select(CheckIn.patient_id)
        .join(Patient, Patient.id == CheckIn.patient_id)
        .where(CheckIn.status == "planned", CheckIn.due_at <= now, *_can_be_sent(now))
    )
    if passed_over:
        statement = statement.where(CheckIn.patient_id.not_in(list(passed_over)))  # type: ignore[attr-defined]
    return statement.order_by(CheckIn.due_at).limit(limit)  # type: ignore[arg-type]


def checkins_of(patient_ids: list[int]) -> sa.Select[tuple[int, int, datetime, str]]:
    return (sa.select(CheckIn.id, CheckIn.patient_id, CheckIn.due_at, CheckIn.status)
            .where(CheckIn.patient_id.in_(patient_ids)))  # type: ignore[attr-defined]


def claim_due_checkins(session: Session, now: datetime, limit: int) -> list[ClaimedCheckin]:
    """The newest due check-in of up to `limit` active patients (see `claim_newest_due`)."""
    return claim_newest_due(session, now, limit)[0]


def claim_newest_due(session: Session, now: datetime, limit: int,
                     passed_over: Collection[int] = ()) -> tuple[list[ClaimedCheckin], int, set[int]]:
    """The newest due check-in of up to `limit` active patients, locked for this
    transaction; how many older due check-ins of theirs were marked skipped (after an
    outage only the newest is sent); and the candidate patients another process held
    locked (the caller passes them over next time, so a head of busy patients cannot end
    its pass while others are due, then waits for them: `claim_newest_due_waiting`).

    Cost does not grow with the number of patients: the oldest due rows come from the
    (status, due_at) index, their patients are locked (SKIP LOCKED: another worker has
    them), then only those patients' due rows are read (patient_id index).
    """
    # Lock the patients, not just the rows: another worker holding one of this patient's
    # rows must not make us believe an older row is the newest. FOR NO KEY UPDATE
    # (key_share): it excludes other claimers, triage and STOP, yet not a reply being
    # stored for the patient (its foreign key takes FOR KEY SHARE, which FOR UPDATE would
    # make wait for this whole batch: the webhook's time budget spent, the reply spooled).
    candidates = set(session.execute(due_candidates(now, limit, passed_over)).scalars())
    if not candidates:
        return [], 0, set()
    locked = session.execute(
        sa.select(Patient.id)
        .where(Patient.id.in_(candidates), *_can_be_sent(now))  # type: ignore[union-attr]
        .with_for_update(skip_locked=True, key_share=True)
    ).scalars().all()
    claimed, superseded = _newest_of(session, now, list(locked))
    return claimed, superseded, candidates - set(locked)


def still_due(session: Session, now: datetime, patient_ids: Collection[int]) -> set[int]:
    """Those of `patient_ids` who still have a due check-in nobody claimed (most patients a
    pass found locked were being claimed by another dispatcher, and are done by now)."""
    found: set[int] = set()
    ids = sorted(patient_ids)
    for first in range(0, len(ids), 1000):
        found.update(session.execute(
            sa.select(CheckIn.patient_id).distinct()
            .join(Patient, Patient.id == CheckIn.patient_id)
            .where(CheckIn.patient_id.in_(ids[first:first + 1000]),  # type: ignore[attr-defined]
                   CheckIn.status == "planned", CheckIn.due_at <= now, *_can_be_sent(now))
        ).scalars())
    return found


def claim_newest_due_waiting(session: Session, now: datetime, patient_id: int) -> tuple[list[ClaimedCheckin], int]:
    """`claim_newest_due` for one patient another process held locked: wait for its lock
    instead of skipping it (bound the wait with `session_scope(engine, timeout=...)`). A
    triage pass or a webhook holds a patient only briefly; skipping them at the end of a
    pass would leave their due check-in to be superseded by the next one (a missed
    check-in, not a late one).

    One patient per transaction: waiting while holding other patients' locks could
    deadlock with a triage batch that locks patients in another order.
    """
    locked = session.execute(
        sa.select(Patient.id)
        .where(Patient.id == patient_id, *_can_be_sent(now))
        .with_for_update(key_share=True)
    ).scalars().all()
    return _newest_of(session, now, list(locked))


def _newest_of(session: Session, now: datetime, locked: list[int]) -> tuple[list[ClaimedCheckin], int]:
    """For patients this transaction holds locked: their newest due check-in (locked), the
    older due ones marked skipped, and how many those were."""
    if not locked:
        return [], 0
    # All their check-ins by the patient_id index, sorted out here: with a filter on status
    # and due_at too, SQLite prefers the (status, due_at) index and reads every due row.
    rows = session.execute(checkins_of(locked)).all()
    due = sorted((row for row in rows if row.status == "planned" and row.due_at <= now),
                 key=lambda row: (row.patient_id, row.due_at))
    newest_ids = {row.patient_id: row.id for row in due}  # the last, newest, wins
    older = [row.id for row in due if newest_ids[row.patient_id] != row.id]
    # By primary key only (a status condition would again lead SQLite to the wrong index);
    # the patients are locked, so these rows are still planned.
    if older:
        session.execute(sa.update(CheckIn).where(CheckIn.id.in_(older))  # type: ignore[union-attr]
                        .values(status="skipped").execution_options(synchronize_session=False))
    if not newest_ids:
        return [], len(older)
    # Rows, not ORM objects: a pass claims thousands, and only these columns are used.
    newest = session.execute(
        sa.select(CheckIn.id, CheckIn.patient_id, CheckIn.day, CheckIn.due_at, CheckIn.attempts)
        .where(CheckIn.id.in_(newest_ids.values()))  # type: ignore[union-attr]
        .with_for_update(key_share=True)
    ).all()
    return sorted(newest, key=lambda c: c.due_at), len(older)


# --- outbound messages -------------------------------------------------------------------


CLAIMED_COLUMNS = (Message.id, Message.patient_id, Message.clinic_id, Message.checkin_id,
                   Message.phone, Message.body, Message.priority)


def claim_pending_messages(session: Session, now: datetime, limit: int, worker: str,
                           token: str, lease: timedelta) -> list[sa.Row[Any]]:
    """Outbound messages ready to send, marked `claimed` with this pass's token; returns
    their (id, patient_id, clinic_id, checkin_id, phone, body, priority), most urgent first.

    Ready: `pending`, past `send_after` and `next_attempt_at` (business time), or
    `claimed` by a worker whose lease ran out (database time) before it marked them
    `sending`: nothing can have gone out for those. Most urgent first, then oldest.
    One UPDATE ... RETURNING per step (the rows are picked, locked and claimed by the
    same statement), not an ORM load and flush: a pass claims thousands.
    """
    clock = db_now(session)
    session.execute(
        sa.update(Message)
        .where(Message.id.in_(  # type: ignore[union-attr]
            sa.select(Message.id)
            .where(Message.status == "claimed", Message.lease_until < clock)  # type: ignore[operator]
            .with_for_update(skip_locked=True)
            .scalar_subquery()))
        .values(status="pending", claim_token=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    ready = (
        sa.select(Message.id)
        .where(Message.status == "pending", Message.direction == "outbound",
               sa.or_(Message.send_after.is_(None), Message.send_after <= now),  # type: ignore[union-attr]
               sa.or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= now))  # type: ignore[union-attr]
        .order_by(Message.priority, Message.id)  # type: ignore[arg-type]
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = session.execute(
        sa.update(Message)
        .where(Message.id.in_(ready.scalar_subquery()))  # type: ignore[union-attr]
        .values(status="claimed", claim_token=token, claimed_at=clock, claimed_by=worker,
                lease_until=clock + lease)
        .returning(*CLAIMED_COLUMNS)
        .execution_options(synchronize_session=False)
    ).all()
    return sorted(rows, key=lambda row: (row.priority, row.id))


def mark_sending(session: Session, message_ids: list[int], token: str,
                 lease: timedelta) -> set[int]:
    """The fence: `claimed` -> `sending`, in one guarded UPDATE, only for the rows this
    token still holds with a live lease. Returns those ids; any other was taken over (or
    its lease ran out): do not send it. On PostgreSQL the database clock is read by the
    UPDATE itself (`clock_timestamp()`), so the fence is one round trip."""
    if not message_ids:
        return set()
    clock = _clock(session)
    result = session.execute(
        sa.update(Message)
        .where(Message.id.in_(message_ids), Message.claim_token == token,  # type: ignore[union-attr]
               Message.status == "claimed", Message.lease_until > clock)  # type: ignore[operator]
        .values(status="sending", lease_until=clock + lease, attempts=Message.attempts + 1)
        .returning(Message.id)
        .execution_options(synchronize_session=False)
    )
    return set(result.scalars().all())


def _clock(session: Session) -> Any:
    """The database clock as an SQL expression (PostgreSQL) or a value read from it."""
    if session.get_bind().dialect.name == "postgresql":
        return sa.func.clock_timestamp(type_=sa.DateTime(timezone=True))
    return db_now(session)


def renew_leases(session: Session, token: str, lease: timedelta) -> int:
    """The heartbeat: a live pass keeps its claims (claimed or sending) from running out."""
    clock = db_now(session)
    result = session.execute(
        sa.update(Message)
        .where(Message.claim_token == token, Message.status.in_(("claimed", "sending")))  # type: ignore[attr-defined]
        .values(lease_until=clock + lease)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def take_over_stale_sending(session: Session, token: str, worker: str, lease: timedelta,
                            limit: int) -> list[Message]:
    """Messages left `sending` by a worker whose lease ran out (it died mid-send): they
    become this pass's, to be settled by asking the provider outside any transaction."""
    clock = db_now(session)
    statement = (
        select(Message)
        .where(Message.status == "sending",
               sa.or_(Message.lease_until.is_(None), Message.lease_until < clock))  # type: ignore[union-attr,operator]
        .order_by(Message.id)  # type: ignore[arg-type]
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    messages = list(session.exec(statement))
    for message in messages:
        message.claim_token, message.claimed_by = token, worker
        message.lease_until = clock + lease
    session.flush()
    return messages


def take_unknown_for_lookup(session: Session, now: datetime, limit: int, max_lookups: int,
                            spacing: timedelta) -> list[Message]:
    """Ambiguous sends (`unknown`) due for another look at the provider; the next look is
    pushed back here, so concurrent passes do not ask twice."""
    statement = (
        select(Message)
        .where(Message.status == "unknown", Message.direction == "outbound",
               Message.lookups < max_lookups,
               sa.or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= now))  # type: ignore[union-attr]
        .order_by(Message.id)  # type: ignore[arg-type]
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    messages = list(session.exec(statement))
    for message in messages:
        message.lookups += 1
        message.next_attempt_at = now + spacing * (2 ** message.lookups)
    session.flush()
    return messages
