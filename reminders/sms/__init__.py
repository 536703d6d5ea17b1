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
    "gateway_from_settings",
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


def gateway_from_settings(settings: Any) -> SmsGateway:
    """The gateway for `reminders.config.Settings` (REMINDERS_SMS_GATEWAY, TWILIO_*,
    REMINDERS_TWILIO_API_BASE); settings are read by attribute, not imported."""
    return build_gateway(
        settings.gateway,
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token,
        from_number=settings.twilio_from_number,
        messaging_service_sid=settings.twilio_messaging_service_sid,
        api_base=settings.twilio_api_base,
    )
