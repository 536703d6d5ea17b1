"""The SMS gateway interface: what services need from a provider, and nothing more.

Two implementations: `LocalGateway` (no account: the default) and `TwilioGateway`.
Services branch on `GatewayError.kind` (an `ErrorKind` value), never on Twilio codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from reminders.delivery import ErrorKind


@dataclass(frozen=True)
class SentSms:
    """A message the provider accepted."""

    sid: str
    status: str  # provider status right after creation: "queued", "accepted", "sent" (local)
    segments: int | None = None


@dataclass(frozen=True)
class InboundSms:
    """A message a patient sent us, as the provider lists it (for reconciliation)."""

    sid: str
    from_: str
    to: str
    body: str
    received_at: datetime  # UTC, aware


class GatewayError(Exception):
    """A provider call failed.

    kind: an ErrorKind value ("opted_out", "invalid_number", "permanent", "transient",
        "unknown"); "unknown" means ambiguous: the request may have reached the provider.
    code: the provider's error code when known (Twilio's 21610, 20429, ...).
    status: the HTTP status when known.
    retry_after: seconds, from a Retry-After header when the provider sent one.
    """

    def __init__(
        self,
        kind: ErrorKind | str,
        message: str = "",
        *,
        code: int | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.kind = ErrorKind(kind)
        self.code = code
        self.status = status
        self.retry_after = retry_after
        super().__init__(message or self.kind.value)

    def __str__(self) -> str:
        details = ", ".join(
            f"{name}={value}"
            for name, value in (("code", self.code), ("status", self.status))
            if value is not None
        )
        text = f"{self.kind.value}: {self.args[0]}"
        return f"{text} ({details})" if details else text


class SendError(GatewayError):
    """Sending one message failed; `kind` says whether and when to try again.

    "unknown": the message may or may not have been sent (a timeout after the request
    left, a reset connection): record the check-in as unknown rather than risk sending
    it twice.
    """


@runtime_checkable
class SmsGateway(Protocol):
    name: str

    def send(self, to: str, body: str, *, status_callback: str | None = None) -> SentSms:
        """Send one SMS; raises SendError."""
        ...

    def list_inbound(self, since: datetime, until: datetime) -> list[InboundSms]:
        """Inbound messages received in [since, until), oldest first; raises GatewayError."""
        ...

    def find_sent(self, to: str, body: str, since: datetime) -> SentSms | None:
        """An outbound message with this body to this number created since `since`, if any.

        Used to reconcile an ambiguous send before sending again; raises GatewayError.
        """
        ...
