"""The reliability tests reuse the web fixtures (app, clinics, signed-in staff) as they are."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient
from twilio.request_validator import RequestValidator

from reminders.db import session_scope
from reminders.schemas import PatientCreate
from reminders.services.enroll import enroll
from tests.integration.conftest import pg_engine, reminders_env  # noqa: F401
from tests.web.conftest import client, clinics, clock, gateway, login  # noqa: F401

PHONE = "+254712345678"
SMS_URL = "https://reminders.example.org/twilio/sms"
STATUS_URL = "https://reminders.example.org/twilio/status"


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    # A short webhook budget keeps the hang tests quick; the behaviour is the same at 5 s.
    # (2 s was once spent by an ordinary duplicate's store in a full CI run on this shared
    # machine, cause not found: a test of hostile input must not fail on that.)
    return settings.model_copy(update={"webhook_budget_seconds": 3.0})


@pytest.fixture
def patient(engine, clinics, clock):  # type: ignore[no-untyped-def]  # noqa: F811
    with session_scope(engine) as session:
        return enroll(session, PatientCreate(clinic="KIB", phone=PHONE, language="sw", consent=True,
                                             art_start_date=date(2026, 12, 1)), now=clock.now)


class Twilio:
    """Posts what Twilio can post: form fields, signed over exactly those values."""

    def __init__(self, client: TestClient, token: str) -> None:
        self.client, self.token, self.count = client, token, 0

    def fields(self, body: str, *, sid: str | None = None, sender: str = PHONE, **extra: str) -> dict[str, str]:
        self.count += 1
        return {"MessageSid": sid or f"SM{self.count:032d}", "AccountSid": "AC" + "0" * 32,
                "From": sender, "To": "+15005550006", "Body": body, "NumMedia": "0", **extra}

    def post_fields(self, fields: dict[str, str], url: str = SMS_URL):  # type: ignore[no-untyped-def]
        signature = RequestValidator(self.token).compute_signature(url, fields)
        path = url.removeprefix("https://reminders.example.org")
        return self.client.post(path, data=fields, headers={"X-Twilio-Signature": signature})

    def post(self, body: str, **kwargs: str):  # type: ignore[no-untyped-def]
        return self.post_fields(self.fields(body, **kwargs))

    def status(self, sid: str, status: str, error_code: str | None = None):  # type: ignore[no-untyped-def]
        fields = {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC" + "0" * 32}
        if error_code:
            fields["ErrorCode"] = error_code
        return self.post_fields(fields, STATUS_URL)


@pytest.fixture
def twilio(client, settings) -> Twilio:  # type: ignore[no-untyped-def]  # noqa: F811
    return Twilio(client, settings.twilio_auth_token)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts TCP connections and never says a word (a frozen server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()
