"""Twilio, through the official `twilio` library.

Sending is not idempotent: Twilio documents no idempotency key for creating a message,
so a blind retry after a timeout or a 5xx can send the text twice. Hence `send()`:

- retries freely only when nothing can have been sent: the connection was refused (or
  never opened), or Twilio answered 429 / 20429 (too many concurrent requests). Backoff
  is exponential with full jitter, or Retry-After when Twilio sent one; attempts are
  bounded by `max_attempts`;
- after a 5xx, Twilio has finished with the request but may have created the message
  before failing: reconcile by listing the messages to that number since just before
  the first attempt. Found: return it. Not found: retry (same bound);
- after a read timeout or a connection lost mid-request, Twilio may still be processing
  the request, so a listing that finds nothing proves nothing: reconcile once, and if
  not found raise SendError(kind="unknown") so the caller records the check-in as
  unknown instead of risking a double send (a keep-alive connection the server closed
  just as we wrote to it lands here too: urllib3 checks idle connections before reuse,
  so that race is rare);
- any other error is not retried: opted out (21610), invalid number, permanent, or
  21611 (too much queued on the sender: try much later), as `classify_error` says.

Worst case a send blocks for (max_attempts - 1) waits of at most `retry_after_cap`
(60 s) or `backoff_cap` (8 s), plus the timeouts.

The library never retries on its own here: `TwilioHttpClient` is built without
`max_retries` (requests' default adapter makes exactly one attempt) and the async client
(whose `max_retries` re-sends POSTs on 5xx) is not used.

Threads: `TwilioHttpClient` keeps per-request state on itself and `requests.Session` is
not documented as thread-safe, so each thread gets its own `Client` (and connection
pool) through `threading.local`; a dispatch pass with a few threads opens a few
keep-alive connections. `close()` closes them all.

The HTTP exchange: the library's `TwilioHttpClient.request` rebuilds a requests
`Request`, merges the session's settings and the environment's proxy settings, and runs
`Session.send` for every call, which costs more CPU than the exchange itself (a dispatch
pass is thousands of calls). `_RebasingHttpClient` builds the same request (form encoded
as requests encodes it, the library's headers, basic auth) and hands it to the session's
own transport adapter, with the proxy and CA settings the session would merge, computed
once per host; the adapter raises the same exceptions, which `send()` relies on. JSON
bodies and redirects take the library's path.

`api_base` (REMINDERS_TWILIO_API_BASE) points the real client at a Twilio-compatible
server (tests, benchmarks): `_RebasingHttpClient` swaps scheme and host of every
*.twilio.com URL, after the library's own edge/region rewriting, keeping path and query.
It is in place before the client makes any request. With `api_base` the session also
ignores proxy environment variables, so a local fake is never sent to a proxy.

Logging: the library logs request URLs (with the `To` filter of a listing, a phone
number) at INFO; our http client logs nothing, and our error messages carry codes only,
never Twilio's text (which quotes the phone number).
"""

from __future__ import annotations

import base64
import random
import re
import threading
import time
import unicodedata
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Callable
from urllib.parse import urlencode, urlsplit, urlunsplit

import requests
from requests.structures import CaseInsensitiveDict
from twilio.base import values
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client
from urllib3.exceptions import MaxRetryError, NewConnectionError

from reminders.delivery import ErrorKind, classify_error
from reminders.sms.base import GatewayError, InboundSms, SendError, SentSms


class _RebasingHttpClient(TwilioHttpClient):
    """TwilioHttpClient that can send Twilio's URLs elsewhere and remembers each
    thread's last response (TwilioRestException does not carry Retry-After)."""

    def __init__(self, api_base: str | None, timeout: float) -> None:
        # No max_retries: requests' default adapter tries once, which is what we want.
        super().__init__(pool_connections=True, timeout=timeout)
        self._base = urlsplit(api_base.rstrip("/")) if api_base else None
        if self._base is not None:
            if self._base.scheme not in ("http", "https") or not self._base.netloc:
                raise ValueError("api_base must be an http:// or https:// URL")
            self.session.trust_env = False  # no HTTP(S)_PROXY for the local server
        self._last = threading.local()
        self._auth_cache: tuple[tuple[str, str], str] | None = None
        self._transports: dict[tuple[str, str], tuple[Any, dict[str, Any]]] = {}

    def rebase(self, url: str) -> str:
        if self._base is None:
            return url
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if host != "twilio.com" and not host.endswith(".twilio.com"):
            return url
        return urlunsplit(
            (self._base.scheme, self._base.netloc, self._base.path + parts.path, parts.query, "")
        )

    def request(  # type: ignore[override]
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        self._last.response = None
        if timeout is None:
            timeout = self.timeout
        elif timeout <= 0:
            raise ValueError(timeout)
        content_type = (headers or {}).get("Content-Type")
        if allow_redirects or content_type in ("application/json", "application/scim+json"):
            # Not what sending or listing messages does: the library's own path.
            response = super().request(method, self.rebase(url), params=params, data=data,
                                       headers=headers, auth=auth, timeout=timeout,
                                       allow_redirects=allow_redirects)
        else:
            response = self._send(method, self.rebase(url), params, data, headers, auth, timeout)
        self._last.response = response
        return response

    def _send(self, method: str, url: str, params: dict[str, object] | None,
              data: dict[str, object] | None, headers: dict[str, str] | None,
              auth: tuple[str, str] | None, timeout: float | None) -> Response:
        """What `TwilioHttpClient.request` does for a form request, without rebuilding per
        request what does not change between requests (a dispatch pass is thousands of
        them, and requests' Session spends more CPU than the HTTP exchange itself): the
        same request (URL, query and form encoded as requests encodes them, the library's
        headers, basic auth), sent by the session's own transport adapter (so the same
        exceptions: `send()` tells "nothing sent" from "maybe sent" by them), with the
        proxy and certificate settings the session would merge from the environment
        (computed once per scheme and host). No cookies, hooks or redirects: the Twilio
        API uses none of them (a redirect takes the library's path above)."""
        method = method.upper()
        if params:
            query = _form_encode(params)
            if query:
                url = f"{url}{'&' if urlsplit(url).query else '?'}{query}"
        prepared = requests.PreparedRequest()
        prepared.method, prepared.url = method, url
        prepared.headers = CaseInsensitiveDict(headers or {})
        if auth is not None:
            prepared.headers["Authorization"] = self._authorization(auth)
        body = _form_encode(data) if data else None
        if body is not None:
            prepared.headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
            prepared.headers["Content-Length"] = str(len(body))
        elif method not in ("GET", "HEAD"):
            prepared.headers["Content-Length"] = "0"
        prepared.body = body
        adapter, settings = self._transport(url)
        raw = adapter.send(prepared, stream=False, timeout=timeout, **settings)
        return Response(int(raw.status_code), raw.text, raw.headers)

    def _authorization(self, auth: tuple[str, str]) -> str:
        cached = self._auth_cache
        if cached is None or cached[0] != auth:
            cached = self._auth_cache = (auth, _basic_auth(*auth))
        return cached[1]

    def _transport(self, url: str) -> tuple[Any, dict[str, Any]]:
        """The session's adapter for this URL and the settings `Session.request` would
        merge (environment proxies, CA bundle), once per scheme and host."""
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        found = self._transports.get(key)
        if found is None:
            merged = self.session.merge_environment_settings(url, dict(self.proxy), None, None, None)
            found = (self.session.get_adapter(url),
                     {"verify": merged["verify"], "cert": merged["cert"], "proxies": merged["proxies"]})
            self._transports[key] = found
        return found

    @property
    def last_response(self) -> Response | None:
        """This thread's last response (None when the last request got no answer)."""
        return getattr(self._last, "response", None)

    def log_request(self, kwargs: dict[str, Any]) -> None:
        pass  # the library's version logs query strings, which may hold phone numbers

    def log_response(self, status_code: int, response: Any) -> None:
        pass

    def close(self) -> None:
        if self.session is not None:
            self.session.close()


class TwilioGateway:
    name = "twilio"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        api_base: str | None = None,
        timeout: float = 10.0,
        max_attempts: int = 4,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        *,
        retry_after_cap: float = 60.0,
        reconcile_slack: float = 60.0,
        reconcile_limit: int = 100,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if not account_sid or not auth_token:
            raise ValueError("TwilioGateway needs an account SID and an auth token")
        if not (from_number or messaging_service_sid):
            raise ValueError("TwilioGateway needs a from number or a messaging service SID")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.account_sid = account_sid
        self._auth_token = auth_token
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.api_base = api_base
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.retry_after_cap = retry_after_cap  # never wait longer than this on Retry-After
        # Clocks differ and Twilio's dates have whole seconds: look this far before `since`.
        self.reconcile_slack = timedelta(seconds=reconcile_slack)
        self.reconcile_limit = reconcile_limit  # messages to one number examined at most
        self.list_page_size = 200
        self._sleep = sleep
        self._rng = rng
        self._now = clock or (lambda: datetime.now(timezone.utc))
        self._local = threading.local()
        self._lock = threading.Lock()
        self._http_clients: list[_RebasingHttpClient] = []

    @property
    def sender_key(self) -> str:
        """Whose send rate the carrier limits (the shared rate is kept per sender)."""
        return self.messaging_service_sid or self.from_number or self.account_sid

    # --- clients, one per thread ---------------------------------------------------

    def _client(self) -> Client:
        client = getattr(self._local, "client", None)
        if client is None:
            http_client = _RebasingHttpClient(self.api_base, self.timeout)
            client = Client(self.account_sid, self._auth_token, http_client=http_client)
            if self.api_base:
                # TWILIO_EDGE / TWILIO_REGION from the environment would rename hosts; the
                # rebasing client would still catch them, but keep the URLs plain.
                client.edge = None
                client.region = None
            with self._lock:
                self._http_clients.append(http_client)
            self._local.client = client
        return client

    def warm(self) -> None:
        """Build this thread's client now, with the modules its first request would import
        (the library imports them lazily, under the import lock: threads would queue)."""
        self._client().messages  # noqa: B018 (the attribute access does the imports)

    def _last_response(self) -> Response | None:
        client = getattr(self._local, "client", None)
        return client.http_client.last_response if client is not None else None

    def close(self) -> None:
        """Close every thread's connections (the gateway stays usable: they reopen)."""
        with self._lock:
            clients, self._http_clients = self._http_clients, []
        for http_client in clients:
            http_client.close()
        self._local = threading.local()

    # --- sending --------------------------------------------------------------------

    def _sender(self) -> dict[str, str]:
        # A Messaging Service picks the sender from its pool; From would have to be in it.
        if self.messaging_service_sid:
            return {"messaging_service_sid": self.messaging_service_sid}
        return {"from_": self.from_number or ""}

    def send(self, to: str, body: str, *, status_callback: str | None = None) -> SentSms:
        since = self._now()  # just before the first attempt: reconciliation looks from here
        attempt = 0
        while True:
            attempt += 1
            try:
                message = self._client().messages.create(
                    to=to,
                    body=body,
                    status_callback=status_callback or values.unset,
                    **self._sender(),
                )
                return SentSms(
                    sid=message.sid or "",
                    status=message.status or "queued",
                    segments=_int_or_none(message.num_segments),
                )
            except (TwilioRestException, TwilioServiceException) as exc:
                code, status = _int_or_none(exc.code), _int_or_none(exc.status)
                retry_after = self._retry_after()
                if status is not None and status >= 500:
                    # Twilio answered, so it is done with the request, but it may have
                    # created the message before failing.
                    found = self._reconcile(to, body, since)
                    if found is not None:
                        return found
                    error = SendError(
                        ErrorKind.TRANSIENT,
                        f"Twilio answered {status} and no message was created",
                        code=code,
                        status=status,
                        retry_after=retry_after,
                    )
                elif status == 429 or code == 20429:
                    error = SendError(
                        ErrorKind.TRANSIENT,
                        "Twilio is busy (too many requests)",
                        code=code,
                        status=status,
                        retry_after=retry_after,
                    )
                else:
                    # Not retried here: opted out, invalid number, permanent, or 21611
                    # (hours of messages queued on the sender: retrying now cannot help).
                    raise SendError(
                        classify_error(code, status),
                        f"Twilio refused the message (error {code})",
                        code=code,
                        status=status,
                        retry_after=retry_after,
                    ) from None
            except requests.RequestException as exc:
                if _nothing_sent(exc):
                    error = SendError(
                        ErrorKind.TRANSIENT, f"could not connect to Twilio ({type(exc).__name__})"
                    )
                else:
                    # Timeout or connection lost after the request left: Twilio may still
                    # be working on it, so "not listed yet" is not "not sent".
                    found = self._reconcile(to, body, since)
                    if found is not None:
                        return found
                    raise SendError(
                        ErrorKind.UNKNOWN,
                        f"no answer from Twilio ({type(exc).__name__}); "
                        "the message may have been sent",
                    ) from None
            if attempt >= self.max_attempts:
                raise error
            self._sleep(self._delay(attempt, error.retry_after))

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.retry_after_cap)
        # Exponential backoff with full jitter: uniform in [0, min(cap, base * 2^(n-1))).
        return self._rng() * min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))

    def _retry_after(self) -> float | None:
        response = self._last_response()
        if response is None or not response.headers:
            return None
        return parse_retry_after(response.headers.get("Retry-After"), now=time.time())

    def _reconcile(self, to: str, body: str, since: datetime) -> SentSms | None:
        try:
            return self.find_sent(to, body, since)
        except GatewayError:
            raise SendError(
                ErrorKind.UNKNOWN,
                "the send failed ambiguously and Twilio could not be asked whether it went out",
            ) from None

    # --- reading --------------------------------------------------------------------

    def find_sent(self, to: str, body: str, since: datetime) -> SentSms | None:
        """The newest outbound message to `to` with this body created since `since`.

        Filters on To (and From when there is no Messaging Service: a service may pick
        another sender), not on DateSent: a message still queued has no date_sent yet,
        and a DateSent filter would hide exactly the message we are looking for. Dates
        are compared here, on date_created, with `reconcile_slack` for clock skew.
        """
        cutoff = _utc(since).replace(microsecond=0) - self.reconcile_slack
        filters: dict[str, Any] = {"to": to}
        if self.from_number and not self.messaging_service_sid:
            filters["from_"] = self.from_number
        wanted = _comparable(body)
        try:
            for message in self._client().messages.stream(
                limit=self.reconcile_limit, page_size=min(self.reconcile_limit, 50), **filters
            ):
                created = message.date_created
                if not isinstance(created, datetime) or created < cutoff:
                    continue
                if not (message.direction or "").startswith("outbound"):
                    continue
                if message.body == body or _comparable(message.body or "") == wanted:
                    return SentSms(
                        sid=message.sid or "",
                        status=message.status or "queued",
                        segments=_int_or_none(message.num_segments),
                    )
        except (TwilioException, requests.RequestException) as exc:
            raise self._read_error(exc, "listing messages") from None
        return None

    def list_inbound(self, since: datetime, until: datetime) -> list[InboundSms]:
        """Inbound messages with date_sent in [since, until), oldest first.

        Twilio documents its DateSent filters with whole days: `DateSent>=D` is "on or
        after midnight on D", `DateSent<=D` "on or before midnight on D", i.e. before D
        starts. The client sends date_sent_after as DateSent> and date_sent_before as
        DateSent<, so the upper bound is the day AFTER `until` (else today's messages,
        the ones reconciliation exists for, are never listed); the window is cut exactly
        here.
        """
        since, until = _utc(since), _utc(until)
        filters: dict[str, Any] = {
            "date_sent_after": since.date().isoformat(),
            "date_sent_before": (until.date() + timedelta(days=1)).isoformat(),
        }
        if self.from_number and not self.messaging_service_sid:
            filters["to"] = self.from_number
        found: list[InboundSms] = []
        try:
            for message in self._client().messages.stream(
                page_size=self.list_page_size, **filters
            ):
                if message.direction != "inbound":
                    continue
                received = message.date_sent or message.date_created
                if not isinstance(received, datetime) or not since <= received < until:
                    continue
                found.append(
                    InboundSms(
                        sid=message.sid or "",
                        from_=message.from_ or "",
                        to=message.to or "",
                        body=message.body or "",
                        received_at=received,
                    )
                )
        except (TwilioException, requests.RequestException) as exc:
            raise self._read_error(exc, "listing inbound messages") from None
        found.sort(key=lambda sms: (sms.received_at, sms.sid))
        return found

    def _read_error(self, exc: Exception, doing: str) -> GatewayError:
        if isinstance(exc, requests.RequestException):
            # A read sends nothing: whatever happened, trying again later is safe.
            return GatewayError(ErrorKind.TRANSIENT, f"{doing}: {type(exc).__name__}")
        code, status = _error_details(exc)
        return GatewayError(
            classify_error(code, status),
            f"{doing}: Twilio error {code}",
            code=code,
            status=status,
            retry_after=self._retry_after(),
        )


# --- helpers ----------------------------------------------------------------------------


def _nothing_sent(exc: requests.RequestException) -> bool:
    """True when the request cannot have reached Twilio (no connection was made)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError) and exc.args:
        reason = exc.args[0]
        if isinstance(reason, MaxRetryError):
            reason = reason.reason
        # Refused, unreachable, name not resolved: NewConnectionError and its subclasses.
        return isinstance(reason, NewConnectionError)
    return False


def _basic_auth(username: str, password: str) -> str:
    """The Authorization header requests builds for HTTP Basic auth (latin-1, as it does)."""
    pair = f"{username}:{password}".encode("latin1")
    return "Basic " + base64.b64encode(pair).decode("ascii")


def _form_encode(fields: dict[str, object]) -> str:
    """A dict of fields encoded as requests encodes `params` and form `data`: a list gives
    the field once per item, None values are left out."""
    pairs: list[tuple[str, object]] = []
    for key, value in fields.items():
        items = [value] if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__") else value
        pairs.extend((key, item) for item in items if item is not None)  # type: ignore[union-attr]
    return urlencode(pairs)


def _error_details(exc: Exception) -> tuple[int | None, int | None]:
    """(Twilio code, HTTP status) of a library exception, including the bare
    TwilioException("Unable to fetch page", response) that listing raises."""
    if isinstance(exc, (TwilioRestException, TwilioServiceException)):
        return _int_or_none(exc.code), _int_or_none(exc.status)
    response = exc.args[1] if len(exc.args) > 1 else None
    status = _int_or_none(getattr(response, "status_code", None))
    code = None
    text = getattr(response, "text", None)
    if isinstance(text, str):
        match = re.search(r'"code"\s*:\s*(\d+)', text)
        code = int(match.group(1)) if match else None
    return code, status


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - now)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _utc(moment: datetime) -> datetime:
    """Aware UTC; a naive datetime is taken to be UTC already. (The library formats
    datetimes with a literal "Z" without converting them, so convert first.)"""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


_PUNCTUATION = str.maketrans(
    {"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "..."}
)


def _comparable(text: str) -> str:
    """A body as Twilio may store it after smart encoding (curly quotes, dashes and
    accents replaced by GSM look-alikes), for matching during reconciliation."""
    text = unicodedata.normalize("NFKD", text.translate(_PUNCTUATION))
    text = "".join(char for char in text if not unicodedata.combining(char))
    return " ".join(text.split()).casefold()
