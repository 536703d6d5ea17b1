"""A Twilio-compatible fake server, for the real `twilio` client to talk HTTP to.

It stands where the real thing cannot (no account, no network in tests), records what
it was asked, and fails the way Twilio fails (STYLE.md, habit 9). It serves, for one
account SID and auth token (HTTP Basic auth, 401 with error 20003 otherwise):

    POST /2010-04-01/Accounts/{AccountSid}/Messages.json        create (201)
    GET  /2010-04-01/Accounts/{AccountSid}/Messages.json        list, filters and paging
    GET  /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json  fetch

Like Twilio: errors are {"code", "message", "more_info", "status"}; a new message is
"queued" ("accepted" with a Messaging Service, num_segments "0" and no From yet) with
date_sent null until it is sent; lists are newest first, with next_page_uri/PageToken
paging; DateSent filters accept whole days (DateSent> "on or after midnight on D",
DateSent< "on or before midnight on D", as Twilio documents) or exact times. Twilio's magic test numbers are refused as Twilio's test credentials refuse
them (+15005550001 invalid, +15005550002 unroutable, +15005550003 no permission for the
region, +15005550004 opted out, +15005550009 not a mobile).

Test controls: fail_next, delay_next, reject_number, add_inbound, set_status,
status_callback_payloads (+ sign / signed_status_callback), and the records `requests`,
`create_requests`, `messages`, `sent`, `inbound`.

    with FakeTwilio() as fake:            # or the `fake_twilio` pytest fixture
        gateway = TwilioGateway(fake.account_sid, fake.auth_token, from_number="+15005550006",
                                api_base=fake.base_url)
"""

from __future__ import annotations

import base64
import json
import math
import re
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from twilio.request_validator import RequestValidator

API_VERSION = "2010-04-01"
DEFAULT_FROM = "+15005550006"  # Twilio's magic "valid" sender for test credentials

_MESSAGES = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Messages\.json$")
_MESSAGE = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Messages/(?P<sid>[^/]+)\.json$")
_PHONE = re.compile(r"^(?:[a-z]+:)?\+?[0-9]{6,15}$")
_SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")
_ACCOUNT = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)\.json$")
_NUMBERS = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/IncomingPhoneNumbers\.json$")
_SERVICE = re.compile(r"^/v1/Services/(?P<sid>[^/]+)$")

ERROR_MESSAGES = {
    20003: "Authenticate",
    20004: "Method not allowed",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    20503: "Service Unavailable",
    21211: "Invalid 'To' Phone Number",
    21408: "Permission to send an SMS has not been enabled for the region indicated by the 'To' number",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21611: "This 'From' number has exceeded the maximum number of queued messages",
    21612: "The 'To' phone number is not currently reachable using the 'From' phone number via SMS.",
    21614: "'To' number is not a valid mobile number",
    21617: "The concatenated message body exceeds the 1600 character limit.",
    21635: "'To' number cannot be a landline.",
    21701: "The Messaging Service Sid is invalid.",
}

MAGIC_NUMBERS = {  # Twilio's test-credential numbers and the errors they trigger
    "+15005550001": 21211,
    "+15005550002": 21612,
    "+15005550003": 21408,
    "+15005550004": 21610,
    "+15005550009": 21614,
}

# GSM 03.38: the basic set costs one septet, the extension set two.
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€\f")


def segment_count(body: str) -> int:
    """SMS segments for a body: GSM-7 (160, or 153 per part) else UCS-2 (70, or 67)."""
    if all(char in _GSM_BASIC or char in _GSM_EXTENDED for char in body):
        units = sum(2 if char in _GSM_EXTENDED else 1 for char in body)
        single, part = 160, 153
    else:
        units = len(body.encode("utf-16-le")) // 2
        single, part = 70, 67
    return 1 if units <= single else math.ceil(units / part)


def sign(url: str, params: dict[str, Any], auth_token: str) -> str:
    """The X-Twilio-Signature Twilio would send for a POST of `params` to `url`."""
    return RequestValidator(auth_token).compute_signature(url, params)


def _rfc2822(moment: datetime | None) -> str | None:
    return format_datetime(moment.replace(microsecond=0)) if moment else None


def _error(code: int, status: int, message: str | None = None) -> dict[str, Any]:
    return {
        "code": code,
        "message": message or ERROR_MESSAGES.get(code, "Error"),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _first(fields: dict[str, list[str]], name: str) -> str | None:
    values = fields.get(name)
    return values[0] if values else None


@dataclass
class FakeMessage:
    """One message as the fake stores it; `resource()` is its JSON as Twilio shows it."""

    sid: str
    account_sid: str
    to: str
    from_: str | None
    body: str
    direction: str  # "outbound-api" or "inbound"
    status: str
    date_created: datetime
    date_updated: datetime
    date_sent: datetime | None = None
    messaging_service_sid: str | None = None
    status_callback: str | None = None
    num_segments: str = "1"
    error_code: int | None = None
    error_message: str | None = None
    seq: int = 0  # creation order, to break ties between equal timestamps

    def resource(self) -> dict[str, Any]:
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.sid}"
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": self.body,
            "date_created": _rfc2822(self.date_created),
            "date_sent": _rfc2822(self.date_sent),
            "date_updated": _rfc2822(self.date_updated),
            "direction": self.direction,
            "error_code": self.error_code,
            "error_message": self.error_message,
            "from": self.from_,
            "messaging_service_sid": self.messaging_service_sid,
            "num_media": "0",
            "num_segments": self.num_segments,
            "price": None,
            "price_unit": "USD",
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": {"media": f"{uri}/Media.json", "feedback": f"{uri}/Feedback.json"},
            "to": self.to,
            "uri": f"{uri}.json",
        }


@dataclass
class RecordedRequest:
    """One request as the fake received it (before any authentication)."""

    method: str
    path: str
    query: dict[str, list[str]]
    form: dict[str, list[str]]
    headers: dict[str, str]
    kind: str  # "create", "list", "fetch" or "other"
    status: int | None = None  # the HTTP status answered (None if never answered)

    def param(self, name: str) -> str | None:
        """A form field, or else a query parameter (first value)."""
        return _first(self.form, name) or _first(self.query, name)


@dataclass
class _Injection:
    on: str  # "create", "list", "fetch" or "any"
    status: int | None = None  # answer this error status (fail_next)
    code: int | None = None
    retry_after: float | str | None = None
    create: bool = False  # fail_next: create the message anyway, then answer the error
    delay: float = 0.0  # delay_next: seconds before answering
    create_after_delay: bool = False  # delay_next: process the request after the delay

    def matches(self, kind: str) -> bool:
        return self.on == "any" or self.on == kind


@dataclass
class _Answer:
    status: int
    payload: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class FakeTwilio:
    """The fake server. Thread-safe; start() / stop(), or use it as a context manager."""

    def __init__(
        self,
        account_sid: str | None = None,
        auth_token: str | None = None,
        *,
        host: str = "127.0.0.1",
        clock: Callable[[], datetime] | None = None,
        service_sender: str = DEFAULT_FROM,
    ) -> None:
        self.account_sid = account_sid or "AC" + uuid.uuid4().hex
        self.auth_token = auth_token or uuid.uuid4().hex
        self.host = host
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(timezone.utc))
        self.service_sender = service_sender  # the number a Messaging Service sends from
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._requests: list[RecordedRequest] = []
        self._messages: dict[str, FakeMessage] = {}
        self._injections: list[_Injection] = []
        self._rejected: dict[str, tuple[int, int]] = {
            number: (code, 400) for number, code in MAGIC_NUMBERS.items()
        }
        self._seq = 0
        self._numbers: dict[str, dict[str, Any]] = {}  # IncomingPhoneNumbers, by number
        self._services: dict[str, dict[str, Any]] = {}  # Messaging Services, by SID
        self._connections: set[socket.socket] = set()
        self._server: ThreadingHTTPServer | None = None
        self._port: int | None = None
        self._thread: threading.Thread | None = None

    # --- life cycle -----------------------------------------------------------------

    def start(self) -> "FakeTwilio":
        server = _Server((self.host, 0), _Handler)
        server.fake = self
        self._server = server
        self._port = server.server_address[1]
        self._stopping.clear()
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
            name="fake-twilio",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()  # wakes delayed answers
        self._server.shutdown()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:  # idle keep-alive connections would linger
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> "FakeTwilio":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port it listens on (still known after stop(): the address then refuses)."""
        if self._port is None:
            raise RuntimeError("the fake Twilio server was never started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def messages_uri(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"

    # --- records ----------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def create_requests(self) -> list[RecordedRequest]:
        """Every POST to Messages.json, answered or not: the send attempts."""
        return [request for request in self.requests if request.kind == "create"]

    @property
    def messages(self) -> list[FakeMessage]:
        with self._lock:
            return sorted(self._messages.values(), key=lambda message: message.seq)

    @property
    def sent(self) -> list[FakeMessage]:
        """Messages created through the API, in creation order."""
        return [message for message in self.messages if message.direction != "inbound"]

    @property
    def inbound(self) -> list[FakeMessage]:
        return [message for message in self.messages if message.direction == "inbound"]

    def message(self, sid: str) -> FakeMessage:
        with self._lock:
            return self._messages[sid]

    def reset(self) -> None:
        """Forget requests, messages, injections and rejected numbers (not the magic ones)."""
        with self._lock:
            self._requests.clear()
            self._messages.clear()
            self._injections.clear()
            self._rejected = {number: (code, 400) for number, code in MAGIC_NUMBERS.items()}

    # --- test controls ----------------------------------------------------------------

    def fail_next(
        self,
        n: int = 1,
        status: int = 500,
        code: int | None = None,
        retry_after: float | str | None = None,
        *,
        create: bool = False,
        on: str = "create",
    ) -> None:
        """Answer the next `n` matching requests with an error.

        status 429 -> code 20429, 500 -> 20500, 503 -> 20503 unless `code` is given;
        `retry_after` adds a Retry-After header. `create=True`: create the message first,
        then answer the error (Twilio failing after the fact: the ambiguous 5xx).
        `on`: which requests: "create" (POST Messages.json), "list", "fetch" or "any".
        """
        default_codes = {429: 20429, 500: 20500, 503: 20503}
        code = code if code is not None else default_codes.get(status, status)
        with self._lock:
            self._injections.extend(
                _Injection(on=on, status=status, code=code, retry_after=retry_after, create=create)
                for _ in range(n)
            )

    def delay_next(
        self, n: int, seconds: float, *, on: str = "create", create_after_delay: bool = False
    ) -> None:
        """Answer the next `n` matching requests `seconds` late (to provoke a client timeout).

        By default a create is processed at once and only the answer is late (the message
        exists while the client waits); `create_after_delay=True` processes it at the end
        (the message appears only after the client has given up and looked for it).
        """
        with self._lock:
            self._injections.extend(
                _Injection(on=on, delay=seconds, create_after_delay=create_after_delay)
                for _ in range(n)
            )

    def add_phone_number(self, number: str, *, sms_url: str | None = None, sms_method: str = "POST",
                         status_callback: str | None = None) -> dict[str, Any]:
        """A number this account owns (IncomingPhoneNumbers), with its messaging webhook."""
        resource = {
            "sid": "PN" + uuid.uuid4().hex, "account_sid": self.account_sid, "phone_number": number,
            "friendly_name": number, "sms_url": sms_url or "", "sms_method": sms_method,
            "sms_fallback_url": "", "status_callback": status_callback or "",
            "capabilities": {"sms": True, "mms": False, "voice": True},
        }
        with self._lock:
            self._numbers[number] = resource
        return resource

    def add_messaging_service(self, *, inbound_request_url: str | None = None,
                              status_callback: str | None = None,
                              use_inbound_webhook_on_number: bool = False) -> str:
        """A Messaging Service of this account (GET /v1/Services/{Sid}); returns its SID."""
        sid = "MG" + uuid.uuid4().hex
        with self._lock:
            self._services[sid] = {
                "sid": sid, "account_sid": self.account_sid, "friendly_name": "reminders",
                "inbound_request_url": inbound_request_url, "inbound_method": "POST",
                "status_callback": status_callback,
                "use_inbound_webhook_on_number": use_inbound_webhook_on_number,
            }
        return sid

    def reset_injections(self) -> None:
        """Forget the failures and delays still waiting (fail_next, delay_next)."""
        with self._lock:
            self._injections.clear()

    def reject_number(self, to: str, code: int = 21610, status: int = 400) -> None:
        """Refuse every create to `to` with this Twilio error (21610, 21211, 21614, ...)."""
        with self._lock:
            self._rejected[to] = (code, status)

    def add_inbound(
        self,
        from_: str,
        to: str,
        body: str,
        date_sent: datetime | None = None,
        *,
        sid: str | None = None,
        messaging_service_sid: str | None = None,
    ) -> FakeMessage:
        """An SMS a patient sent us (whether or not our webhook ever heard of it)."""
        when = date_sent or self.clock()
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        with self._lock:
            message = FakeMessage(
                sid=sid or "SM" + uuid.uuid4().hex,
                account_sid=self.account_sid,
                to=to,
                from_=from_,
                body=body,
                direction="inbound",
                status="received",
                date_created=when,
                date_updated=when,
                date_sent=when,
                messaging_service_sid=messaging_service_sid,
                num_segments=str(segment_count(body)),
                seq=self._next_seq(),
            )
            self._messages[message.sid] = message
        return message

    def set_status(self, sid: str, status: str, error_code: int | None = None) -> FakeMessage:
        """Move a message to `status` as Twilio would (date_sent and sender set on sending)."""
        now = self.clock()
        with self._lock:
            message = self._messages[sid]
            message.status = status
            message.date_updated = now
            if status in {"sending", "sent", "delivered", "undelivered", "failed", "read"}:
                if message.date_sent is None:
                    message.date_sent = now
                if message.from_ is None:
                    message.from_ = self.service_sender
                if message.num_segments == "0":
                    message.num_segments = str(segment_count(message.body))
            if error_code is not None:
                message.error_code = error_code
                message.error_message = ERROR_MESSAGES.get(error_code, "Delivery failed")
            return message

    def status_callback_payloads(
        self, sid: str, status: str, *, error_code: int | None = None
    ) -> dict[str, str]:
        """The form fields Twilio posts to the message's StatusCallback for `status`.

        Also moves the stored message to `status`, so listing and fetching agree.
        """
        message = self.set_status(sid, status, error_code)
        fields = {
            "ApiVersion": API_VERSION,
            "AccountSid": message.account_sid,
            "MessageSid": message.sid,
            "SmsSid": message.sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "From": message.from_ or self.service_sender,
            "To": message.to,
        }
        if message.messaging_service_sid:
            fields["MessagingServiceSid"] = message.messaging_service_sid
        if error_code is not None:
            fields["ErrorCode"] = str(error_code)
        return fields

    def sign(self, url: str, params: dict[str, Any]) -> str:
        return sign(url, params, self.auth_token)

    def signed_status_callback(
        self, sid: str, status: str, *, error_code: int | None = None, url: str | None = None
    ) -> tuple[str, dict[str, str], dict[str, str]]:
        """(url, form fields, headers) of the status callback Twilio would post."""
        url = url or self.message(sid).status_callback
        if not url:
            raise ValueError(f"message {sid} has no StatusCallback")
        fields = self.status_callback_payloads(sid, status, error_code=error_code)
        return url, fields, {"X-Twilio-Signature": self.sign(url, fields)}

    # --- request handling (called from the server's threads) ------------------------

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _handle(self, handler: "_Handler") -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        form: dict[str, list[str]] = {}
        if "application/x-www-form-urlencoded" in (handler.headers.get("Content-Type") or ""):
            form = parse_qs(raw.decode("utf-8"), keep_blank_values=True)
        query = parse_qs(parts.query, keep_blank_values=True)
        kind = "other"
        match = _MESSAGES.match(parts.path)
        if match and handler.command == "POST":
            kind = "create"
        elif match and handler.command == "GET":
            kind = "list"
        elif _MESSAGE.match(parts.path) and handler.command == "GET":
            kind = "fetch"
        record = RecordedRequest(
            method=handler.command,
            path=parts.path,
            query=query,
            form=form,
            headers=dict(handler.headers.items()),
            kind=kind,
        )
        with self._lock:
            self._requests.append(record)
            injection = next(
                (item for item in self._injections if item.matches(kind)), None
            ) if kind != "other" else None
            if injection is not None and self._authorized(handler):
                self._injections.remove(injection)
            else:
                injection = None

        answer: _Answer | None = None
        if injection is not None and injection.delay and injection.create_after_delay:
            self._stopping.wait(injection.delay)
        if injection is not None and injection.status is not None and not injection.create:
            answer = self._injected_error(injection)
        else:
            answer = self._route(handler, parts.path, query, form, kind)
            if injection is not None and injection.status is not None and answer.status < 300:
                answer = self._injected_error(injection)  # created, then failed
        if injection is not None and injection.delay and not injection.create_after_delay:
            self._stopping.wait(injection.delay)
        record.status = answer.status
        handler.answer(answer)

    def _injected_error(self, injection: _Injection) -> _Answer:
        status = injection.status or 500
        headers = {}
        if injection.retry_after is not None:
            retry_after = injection.retry_after
            if isinstance(retry_after, float) and retry_after.is_integer():
                retry_after = int(retry_after)
            headers["Retry-After"] = str(retry_after)
        return _Answer(status, _error(injection.code or status, status), headers)

    def _authorized(self, handler: "_Handler") -> bool:
        header = handler.headers.get("Authorization") or ""
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return user == self.account_sid and password == self.auth_token

    def _route(
        self,
        handler: "_Handler",
        path: str,
        query: dict[str, list[str]],
        form: dict[str, list[str]],
        kind: str,
    ) -> _Answer:
        if not self._authorized(handler):
            return _Answer(
                401,
                {**_error(20003, 401), "detail": "Your AccountSid or AuthToken was incorrect."},
                {"WWW-Authenticate": 'Basic realm="Twilio API"'},
            )
        extra = self._route_account_resources(path, query, handler.command)
        if extra is not None:
            return extra
        match = _MESSAGES.match(path) or _MESSAGE.match(path)
        if match is None or match.group("account") != self.account_sid:
            return _Answer(404, _error(20404, 404, f"The requested resource {path} was not found"))
        if kind == "create":
            return self._create(form)
        if kind == "list":
            return self._list(path, query)
        if kind == "fetch":
            with self._lock:
                message = self._messages.get(match.group("sid"))
            if message is None:
                return _Answer(
                    404, _error(20404, 404, f"The requested resource {path} was not found")
                )
            return _Answer(200, message.resource())
        return _Answer(405, _error(20004, 405))

    def _route_account_resources(self, path: str, query: dict[str, list[str]],
                                 method: str) -> _Answer | None:
        """The account itself, its phone numbers and its Messaging Services (GET only):
        what `reminders doctor` reads. None for any other path."""
        account = _ACCOUNT.match(path) or _NUMBERS.match(path)
        service = _SERVICE.match(path)
        if account is None and service is None:
            return None
        if method != "GET":
            return _Answer(405, _error(20004, 405))
        if account is not None and account.group("account") != self.account_sid:
            return _Answer(404, _error(20404, 404, f"The requested resource {path} was not found"))
        if _ACCOUNT.match(path):
            return _Answer(200, {"sid": self.account_sid, "status": "active", "type": "Full",
                                 "friendly_name": "fake account"})
        if service is not None:
            with self._lock:
                found = self._services.get(service.group("sid"))
            if found is None:
                return _Answer(404, _error(20404, 404, f"The requested resource {path} was not found"))
            return _Answer(200, dict(found))
        wanted = _first(query, "PhoneNumber")
        with self._lock:
            numbers = [dict(n) for number, n in self._numbers.items() if wanted in (None, number)]
        return _Answer(200, {"incoming_phone_numbers": numbers, "page": 0, "page_size": 50,
                             "start": 0, "end": max(len(numbers) - 1, 0), "uri": path,
                             "first_page_uri": path, "next_page_uri": None, "previous_page_uri": None})

    def _create(self, form: dict[str, list[str]]) -> _Answer:
        to = _first(form, "To")
        from_ = _first(form, "From")
        service = _first(form, "MessagingServiceSid")
        body = _first(form, "Body")
        if not to:
            return _Answer(400, _error(21604, 400))
        if not from_ and not service:
            return _Answer(400, _error(21603, 400))
        if service and not _SERVICE_SID.match(service):
            return _Answer(400, _error(21701, 400))
        if not body and not form.get("MediaUrl") and not _first(form, "ContentSid"):
            return _Answer(400, _error(21602, 400))
        body = body or ""
        if len(body) > 1600:
            return _Answer(400, _error(21617, 400))
        if not _PHONE.match(to):
            message = f"The 'To' number {to} is not a valid phone number."
            return _Answer(400, _error(21211, 400, message))
        now = self.clock()
        with self._lock:
            rejected = self._rejected.get(to)
            if rejected is not None:
                code, status = rejected
                return _Answer(status, _error(code, status))
            message = FakeMessage(
                sid="SM" + uuid.uuid4().hex,
                account_sid=self.account_sid,
                to=to,
                from_=from_ or None,
                body=body,
                direction="outbound-api",
                status="accepted" if service else "queued",
                date_created=now,
                date_updated=now,
                messaging_service_sid=service,
                status_callback=_first(form, "StatusCallback"),
                # A Messaging Service picks the sender later: 0 segments until then.
                num_segments="0" if service else str(segment_count(body)),
                seq=self._next_seq(),
            )
            self._messages[message.sid] = message
        return _Answer(201, message.resource())

    def _list(self, path: str, query: dict[str, list[str]]) -> _Answer:
        try:
            page_size = int(_first(query, "PageSize") or 50)
            page = int(_first(query, "Page") or 0)
        except ValueError:
            return _Answer(400, _error(20001, 400, "Invalid paging parameter"))
        if not 1 <= page_size <= 1000 or page < 0:
            return _Answer(400, _error(20001, 400, "PageSize must be between 1 and 1000"))
        filters: list[tuple[str, str]] = []
        tests: list[Callable[[FakeMessage], bool]] = []
        for name in ("To", "From"):
            value = _first(query, name)
            if value is not None:
                filters.append((name, value))
                tests.append(lambda m, n=name, v=value: (m.to if n == "To" else m.from_) == v)
        for name in ("DateSent", "DateSent<", "DateSent>"):
            value = _first(query, name)
            if value is None:
                continue
            bound = _parse_date_filter(value)
            if bound is None:
                return _Answer(400, _error(20001, 400, f"Invalid {name}: {value}"))
            filters.append((name, value))
            tests.append(_date_test(name, bound))
        with self._lock:
            items = [m for m in self._messages.values() if all(test(m) for test in tests)]
        items.sort(key=lambda m: (m.date_created, m.seq), reverse=True)

        start = page * page_size
        token = _first(query, "PageToken")
        if token and token.startswith("PA"):
            after = token[2:]
            for index, message in enumerate(items):
                if message.sid == after:
                    start = index + 1
                    break
        chunk = items[start : start + page_size]

        def uri(page_number: int, page_token: str | None = None) -> str:
            params = [*filters, ("PageSize", str(page_size)), ("Page", str(page_number))]
            if page_token:
                params.append(("PageToken", page_token))
            return f"{path}?{urlencode(params)}"

        has_next = start + page_size < len(items) and bool(chunk)
        payload = {
            "end": start + len(chunk) - 1 if chunk else start,
            "first_page_uri": uri(0),
            "messages": [message.resource() for message in chunk],
            "next_page_uri": uri(page + 1, "PA" + chunk[-1].sid) if has_next else None,
            "page": page,
            "page_size": page_size,
            "previous_page_uri": uri(page - 1) if page > 0 else None,
            "start": start,
            "uri": uri(page, token),
        }
        return _Answer(200, payload)


def _parse_date_filter(value: str) -> date | datetime | None:
    """A DateSent filter value: a whole day (YYYY-MM-DD) or an exact time (ISO or RFC 2822)."""
    value = value.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    for parse in (datetime.fromisoformat, parsedate_to_datetime):
        try:
            moment = parse(value)
        except (TypeError, ValueError, IndexError):
            continue
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return None


def _date_test(name: str, bound: date | datetime) -> Callable[[FakeMessage], bool]:
    """Twilio's documented semantics for a whole day D: `DateSent>=D` is "sent on or after
    midnight on D", `DateSent<=D` "sent on or before midnight on D" (so nothing of D
    itself), `DateSent=D` "sent on D". A message not sent yet (date_sent null) matches
    no DateSent filter."""
    midnight = (datetime(bound.year, bound.month, bound.day, tzinfo=timezone.utc)
                if not isinstance(bound, datetime) else bound)

    def test(message: FakeMessage) -> bool:
        sent = message.date_sent
        if sent is None:
            return False
        if name == "DateSent>":
            return sent >= midnight
        if name == "DateSent<":
            return sent <= midnight
        return sent == bound if isinstance(bound, datetime) else sent.date() == bound

    return test


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    fake: FakeTwilio


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like api.twilio.com
    server_version = "FakeTwilio/1.0"
    timeout = 30  # an idle keep-alive connection is dropped after this
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.fake._lock:
            self.server.fake._connections.add(self.connection)

    def finish(self) -> None:
        with self.server.fake._lock:
            self.server.fake._connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (ConnectionError, OSError):
            self.close_connection = True  # the client gave up (a timeout test)

    def do_GET(self) -> None:
        self.server.fake._handle(self)

    def do_POST(self) -> None:
        self.server.fake._handle(self)

    def do_DELETE(self) -> None:
        self.server.fake._handle(self)

    def answer(self, answer: _Answer) -> None:
        data = json.dumps(answer.payload).encode("utf-8")
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Twilio-Request-Id", "RQ" + uuid.uuid4().hex)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        # Headers and body in one write: two small writes meet the client's delayed ACK
        # (Nagle) and cost ~40 ms a request.
        self._headers_buffer.append(b"\r\n" + data)
        self.flush_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests read `fake.requests` instead


# --- pytest fixtures ----------------------------------------------------------------------


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    """A running fake Twilio server: `.base_url`, `.account_sid`, `.auth_token`."""
    with FakeTwilio() as fake:
        yield fake


class RealTwilioReached(AssertionError):
    """A test tried to resolve a real Twilio host."""


@pytest.fixture
def block_real_twilio(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail loudly if anything resolves *.twilio.com (the fake must be used instead)."""
    real_getaddrinfo = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host or "")
        if name.lower().rstrip(".").endswith("twilio.com"):
            raise RealTwilioReached(f"a test tried to reach {name}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
