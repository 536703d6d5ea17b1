"""Sign-in rate limiting: at most 10 failed attempts per account and client address in
15 minutes (OWASP ASVS: slow guessing down without letting anyone lock a nurse out
from elsewhere).

Kept in the database (table `login_failure`), so every web process counts the same
failures and memory does not grow with the number of attempts: one small row per failed
attempt, keyed by a hash of (username, address), pruned once older than the window.
The client address is the peer's, or the one a trusted proxy forwarded
(REMINDERS_TRUSTED_PROXIES, applied in app.py): a forged X-Forwarded-For from anyone
else changes nothing.

Call these methods outside an open transaction of your own on SQLite (e.g. after
`session.commit()`): a session that has run a statement holds SQLite's write lock.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta

import sqlalchemy as sa

from reminders.models import LoginFailure

log = logging.getLogger(__name__)

MAX_FAILURES = 10
WINDOW = timedelta(minutes=15)


def _digest(key: tuple[str, str]) -> str:
    # Fixed size whatever the username's length, and no email in the table.
    return hashlib.sha256("\x00".join(key).encode("utf-8", "surrogatepass")).hexdigest()


class LoginThrottle:
    def __init__(self, engine: sa.Engine, max_failures: int = MAX_FAILURES,
                 window: timedelta = WINDOW) -> None:
        self.engine, self.max_failures, self.window = engine, max_failures, window

    def retry_after(self, key: tuple[str, str], now: datetime) -> int | None:
        """Seconds to wait before the next attempt for `key`, or None if it may try now."""
        recent = (
            sa.select(LoginFailure.at)
            .where(LoginFailure.key == _digest(key), LoginFailure.at > now - self.window)
            .order_by(LoginFailure.at.desc())  # type: ignore[attr-defined]
            .limit(self.max_failures)
        )
        with self.engine.begin() as connection:
            times = connection.execute(recent).scalars().all()
        if len(times) < self.max_failures:
            return None
        oldest = min(times)  # of the last max_failures: when it leaves the window, one may try
        return max(1, int((oldest + self.window - now).total_seconds()))

    def failed(self, key: tuple[str, str], now: datetime) -> None:
        with self.engine.begin() as connection:
            connection.execute(sa.insert(LoginFailure).values(key=_digest(key), at=now))
            # Prune as we go: the table holds at most one window of failures.
            connection.execute(sa.delete(LoginFailure).where(LoginFailure.at <= now - self.window))

    def succeeded(self, key: tuple[str, str]) -> None:
        try:
            with self.engine.begin() as connection:
                connection.execute(sa.delete(LoginFailure).where(LoginFailure.key == _digest(key)))
        except sa.exc.OperationalError:
            # Not worth failing a good sign-in for: the failures expire with the window anyway.
            log.warning("login throttle: could not clear failures after a sign-in")
