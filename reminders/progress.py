"""Progress of a long pass on a terminal: one line on stderr, rewritten in place as counts
grow ("dispatch: 1,500 check-ins queued, 1,000 sent"). Silent when stderr is not a
terminal (cron, a container's log), where the pass's JSON summary is what is read."""

from __future__ import annotations

import sys
import time
from typing import TextIO

# Rewriting the line more often than this only costs the pass time.
INTERVAL_SECONDS = 0.2


class TerminalProgress:
    """A `progress(what, n)` callback for the services: adds `n` to the count of `what`."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty()
        self.counts: dict[str, int] = {}
        self.shown_at = 0.0

    def __call__(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n
        if self.enabled and time.monotonic() - self.shown_at >= INTERVAL_SECONDS:
            self._show()

    def _show(self) -> None:
        self.shown_at = time.monotonic()
        counts = ", ".join(f"{count:,} {what}" for what, count in self.counts.items())
        self.stream.write(f"\r{self.label}: {counts}\x1b[K")  # \x1b[K: clear what is left of a longer line
        self.stream.flush()

    def __enter__(self) -> "TerminalProgress":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled and self.counts:
            self._show()
            self.stream.write("\n")
            self.stream.flush()


def no_progress(what: str, n: int = 1) -> None:
    """The services' default: nobody is watching."""
