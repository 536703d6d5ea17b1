"""The default gateway when no Twilio credentials are set: nothing leaves the machine.

Our messages table records outbound messages, and the phone simulator page shows them;
this gateway only hands out SIDs. Its messages are "sent" at once and, for the caller
that wants to simulate the rest of the life of a message, "delivered" at the end.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from reminders.sms.base import InboundSms, SentSms


class LocalGateway:
    name = "local"
    # The final status a real provider would report later through a status callback.
    simulated_final_status = "delivered"

    def send(self, to: str, body: str, *, status_callback: str | None = None) -> SentSms:
        return SentSms(sid="SMlocal" + uuid.uuid4().hex, status="sent", segments=None)

    def list_inbound(self, since: datetime, until: datetime) -> list[InboundSms]:
        return []  # inbound messages only come in through the simulator's webhook calls

    def find_sent(self, to: str, body: str, since: datetime) -> SentSms | None:
        return None  # a local send never fails ambiguously

    def close(self) -> None:
        pass
