"""The fake Twilio server speaks Twilio's HTTP: raw requests and the real twilio client."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tests.fake_twilio import FakeTwilio, segment_count, sign  # fixture fake_twilio: conftest

FROM = "+15005550006"
TO = "+254712345678"


def post(fake: FakeTwilio, data: dict, auth: tuple[str, str] | None = None) -> requests.Response:
    return requests.post(
        fake.base_url + fake.messages_uri,
        data=data,
        auth=auth or (fake.account_sid, fake.auth_token),
        timeout=5,
    )


def get(fake: FakeTwilio, path: str, params: dict | None = None) -> requests.Response:
    return requests.get(
        fake.base_url + path, params=params, auth=(fake.account_sid, fake.auth_token), timeout=5
    )


@pytest.fixture
def client(fake_twilio: FakeTwilio) -> Client:
    # The other way to point the real client elsewhere (NOTES.md): the api domain's base_url.
    client = Client(fake_twilio.account_sid, fake_twilio.auth_token)
    client.api.base_url = fake_twilio.base_url
    return client


def assert_twilio_error(response: requests.Response, status: int, code: int) -> None:
    assert response.status_code == status
    body = response.json()
    assert body["code"] == code
    assert body["status"] == status
    assert body["message"]
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{code}"


def test_create_answers_201_with_a_message_resource(fake_twilio):
    response = post(fake_twilio, {"To": TO, "From": FROM, "Body": "Hello", "StatusCallback": "http://cb/x"})

    assert response.status_code == 201
    message = response.json()
    assert re.fullmatch(r"SM[0-9a-f]{32}", message["sid"])
    assert message["status"] == "queued"
    assert message["direction"] == "outbound-api"
    assert (message["to"], message["from"], message["body"]) == (TO, FROM, "Hello")
    assert message["num_segments"] == "1"
    assert message["date_sent"] is None  # not sent yet
    created = parsedate_to_datetime(message["date_created"])
    assert abs(created - datetime.now(timezone.utc)) < timedelta(seconds=5)
    assert message["date_created"].endswith("+0000")
    assert message["uri"] == f"/2010-04-01/Accounts/{fake_twilio.account_sid}/Messages/{message['sid']}.json"
    assert message["account_sid"] == fake_twilio.account_sid
    assert message["api_version"] == "2010-04-01"
    assert fake_twilio.sent[0].status_callback == "http://cb/x"


def test_create_with_a_messaging_service_is_accepted_without_a_sender_yet(fake_twilio):
    service = "MG" + "a" * 32
    message = post(fake_twilio, {"To": TO, "MessagingServiceSid": service, "Body": "Hi"}).json()

    assert message["status"] == "accepted"
    assert message["messaging_service_sid"] == service
    assert message["from"] is None
    assert message["num_segments"] == "0"


@pytest.mark.parametrize(
    "data, code",
    [
        ({"From": FROM, "Body": "x"}, 21604),
        ({"To": TO, "Body": "x"}, 21603),
        ({"To": TO, "From": FROM}, 21602),
        ({"To": TO, "From": FROM, "Body": ""}, 21602),
        ({"To": TO, "From": FROM, "Body": "x" * 1601}, 21617),
        ({"To": "not a number", "From": FROM, "Body": "x"}, 21211),
        ({"To": TO, "MessagingServiceSid": "MGbad", "Body": "x"}, 21701),
    ],
)
def test_create_validates_like_twilio(fake_twilio, data, code):
    assert_twilio_error(post(fake_twilio, data), 400, code)
    assert fake_twilio.sent == []


def test_bad_credentials_get_401_and_are_recorded(fake_twilio):
    response = post(fake_twilio, {"To": TO, "From": FROM, "Body": "x"}, auth=(fake_twilio.account_sid, "wrong"))

    assert_twilio_error(response, 401, 20003)
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert [request.status for request in fake_twilio.requests] == [401]
    assert fake_twilio.sent == []


def test_another_accounts_path_is_not_found(fake_twilio):
    response = get(fake_twilio, "/2010-04-01/Accounts/AC" + "0" * 32 + "/Messages.json")
    assert_twilio_error(response, 404, 20404)


def test_fetch_a_message_and_an_unknown_one(fake_twilio):
    sid = post(fake_twilio, {"To": TO, "From": FROM, "Body": "x"}).json()["sid"]
    base = f"/2010-04-01/Accounts/{fake_twilio.account_sid}/Messages/"

    assert get(fake_twilio, base + sid + ".json").json()["sid"] == sid
    assert_twilio_error(get(fake_twilio, base + "SM" + "0" * 32 + ".json"), 404, 20404)


def test_segments_follow_gsm_and_ucs2_limits():
    assert segment_count("a" * 160) == 1
    assert segment_count("a" * 161) == 2
    assert segment_count("a" * 306) == 2
    assert segment_count("a" * 307) == 3
    assert segment_count("€" * 80) == 1  # extension characters count twice
    assert segment_count("€" * 81) == 2
    assert segment_count("ŝ" * 70) == 1  # outside GSM-7: UCS-2
    assert segment_count("ŝ" * 71) == 2


def test_real_client_lists_across_pages_newest_first(fake_twilio, client):
    sids = [client.messages.create(to=TO, from_=FROM, body=f"m{i}").sid for i in range(5)]
    client.messages.create(to="+254700000000", from_=FROM, body="other")

    listed = client.messages.list(to=TO, page_size=2)

    assert [message.sid for message in listed] == list(reversed(sids))
    lists = [request for request in fake_twilio.requests if request.kind == "list"]
    assert len(lists) == 3
    assert lists[1].query["PageToken"] == ["PA" + sids[3]]  # the last of page 0
    assert lists[1].query["To"] == [TO]


def test_list_page_has_twilio_paging_fields(fake_twilio):
    for i in range(3):
        post(fake_twilio, {"To": TO, "From": FROM, "Body": str(i)})
    page = get(fake_twilio, fake_twilio.messages_uri, {"To": TO, "PageSize": 2}).json()

    assert page["page"] == 0 and page["page_size"] == 2 and page["start"] == 0 and page["end"] == 1
    assert len(page["messages"]) == 2
    assert page["previous_page_uri"] is None
    assert page["next_page_uri"].startswith(fake_twilio.messages_uri + "?To=%2B254712345678&PageSize=2&Page=1&PageToken=PA")
    last = get(fake_twilio, page["next_page_uri"]).json()
    assert len(last["messages"]) == 1 and last["next_page_uri"] is None


def test_date_sent_filters_by_day_or_time_and_skip_unsent_messages(fake_twilio, client):
    day = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
    early = fake_twilio.add_inbound(TO, FROM, "early", date_sent=day - timedelta(days=1))
    on_day = fake_twilio.add_inbound(TO, FROM, "on day", date_sent=day)
    late = fake_twilio.add_inbound(TO, FROM, "late", date_sent=day + timedelta(hours=5))
    client.messages.create(to=TO, from_=FROM, body="queued, no date_sent")

    by_day = client.messages.list(date_sent_after="2026-12-01")
    by_time = client.messages.list(date_sent_after=day + timedelta(hours=1))
    before = client.messages.list(date_sent_before="2026-12-01")  # before midnight on that day
    exact_day = client.messages.list(date_sent="2026-12-01")

    assert {m.sid for m in by_day} == {on_day.sid, late.sid}
    assert {m.sid for m in by_time} == {late.sid}
    assert {m.sid for m in before} == {early.sid}
    assert {m.sid for m in exact_day} == {on_day.sid, late.sid}


def test_inbound_messages_are_listed_as_inbound(fake_twilio, client):
    sent_at = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
    inbound = fake_twilio.add_inbound(TO, FROM, "nina homa", date_sent=sent_at)

    [message] = client.messages.list(to=FROM)

    assert message.sid == inbound.sid
    assert message.direction == "inbound"
    assert message.status == "received"
    assert (message.from_, message.to, message.body) == (TO, FROM, "nina homa")
    assert message.date_sent == sent_at


def test_fail_next_answers_twilio_errors_then_recovers(fake_twilio):
    fake_twilio.fail_next(1, status=429, retry_after=2)

    busy = post(fake_twilio, {"To": TO, "From": FROM, "Body": "x"})
    assert_twilio_error(busy, 429, 20429)
    assert busy.headers["Retry-After"] == "2"
    assert fake_twilio.sent == []

    assert post(fake_twilio, {"To": TO, "From": FROM, "Body": "x"}).status_code == 201
    assert [request.status for request in fake_twilio.create_requests] == [429, 201]


def test_fail_next_can_create_before_failing(fake_twilio):
    fake_twilio.fail_next(1, status=500, create=True)

    assert_twilio_error(post(fake_twilio, {"To": TO, "From": FROM, "Body": "x"}), 500, 20500)
    assert len(fake_twilio.sent) == 1


def test_fail_next_only_hits_the_requests_it_targets(fake_twilio):
    fake_twilio.fail_next(1, status=503, on="list")

    assert post(fake_twilio, {"To": TO, "From": FROM, "Body": "x"}).status_code == 201
    assert_twilio_error(get(fake_twilio, fake_twilio.messages_uri), 503, 20503)
    assert get(fake_twilio, fake_twilio.messages_uri).status_code == 200


def test_delay_next_answers_late(fake_twilio):
    fake_twilio.delay_next(1, 0.3)
    started = time.monotonic()

    assert post(fake_twilio, {"To": TO, "From": FROM, "Body": "x"}).status_code == 201
    assert time.monotonic() - started >= 0.3


@pytest.mark.parametrize("code", [21610, 21211, 21614])
def test_rejected_number_gets_a_permanent_error(fake_twilio, code):
    fake_twilio.reject_number(TO, code=code)

    assert_twilio_error(post(fake_twilio, {"To": TO, "From": FROM, "Body": "x"}), 400, code)
    assert post(fake_twilio, {"To": "+254700000001", "From": FROM, "Body": "x"}).status_code == 201


def test_magic_test_numbers_fail_like_twilio_test_credentials(fake_twilio):
    assert_twilio_error(post(fake_twilio, {"To": "+15005550004", "From": FROM, "Body": "x"}), 400, 21610)
    assert_twilio_error(post(fake_twilio, {"To": "+15005550001", "From": FROM, "Body": "x"}), 400, 21211)


def test_real_client_raises_twilio_errors(fake_twilio, client):
    fake_twilio.reject_number(TO, code=21610)

    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(to=TO, from_=FROM, body="x")

    assert (caught.value.status, caught.value.code) == (400, 21610)


def test_status_callback_payloads_are_signed_like_twilio(fake_twilio, client):
    message = client.messages.create(to=TO, from_=FROM, body="x", status_callback="https://clinic.example/twilio/status")

    url, fields, headers = fake_twilio.signed_status_callback(message.sid, "undelivered", error_code=30003)

    assert url == "https://clinic.example/twilio/status"
    assert fields["MessageSid"] == fields["SmsSid"] == message.sid
    assert fields["MessageStatus"] == fields["SmsStatus"] == "undelivered"
    assert fields["AccountSid"] == fake_twilio.account_sid
    assert (fields["From"], fields["To"], fields["ErrorCode"]) == (FROM, TO, "30003")
    validator = RequestValidator(fake_twilio.auth_token)
    assert validator.validate(url, fields, headers["X-Twilio-Signature"])
    assert not validator.validate(url, {**fields, "MessageStatus": "delivered"}, headers["X-Twilio-Signature"])
    assert sign(url, fields, fake_twilio.auth_token) == headers["X-Twilio-Signature"]
    # The stored message moved too, with a send date.
    fetched = client.messages(message.sid).fetch()
    assert fetched.status == "undelivered" and fetched.error_code == 30003
    assert fetched.date_sent is not None


def test_status_callback_via_messaging_service_names_the_service(fake_twilio):
    service = "MG" + "b" * 32
    sid = post(fake_twilio, {"To": TO, "MessagingServiceSid": service, "Body": "x"}).json()["sid"]

    fields = fake_twilio.status_callback_payloads(sid, "sent")

    assert fields["MessagingServiceSid"] == service
    assert fields["From"] == fake_twilio.service_sender
    assert "ErrorCode" not in fields
    assert fake_twilio.message(sid).num_segments == "1"


def test_stop_closes_idle_keep_alive_connections():
    with FakeTwilio() as fake:
        session = requests.Session()
        session.post(fake.base_url + fake.messages_uri, data={"To": TO, "From": FROM, "Body": "x"},
                     auth=(fake.account_sid, fake.auth_token), timeout=5)
    started = time.monotonic()
    with pytest.raises(requests.ConnectionError):
        session.get(fake.base_url + fake.messages_uri, timeout=2)
    assert time.monotonic() - started < 2
    session.close()
