"""SMS gateways: the interface services use, and the two implementations behind it."""

from __future__ import annotations

from typing import Any

from reminders.sms.base import GatewayError, InboundSms, SendError, SentSms, SmsGateway
from reminders.sms.local import LocalGateway

__all__ = [
    "GatewayError",
    "InboundSms",
    "LocalGateway",
    "SendError",
    "SentSms",
    "SmsGateway",
    "build_gateway",
]


def build_gateway(
    kind: str,
    *,
    account_sid: str | None = None,
    auth_token: str | None = None,
    from_number: str | None = None,
    messaging_service_sid: str | None = None,
    api_base: str | None = None,
    **options: Any,
) -> SmsGateway:
    """The gateway named by REMINDERS_SMS_GATEWAY ("local" or "twilio").

    `options` go to TwilioGateway as they are (timeout, max_attempts, ...).
    """
    if kind == "local":
        return LocalGateway()
    if kind == "twilio":
        from reminders.sms.twilio import TwilioGateway  # imports the twilio library

        if not account_sid or not auth_token:
            raise ValueError("the twilio gateway needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
        if not (from_number or messaging_service_sid):
            raise ValueError(
                "the twilio gateway needs TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID"
            )
        return TwilioGateway(
            account_sid,
            auth_token,
            from_number=from_number,
            messaging_service_sid=messaging_service_sid,
            api_base=api_base,
            **options,
        )
    raise ValueError(f"unknown SMS gateway {kind!r}: expected 'local' or 'twilio'")
