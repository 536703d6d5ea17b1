"""Status ranks and error classification (pure)."""

import pytest

from reminders.delivery import (
    STATUS_RANK,
    ErrorKind,
    classify_delivery_error,
    classify_error,
    is_final,
    should_apply,
)


def test_error_kind_compares_equal_to_its_string():
    assert ErrorKind.OPTED_OUT == "opted_out"
    assert ErrorKind("unknown") is ErrorKind.UNKNOWN


@pytest.mark.parametrize(
    "before, after",
    [
        ("queued", "sending"),
        ("accepted", "sent"),
        ("sending", "sent"),
        ("sent", "delivered"),
        ("sent", "undelivered"),
        ("queued", "failed"),
        ("delivered", "read"),
        ("scheduled", "queued"),
        ("scheduled", "canceled"),
    ],
)
def test_status_moves_forward(before, after):
    assert STATUS_RANK[before] < STATUS_RANK[after]
    assert should_apply(before, after)


def test_late_sent_never_overwrites_delivered():
    assert not should_apply("delivered", "sent")
    assert not should_apply("delivered", "sending")
    assert not should_apply("delivered", "queued")


@pytest.mark.parametrize("terminal", ["failed", "undelivered", "canceled", "received", "read"])
@pytest.mark.parametrize("new", ["queued", "sent", "delivered", "read", "failed"])
def test_terminal_status_never_changes(terminal, new):
    assert not should_apply(terminal, new)


def test_equal_rank_changes_nothing():
    assert not should_apply("sent", "sent")  # a duplicate callback
    assert not should_apply("queued", "accepted")
    assert not should_apply("delivered", "undelivered")


def test_first_status_always_applies_and_unknown_statuses_are_ignored():
    assert should_apply(None, "queued")
    assert should_apply(None, "delivered")
    assert not should_apply(None, "exploded")
    assert not should_apply("sent", "exploded")
    assert should_apply("something-old", "sent")  # an unknown stored status ranks lowest


def test_is_final():
    assert is_final("delivered") and is_final("failed") and is_final("read")
    assert not is_final("sent") and not is_final("queued") and not is_final(None)


@pytest.mark.parametrize(
    "code, status, kind",
    [
        (21610, 400, ErrorKind.OPTED_OUT),
        (21211, 400, ErrorKind.INVALID_NUMBER),
        (21614, 400, ErrorKind.INVALID_NUMBER),
        (21635, 400, ErrorKind.INVALID_NUMBER),
        (21217, 400, ErrorKind.INVALID_NUMBER),
        (21401, 400, ErrorKind.INVALID_NUMBER),
        (21407, 400, ErrorKind.INVALID_NUMBER),
        (21408, 400, ErrorKind.INVALID_NUMBER),
        (21612, 400, ErrorKind.INVALID_NUMBER),
        (20429, 429, ErrorKind.TRANSIENT),
        (None, 429, ErrorKind.TRANSIENT),
        (20429, None, ErrorKind.TRANSIENT),
        (21611, 400, ErrorKind.TRANSIENT),
        (20500, 500, ErrorKind.TRANSIENT),
        (None, 503, ErrorKind.TRANSIENT),
        (20003, 401, ErrorKind.PERMANENT),
        (20404, 404, ErrorKind.PERMANENT),
        (21602, 400, ErrorKind.PERMANENT),
        (21603, 400, ErrorKind.PERMANENT),
        (None, None, ErrorKind.UNKNOWN),
        (12345, None, ErrorKind.UNKNOWN),
    ],
)
def test_classify_error(code, status, kind):
    assert classify_error(code, status) is kind


@pytest.mark.parametrize(
    "code, kind",
    [
        (30003, ErrorKind.TRANSIENT),
        (30008, ErrorKind.TRANSIENT),
        (30004, ErrorKind.PERMANENT),
        (30007, ErrorKind.PERMANENT),
        (30005, ErrorKind.INVALID_NUMBER),
        (30006, ErrorKind.INVALID_NUMBER),
        (21610, ErrorKind.OPTED_OUT),
        ("30003", ErrorKind.TRANSIENT),  # status callbacks carry form strings
        (39999, ErrorKind.PERMANENT),  # unknown failure: do not resend blindly
    ],
)
def test_classify_delivery_error(code, kind):
    assert classify_delivery_error(code) is kind


@pytest.mark.parametrize("code", [None, "", 0, "0"])
def test_no_delivery_error(code):
    assert classify_delivery_error(code) is None
