"""Sign-in rate limiting: at most 10 failed attempts per account and client address in
15 minutes (OWASP ASVS: slow guessing down without letting anyone lock a nurse out
from elsewhere). In memory, per process: several web processes multiply the limit."""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from datetime import datetime, timedelta

MAX_FAILURES = 10
WINDOW = timedelta(minutes=15)


class LoginThrottle:
    def __init__(self, max_failures: int = MAX_FAILURES, window: timedelta = WINDOW) -> None:
        self.max_failures, self.window = max_failures, window
        self.failures: dict[tuple[str, str], deque[datetime]] = defaultdict(deque)
        self.lock = threading.Lock()

    def retry_after(self, key: tuple[str, str], now: datetime) -> int | None:
        """Seconds to wait before the next attempt for `key`, or None if it may try now."""
        with self.lock:
            attempts = self.failures.get(key)
            if not attempts:
                return None
            while attempts and attempts[0] <= now - self.window:
                attempts.popleft()
            if len(attempts) < self.max_failures:
                return None
            return max(1, int((attempts[0] + self.window - now).total_seconds()))

    def failed(self, key: tuple[str, str], now: datetime) -> None:
        with self.lock:
            self.failures[key].append(now)

    def succeeded(self, key: tuple[str, str]) -> None:
        with self.lock:
            self.failures.pop(key, None)
