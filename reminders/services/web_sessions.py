"""Server-side sessions for the staff pages (OWASP ASVS: 128+ bit tokens, renewed at
login, idle and absolute timeouts, logout and disabling a user end them).

The browser holds a random token; the table holds its SHA-256, the staff member, when it
began and when it was last used. Time is an argument, like everywhere else.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from reminders.models import Staff, WebSession

IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
# last_seen_at is written at most this often: a queue that polls every few seconds
# should not turn every poll into a write.
TOUCH_EVERY = timedelta(seconds=60)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(session: Session, staff: Staff, now: datetime, *, replacing: str | None = None) -> str:
    """A new session for `staff`; returns the token for the cookie. A token the browser
    already held is ended first (a fresh token at every login: no session fixation)."""
    if replacing:
        end(session, replacing)
    purge_expired(session, now)
    token = secrets.token_urlsafe(32)  # 256 bits
    session.add(WebSession(token_hash=_hash(token), staff_id=staff.id, created_at=now,
                           last_seen_at=now))
    session.flush()
    return token


def lookup(session: Session, token: str | None, now: datetime) -> Staff | None:
    """The signed-in staff member for `token`, or None (unknown, timed out, or disabled).
    A timed-out session or a disabled user's session is deleted on sight."""
    if not token:
        return None
    row = session.exec(select(WebSession).where(WebSession.token_hash == _hash(token))).first()
    if row is None:
        return None
    staff = session.get(Staff, row.staff_id)
    expired = (now - row.last_seen_at > IDLE_TIMEOUT) or (now - row.created_at > ABSOLUTE_TIMEOUT)
    if expired or staff is None or not staff.active:
        if staff is not None and not staff.active:
            end_all(session, staff.id)
        else:
            session.delete(row)
        session.flush()
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        session.add(row)
    return staff


def end(session: Session, token: str) -> None:
    """Log out: the token stops working at once, in every process."""
    session.execute(sa.delete(WebSession).where(WebSession.token_hash == _hash(token)))  # type: ignore[arg-type]


def end_all(session: Session, staff_id: int) -> int:
    """End every session of a staff member (call it when an account is disabled)."""
    result = session.execute(sa.delete(WebSession).where(WebSession.staff_id == staff_id))  # type: ignore[arg-type]
    return result.rowcount or 0


def purge_expired(session: Session, now: datetime) -> int:
    """Delete sessions past either timeout (run at each sign-in: the table stays small)."""
    result = session.execute(sa.delete(WebSession).where(  # type: ignore[arg-type]
        sa.or_(WebSession.last_seen_at < now - IDLE_TIMEOUT, WebSession.created_at < now - ABSOLUTE_TIMEOUT)))
    return result.rowcount or 0
