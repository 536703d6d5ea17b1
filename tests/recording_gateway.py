"""A stand-in for the SMS provider in service tests: records what it was asked, and fails
the way the real gateway reports failures (SendError kinds). The real twilio client is
tested against tests/fake_twilio.py in tests/integration/."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from reminders.sms.base import InboundSms, SendError, SentSms


@dataclass
class Sent:
    to: str
    body: str
    sid: str
    status_callback: str | None


@dataclass
class RecordingGateway:
    name: str = "recording"
    sent: list[Sent] = field(default_factory=list)
    failures: dict[str, SendError] = field(default_factory=dict)  # by phone number
    provider_has: list[Sent] = field(default_factory=list)  # what find_sent can find
    inbound: list[InboundSms] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, to: str, body: str, *, status_callback: str | None = None) -> SentSms:
        if to in self.failures:
            raise self.failures[to]
        record = Sent(to, body, "SM" + uuid.uuid4().hex, status_callback)
        with self.lock:
            self.sent.append(record)
            self.provider_has.append(record)
        return SentSms(sid=record.sid, status="queued")

    def find_sent(self, to: str, body: str, since: datetime) -> SentSms | None:
        for record in self.provider_has:
            if record.to == to and record.body == body:
                return SentSms(sid=record.sid, status="sent")
        return None

    def list_inbound(self, since: datetime, until: datetime) -> list[InboundSms]:
        return [m for m in self.inbound if since <= m.received_at <= until]

    def to(self, phone: str) -> list[Sent]:
        return [s for s in self.sent if s.to == phone]
