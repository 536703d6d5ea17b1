"""How the Twilio account is set up, read through the Twilio API (for `reminders doctor`).

Credentials (the Account resource), the sending number's messaging webhook
(IncomingPhoneNumbers) or the Messaging Service's (Services). Read-only: we tell the
operator what to change, and never change their Twilio configuration ourselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from reminders.sms.twilio import _RebasingHttpClient


@dataclass(frozen=True)
class Finding:
    ok: bool
    detail: str
    fix: str = ""


def client_for(settings: Any, timeout: float = 10.0) -> Client:
    client = Client(settings.twilio_account_sid, settings.twilio_auth_token,
                    http_client=_RebasingHttpClient(settings.twilio_api_base, timeout))
    if settings.twilio_api_base:
        client.edge = None
        client.region = None
    return client


def credentials(client: Client, account_sid: str) -> Finding:
    try:
        account = client.api.v2010.accounts(account_sid).fetch()
    except TwilioRestException as exc:
        if exc.status in (401, 403, 404):
            return Finding(False, f"Twilio refused TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN ({exc.status}, code {exc.code})",
                           "copy the Account SID and Auth Token from the Twilio console (Account > API keys "
                           "& tokens) into TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
        return Finding(False, f"Twilio answered {exc.status} (code {exc.code})", "try again; check status.twilio.com")
    except (TwilioException, OSError) as exc:
        return Finding(False, f"Twilio unreachable: {type(exc).__name__}",
                       "check this machine's outbound HTTPS access to api.twilio.com")
    if account.status != "active":
        return Finding(False, f"the Twilio account is {account.status}", "reactivate it in the Twilio console")
    return Finding(True, "Twilio accepted the credentials (account active)")


def number_webhook(client: Client, number: str, sms_url: str) -> Finding:
    """TWILIO_FROM_NUMBER belongs to the account and posts incoming SMS to `sms_url`."""
    fix = (f"Twilio console > Phone Numbers > Active numbers > {number} > Messaging: "
           f"'A message comes in' = Webhook, {sms_url}, HTTP POST")
    try:
        found = client.incoming_phone_numbers.list(phone_number=number, limit=20)
    except (TwilioException, OSError) as exc:
        return Finding(False, f"could not read the number's settings: {type(exc).__name__}", fix)
    if not found:
        return Finding(False, "TWILIO_FROM_NUMBER is not a number of this Twilio account",
                       "buy or port the number into this account, or correct TWILIO_FROM_NUMBER")
    resource = found[0]
    if (resource.sms_url or "") != sms_url:
        return Finding(False, f"incoming SMS go to {resource.sms_url or 'nowhere'}, not {sms_url}", fix)
    if (resource.sms_method or "POST").upper() != "POST":
        return Finding(False, f"incoming SMS use HTTP {resource.sms_method}, not POST", fix)
    return Finding(True, f"incoming SMS to the number are posted to {sms_url}")


def service_webhook(client: Client, service_sid: str, sms_url: str, status_url: str) -> Finding:
    """TWILIO_MESSAGING_SERVICE_SID posts incoming SMS (and delivery statuses, if set) to us."""
    fix = (f"Twilio console > Messaging > Services > {service_sid} > Integration: 'Send a webhook', "
           f"Request URL {sms_url}, Delivery Status Callback {status_url} (or leave it empty: "
           "every message we send names its own status callback)")
    try:
        service = client.messaging.v1.services(service_sid).fetch()
    except (TwilioException, OSError) as exc:
        return Finding(False, f"could not read the Messaging Service: {type(exc).__name__}", fix)
    if service.use_inbound_webhook_on_number:
        return Finding(False, "the Messaging Service defers incoming SMS to each number's own webhook; "
                              "check every number in its sender pool, or use the service's webhook", fix)
    if (service.inbound_request_url or "") != sms_url:
        return Finding(False, f"incoming SMS go to {service.inbound_request_url or 'nowhere'}, not {sms_url}", fix)
    if service.status_callback and service.status_callback != status_url:
        return Finding(False, f"delivery statuses go to {service.status_callback}, not {status_url}", fix)
    return Finding(True, f"incoming SMS to the Messaging Service are posted to {sms_url}")
