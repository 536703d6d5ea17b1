"""TwilioGateway: the real twilio client, over HTTP, against the fake Twilio server."""

from __future__ import annotations

import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import requests
from twilio.rest import Client

from reminders.delivery import ErrorKind
from reminders.config import Settings
from reminders.sms import (
    GatewayError,
    LocalGateway,
    SendError,
    SentSms,
    SmsGateway,
    build_gateway,
    gateway_from_settings,
)
from reminders.sms.twilio import TwilioGateway, _RebasingHttpClient, parse_retry_after
from tests.fake_twilio import RealTwilioReached  # fixtures fake_twilio, block_real_twilio: conftest

FROM = "+15005550006"
TO = "+254712345678"
SERVICE = "MG" + "c" * 32
CALLBACK = "https://clinic.example/twilio/status"


@pytest.fixture(autouse=True)
def _no_real_twilio(block_real_twilio):  # every test here fails loudly on *.twilio.com
    pass


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_gateway(fake_twilio, sleeps):
    made: list[TwilioGateway] = []

    def make(**overrides) -> TwilioGateway:
        options = dict(
            account_sid=fake_twilio.account_sid,
            auth_token=fake_twilio.auth_token,
            from_number=FROM,
            api_base=fake_twilio.base_url,
            timeout=5.0,
            sleep=sleeps.append,
            rng=lambda: 0.5,
        )
        options.update(overrides)
        gateway = TwilioGateway(**options)
        made.append(gateway)
        return gateway

    yield make
    for gateway in made:
        gateway.close()


@pytest.fixture
def gateway(make_gateway) -> TwilioGateway:
    return make_gateway()


def test_send_records_the_message_at_twilio_and_returns_its_sid(fake_twilio, gateway):
    sent = gateway.send(TO, "How are you today? Reply 1 if well.", status_callback=CALLBACK)

    [request] = fake_twilio.create_requests
    assert request.form == {
        "To": [TO],
        "From": [FROM],
        "Body": ["How are you today? Reply 1 if well."],
        "StatusCallback": [CALLBACK],
    }
    [message] = fake_twilio.sent
    assert sent == SentSms(sid=message.sid, status="queued", segments=1)
    assert message.status_callback == CALLBACK


def test_send_without_status_callback_sends_no_field(fake_twilio, gateway):
    gateway.send(TO, "hi")
    assert "StatusCallback" not in fake_twilio.create_requests[0].form


def test_send_through_a_messaging_service(fake_twilio, make_gateway):
    gateway = make_gateway(from_number=None, messaging_service_sid=SERVICE)

    sent = gateway.send(TO, "hi")

    form = fake_twilio.create_requests[0].form
    assert form["MessagingServiceSid"] == [SERVICE] and "From" not in form
    assert sent.status == "accepted"
    assert sent.segments == 0  # the service has not picked a sender yet


def test_requests_reach_the_fake_never_twilio(fake_twilio, make_gateway, monkeypatch):
    # Edge and region settings rewrite Twilio's host names; the fake must still get it all.
    monkeypatch.setenv("TWILIO_EDGE", "sydney")
    monkeypatch.setenv("TWILIO_REGION", "au1")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # a proxy would refuse
    gateway = make_gateway()

    gateway.send(TO, "hi")
    gateway.list_inbound(datetime.now(timezone.utc) - timedelta(hours=1), datetime.now(timezone.utc))

    assert [request.kind for request in fake_twilio.requests] == ["create", "list"]
    for request in fake_twilio.requests:
        assert request.headers["Host"] == f"127.0.0.1:{fake_twilio.port}"
        assert request.headers["User-Agent"].startswith("twilio-python/")
        assert request.path.startswith(f"/2010-04-01/Accounts/{fake_twilio.account_sid}/")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_gateway_sends_the_request_the_library_sends(fake_twilio, gateway, monkeypatch):
    """Our HTTP path skips requests' per-call Session work; the request itself (method,
    path, query, form, the library's headers, basic auth) must be the library's own."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    library = Client(fake_twilio.account_sid, fake_twilio.auth_token)  # requests' Session path
    library.api.base_url = fake_twilio.base_url
    body = "Habari? Jibu 1 kama uko sawa & 2 kama una homa: ñ, é, 100%"
    since = datetime.now(timezone.utc) - timedelta(minutes=5)

    gateway.send(TO, body, status_callback=CALLBACK)
    gateway.find_sent(TO, body, since)
    library.messages.create(to=TO, from_=FROM, body=body, status_callback=CALLBACK)
    list(library.messages.stream(to=TO, from_=FROM, limit=100, page_size=50))

    ours, theirs = fake_twilio.requests[:2], fake_twilio.requests[2:]
    assert [r.kind for r in ours] == [r.kind for r in theirs] == ["create", "list"]
    for mine, reference in zip(ours, theirs):
        assert (mine.method, mine.path, mine.query, mine.form) == (
            reference.method, reference.path, reference.query, reference.form)
        assert mine.status == reference.status == (201 if mine.kind == "create" else 200)
        for header in ("Authorization", "User-Agent", "X-Twilio-Client", "Accept", "Accept-Charset",
                       "Content-Type"):
            assert mine.headers.get(header) == reference.headers.get(header), header
    assert ours[0].form["Body"] == [body]


def test_without_api_base_the_environment_proxy_is_used(monkeypatch):
    """Towards the real Twilio the session trusts the environment (HTTPS_PROXY), as the
    library's path does: the request goes to the proxy (here a closed port: refused), it
    does not resolve api.twilio.com itself."""
    http_client = _RebasingHttpClient(None, 5.0)
    url = "https://api.twilio.com/2010-04-01/Accounts/AC0/Messages.json"
    with pytest.raises(RealTwilioReached):  # no proxy: straight to Twilio's host
        http_client.request("POST", url, data={"To": TO}, auth=("AC0", "token"))
    http_client = _RebasingHttpClient(None, 5.0)  # settings are read once per host
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{_free_port()}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with pytest.raises(requests.exceptions.ProxyError):
        http_client.request("POST", url, data={"To": TO}, auth=("AC0", "token"))
    http_client.close()


def test_a_gateway_without_api_base_fails_loudly_in_tests():
    gateway = TwilioGateway("AC" + "0" * 32, "token", from_number=FROM)  # the real api.twilio.com
    with pytest.raises(RealTwilioReached):
        gateway.send(TO, "hi")
    gateway.close()


def test_send_is_refused_when_the_api_base_is_not_a_url():
    with pytest.raises(ValueError):
        TwilioGateway("AC" + "0" * 32, "token", from_number=FROM, api_base="127.0.0.1:1").send(TO, "x")


def test_429_is_retried_honouring_retry_after(fake_twilio, gateway, sleeps):
    fake_twilio.fail_next(2, status=429, retry_after=3)

    sent = gateway.send(TO, "hi")

    assert [request.status for request in fake_twilio.create_requests] == [429, 429, 201]
    assert [message.sid for message in fake_twilio.sent] == [sent.sid]
    assert sleeps == [3.0, 3.0]


def test_retry_after_is_capped(fake_twilio, make_gateway, sleeps):
    fake_twilio.fail_next(1, status=429, retry_after=3600)
    make_gateway(retry_after_cap=30.0).send(TO, "hi")
    assert sleeps == [30.0]


def test_429_without_retry_after_backs_off_exponentially_with_full_jitter(fake_twilio, make_gateway, sleeps):
    fake_twilio.fail_next(3, status=429)
    draws = iter([1.0, 0.5, 0.25])

    make_gateway(backoff_base=0.5, backoff_cap=8.0, rng=lambda: next(draws)).send(TO, "hi")

    # attempt n waits uniform(0, min(cap, base * 2^(n-1))): the draws scale 0.5, 1, 2.
    assert sleeps == [0.5, 0.5, 0.5]


def test_backoff_never_exceeds_the_cap(fake_twilio, make_gateway, sleeps):
    fake_twilio.fail_next(5, status=429)
    make_gateway(max_attempts=6, backoff_base=1.0, backoff_cap=2.0, rng=lambda: 1.0).send(TO, "hi")
    assert sleeps == [1.0, 2.0, 2.0, 2.0, 2.0]


def test_retries_are_bounded_then_transient(fake_twilio, gateway, sleeps):
    fake_twilio.fail_next(10, status=429)

    with pytest.raises(SendError) as caught:
        gateway.send(TO, "hi")

    assert caught.value.kind == "transient"
    assert (caught.value.code, caught.value.status) == (20429, 429)
    assert len(fake_twilio.create_requests) == 4
    assert len(sleeps) == 3
    assert fake_twilio.sent == []


def test_opted_out_recipient_is_not_retried(fake_twilio, gateway, sleeps):
    fake_twilio.reject_number(TO, code=21610)

    with pytest.raises(SendError) as caught:
        gateway.send(TO, "hi")

    assert caught.value.kind is ErrorKind.OPTED_OUT
    assert (caught.value.code, caught.value.status) == (21610, 400)
    assert len(fake_twilio.requests) == 1
    assert sleeps == []


@pytest.mark.parametrize("code", [21211, 21614, 21635])
def test_unusable_number_is_invalid_number(fake_twilio, gateway, code):
    fake_twilio.reject_number(TO, code=code)

    with pytest.raises(SendError) as caught:
        gateway.send(TO, "hi")

    assert caught.value.kind == "invalid_number"
    assert len(fake_twilio.requests) == 1


def test_sender_queue_full_is_transient_but_not_retried_now(fake_twilio, gateway, sleeps):
    fake_twilio.reject_number(TO, code=21611)

    with pytest.raises(SendError) as caught:
        gateway.send(TO, "hi")

    assert caught.value.kind == "transient"
    assert len(fake_twilio.requests) == 1 and sleeps == []


def test_error_messages_never_carry_the_phone_number(fake_twilio, gateway):
    fake_twilio.reject_number(TO, code=21211)
    with pytest.raises(SendError) as caught:
        gateway.send(TO, "secret body")
    text = str(caught.value)
    assert TO not in text and TO[1:] not in text and "secret" not in text
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_500_after_twilio_created_the_message_is_reconciled_not_sent_twice(fake_twilio, gateway, sleeps):
    fake_twilio.fail_next(1, status=500, create=True)

    sent = gateway.send(TO, "hi", status_callback=CALLBACK)

    [message] = fake_twilio.sent
    assert sent.sid == message.sid
    assert sent.status == "queued"
    assert [request.kind for request in fake_twilio.requests] == ["create", "list"]
    assert fake_twilio.requests[1].query["To"] == [TO]
    assert "DateSent>" not in fake_twilio.requests[1].query  # a queued message has no date_sent
    assert sleeps == []


def test_500_after_create_through_a_messaging_service_is_reconciled(fake_twilio, make_gateway):
    fake_twilio.fail_next(1, status=500, create=True)

    sent = make_gateway(messaging_service_sid=SERVICE).send(TO, "hi")

    [message] = fake_twilio.sent
    assert sent == SentSms(sid=message.sid, status="accepted", segments=0)
    listing = fake_twilio.requests[1]
    assert listing.query["To"] == [TO] and "From" not in listing.query  # the service picks From


def test_500_without_a_message_is_retried_after_reconciling(fake_twilio, gateway, sleeps):
    fake_twilio.fail_next(1, status=500)

    sent = gateway.send(TO, "hi")

    assert [request.kind for request in fake_twilio.requests] == ["create", "list", "create"]
    assert [message.sid for message in fake_twilio.sent] == [sent.sid]
    assert len(sleeps) == 1


def test_an_earlier_identical_message_is_not_mistaken_for_this_one(fake_twilio, make_gateway):
    now = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
    fake_twilio.clock = lambda: now - timedelta(days=7)
    make_gateway().send(TO, "hi")  # last week's check-in, same words
    fake_twilio.clock = lambda: now
    fake_twilio.fail_next(1, status=500)

    sent = make_gateway(clock=lambda: now).send(TO, "hi")

    assert len(fake_twilio.sent) == 2
    assert sent.sid == fake_twilio.sent[1].sid


def test_persistent_503_ends_transient_after_bounded_attempts(fake_twilio, gateway, sleeps):
    fake_twilio.fail_next(10, status=503, retry_after=1)

    with pytest.raises(SendError) as caught:
        gateway.send(TO, "hi")

    assert caught.value.kind == "transient" and caught.value.status == 503
    assert len(fake_twilio.create_requests) == 4
    assert sleeps == [1.0, 1.0, 1.0]
    assert fake_twilio.sent == []


def test_reconciliation_that_cannot_list_is_unknown(fake_twilio, gateway):
    fake_twilio.fail_next(1, status=500, create=True)
    fake_twilio.fail_next(1, status=500, on="list")

    with pytest.raises(SendError) as caught:
        gateway.send(TO, "hi")

    assert caught.value.kind == "unknown"
    assert len(fake_twilio.sent) == 1 and len(fake_twilio.create_requests) == 1


def test_timeout_after_twilio_created_the_message_is_reconciled(fake_twilio, make_gateway):
    fake_twilio.delay_next(1, 2.0)  # created at once, answered too late

    sent = make_gateway(timeout=0.5).send(TO, "hi")

    [message] = fake_twilio.sent
    assert sent.sid == message.sid
    assert len(fake_twilio.create_requests) == 1


def test_timeout_before_twilio_created_the_message_is_unknown_never_resent(fake_twilio, make_gateway, sleeps):
    fake_twilio.delay_next(1, 2.0, create_after_delay=True)  # Twilio still busy when we look

    with pytest.raises(SendError) as caught:
        make_gateway(timeout=0.5).send(TO, "hi")

    assert caught.value.kind == "unknown"
    assert len(fake_twilio.create_requests) == 1
    assert sleeps == []


def test_refused_connection_is_retried_then_transient(sleeps):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gateway = TwilioGateway(
        "AC" + "0" * 32, "token", from_number=FROM, api_base=f"http://127.0.0.1:{port}",
        max_attempts=3, sleep=sleeps.append, rng=lambda: 1.0,
    )

    with pytest.raises(SendError) as caught:
        gateway.send(TO, "hi")

    assert caught.value.kind == "transient"
    assert sleeps == [0.5, 1.0]
    gateway.close()


def test_bad_credentials_are_permanent(fake_twilio, make_gateway, sleeps):
    gateway = make_gateway(auth_token="wrong-token")

    with pytest.raises(SendError) as caught:
        gateway.send(TO, "hi")

    assert caught.value.kind == "permanent"
    assert (caught.value.code, caught.value.status) == (20003, 401)
    assert len(fake_twilio.requests) == 1 and sleeps == []
    with pytest.raises(GatewayError) as listing:
        gateway.list_inbound(datetime.now(timezone.utc) - timedelta(hours=1), datetime.now(timezone.utc))
    assert listing.value.kind == "permanent" and listing.value.code == 20003


def test_list_inbound_returns_the_window_oldest_first(fake_twilio, make_gateway):
    nairobi = timezone(timedelta(hours=3))
    since = datetime(2026, 12, 1, 12, 0, tzinfo=nairobi)  # 09:00 UTC
    until = datetime(2026, 12, 2, 12, 0, tzinfo=nairobi)
    at = lambda hours: datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc) + timedelta(hours=hours)  # noqa: E731
    fake_twilio.add_inbound(TO, FROM, "too early", date_sent=at(-0.01))
    first = fake_twilio.add_inbound(TO, FROM, "1", date_sent=at(0))
    second = fake_twilio.add_inbound("+254700000002", FROM, "nina homa", date_sent=at(5))
    third = fake_twilio.add_inbound(TO, FROM, "headache", date_sent=at(23.9))
    fake_twilio.add_inbound(TO, FROM, "too late", date_sent=at(24))
    fake_twilio.add_inbound(TO, "+15550009999", "to another number", date_sent=at(1))
    fake_twilio.clock = lambda: at(2)
    fake_twilio.add_inbound(TO, FROM, "delivered", date_sent=at(2))
    fake_twilio.set_status(make_gateway().send(TO, "outbound").sid, "delivered")
    gateway = make_gateway()
    gateway.list_page_size = 2  # several pages

    found = gateway.list_inbound(since, until)

    assert [sms.sid for sms in found][:1] == [first.sid]
    assert [sms.body for sms in found] == ["1", "delivered", "nina homa", "headache"]
    assert found[2].sid == second.sid and found[3].sid == third.sid
    assert found[2].from_ == "+254700000002" and found[2].to == FROM
    assert found[0].received_at == at(0) and found[0].received_at.tzinfo is not None
    lists = [request for request in fake_twilio.requests if request.kind == "list"]
    assert len(lists) > 1
    assert lists[0].query["To"] == [FROM]
    assert lists[0].query["DateSent>"] == ["2026-12-01"] and lists[0].query["DateSent<"] == ["2026-12-03"]


def test_list_inbound_failure_is_a_gateway_error(fake_twilio, gateway):
    fake_twilio.fail_next(1, status=503, on="list")
    with pytest.raises(GatewayError) as caught:
        gateway.list_inbound(datetime.now(timezone.utc) - timedelta(hours=1), datetime.now(timezone.utc))
    assert caught.value.kind == "transient" and caught.value.status == 503


def test_find_sent_finds_a_queued_message_and_nothing_else(fake_twilio, gateway):
    before = datetime.now(timezone.utc)
    sent = gateway.send(TO, "Habari? Jibu 1 ukiwa mzima.")

    assert gateway.find_sent(TO, "Habari? Jibu 1 ukiwa mzima.", before) == sent
    assert gateway.find_sent(TO, "another text", before) is None
    assert gateway.find_sent("+254700000009", "Habari? Jibu 1 ukiwa mzima.", before) is None
    assert gateway.find_sent(TO, "Habari? Jibu 1 ukiwa mzima.", before + timedelta(hours=1)) is None


def test_find_sent_ignores_an_inbound_message_with_the_same_words(fake_twilio, gateway):
    fake_twilio.add_inbound(FROM, TO, "1")  # not something we sent
    assert gateway.find_sent(TO, "1", datetime.now(timezone.utc) - timedelta(minutes=1)) is None


def test_sends_from_several_threads_share_nothing_and_all_arrive(fake_twilio, gateway):
    bodies = [f"check-in {i}" for i in range(24)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda body: gateway.send(TO, body), bodies))

    assert len({sent.sid for sent in results}) == 24
    assert sorted(message.body for message in fake_twilio.sent) == sorted(bodies)
    assert 1 <= len(gateway._http_clients) <= 4  # one client per thread


def test_429_retry_after_is_read_per_thread(fake_twilio, gateway, sleeps):
    fake_twilio.fail_next(1, status=429, retry_after=7)
    barrier = threading.Barrier(2)

    def send(body):
        barrier.wait()
        return gateway.send(TO, body)

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(send, ["a", "b"]))

    assert sleeps == [7.0]
    assert len(fake_twilio.sent) == 2


def test_parse_retry_after_accepts_seconds_and_http_dates():
    assert parse_retry_after("5", now=0) == 5.0
    assert parse_retry_after("0.5", now=0) == 0.5
    assert parse_retry_after("-3", now=0) == 0.0
    assert parse_retry_after("Thu, 01 Jan 1970 00:00:30 GMT", now=10) == 20.0
    assert parse_retry_after("soon", now=0) is None
    assert parse_retry_after(None, now=0) is None


def test_build_gateway_picks_the_implementation(fake_twilio):
    assert isinstance(build_gateway("local"), LocalGateway)
    gateway = build_gateway(
        "twilio", account_sid=fake_twilio.account_sid, auth_token=fake_twilio.auth_token,
        from_number=FROM, messaging_service_sid=None, api_base=fake_twilio.base_url,
    )
    assert isinstance(gateway, TwilioGateway) and isinstance(gateway, SmsGateway)
    assert gateway.name == "twilio"
    with pytest.raises(ValueError):
        build_gateway("twilio", account_sid=None, auth_token=None, from_number=FROM,
                      messaging_service_sid=None, api_base=None)
    with pytest.raises(ValueError):
        build_gateway("carrier-pigeon")


def test_local_gateway_sends_nothing_anywhere():
    gateway = LocalGateway()
    first, second = gateway.send(TO, "hi"), gateway.send(TO, "hi")

    assert first.sid.startswith("SMlocal") and len(first.sid) == len("SMlocal") + 32
    assert first.sid != second.sid
    assert first.status == "sent"
    assert gateway.simulated_final_status == "delivered"
    assert gateway.list_inbound(datetime.min, datetime.max) == []
    assert gateway.find_sent(TO, "hi", datetime.min) is None
    assert isinstance(gateway, SmsGateway) and gateway.name == "local"


def test_gateway_from_settings_points_the_real_client_at_the_api_base(fake_twilio, monkeypatch):
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", fake_twilio.account_sid)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", fake_twilio.auth_token)
    monkeypatch.setenv("TWILIO_FROM_NUMBER", FROM)
    monkeypatch.setenv("REMINDERS_TWILIO_API_BASE", fake_twilio.base_url)
    gateway = gateway_from_settings(Settings())

    sent = gateway.send(TO, "hi")

    assert gateway.name == "twilio"
    assert [message.sid for message in fake_twilio.sent] == [sent.sid]
    gateway.close()
