"""Message statuses and Twilio errors, classified once (pure: no I/O, no clock).

Services branch on an `ErrorKind`, never on raw Twilio codes (STYLE.md, habit 7).

Status callbacks arrive out of order and more than once (Twilio says so), so a status
only moves forward: `should_apply(current, new)`.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    """What a failure means for the caller. A StrEnum: `ErrorKind.OPTED_OUT == "opted_out"`."""

    OPTED_OUT = "opted_out"  # the recipient sent STOP: never retry, mark the patient opted out
    INVALID_NUMBER = "invalid_number"  # not a usable mobile number: staff must fix it
    PERMANENT = "permanent"  # retrying the same request will fail the same way
    TRANSIENT = "transient"  # nothing was sent; trying again later may work
    UNKNOWN = "unknown"  # ambiguous: the message may or may not have been sent


# --- statuses -------------------------------------------------------------------------

# Twilio's message statuses, ranked along the life of a message. A status never steps
# back to a lower rank, and statuses of equal rank do not replace each other (the first
# final answer wins: a late "failed" does not overwrite "undelivered" or "delivered").
STATUS_RANK: dict[str, int] = {
    "scheduled": 0,  # a scheduled message, not yet handed over
    "accepted": 1,  # first status with a Messaging Service (no callback is sent for it)
    "queued": 1,  # first status with a From number (no callback is sent for it)
    "sending": 2,
    "receiving": 2,  # inbound, still arriving
    "sent": 3,  # handed to the carrier; final when the carrier never confirms delivery
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "canceled": 4,  # a scheduled message canceled before sending
    "partially_delivered": 4,
    "received": 4,  # inbound, complete
    "read": 5,  # after delivered (WhatsApp and RCS only)
}

# Statuses after which nothing can change. "delivered" is not here: "read" may follow it.
TERMINAL_STATUSES: frozenset[str] = frozenset(
    {"undelivered", "failed", "canceled", "received", "read"}
)

# Statuses meaning the message did not reach the phone.
FAILED_STATUSES: frozenset[str] = frozenset({"undelivered", "failed", "canceled"})


def should_apply(current: str | None, new: str) -> bool:
    """True when a status callback saying `new` should replace the stored `current` status.

    Unknown new statuses are ignored; an unknown stored status is treated as the lowest.
    """
    new_rank = STATUS_RANK.get(new)
    if new_rank is None:
        return False
    if current is None:
        return True
    if current in TERMINAL_STATUSES:
        return False
    return new_rank > STATUS_RANK.get(current, -1)


def is_final(status: str | None) -> bool:
    """True for statuses that end a message's life (delivered counts: read is a bonus)."""
    return status is not None and (status in TERMINAL_STATUSES or status == "delivered")


# --- API errors (answers to our requests) --------------------------------------------

OPTED_OUT_CODES: frozenset[int] = frozenset({21610})  # "Attempt to send to unsubscribed recipient"

INVALID_NUMBER_CODES: frozenset[int] = frozenset(
    {
        21211,  # invalid 'To' phone number
        21214,  # 'To' phone number cannot be reached
        21217,  # phone number does not appear to be valid
        21401,  # invalid phone number
        21407,  # this phone number type does not support SMS
        21408,  # permission to send an SMS has not been enabled for the region
        21612,  # 'To' number not reachable via SMS from the 'From' number
        21614,  # 'To' number is not a valid mobile number
        21635,  # 'To' number cannot be a landline
    }
)

TRANSIENT_API_CODES: frozenset[int] = frozenset(
    {
        20429,  # too many concurrent requests
        21611,  # more than 10 hours of messages queued on this sender: try later
        20500,  # internal server error
        20503,  # service unavailable
    }
)


def classify_error(code: int | None, http_status: int | None) -> ErrorKind:
    """The kind of an error answer from Twilio's REST API.

    A 5xx is classified TRANSIENT here; but on a message *create* a 5xx is ambiguous
    (Twilio may have created the message before failing): the gateway reconciles by
    listing messages before it treats the error as transient.
    """
    if code in OPTED_OUT_CODES:
        return ErrorKind.OPTED_OUT
    if code in INVALID_NUMBER_CODES:
        return ErrorKind.INVALID_NUMBER
    if code in TRANSIENT_API_CODES or http_status == 429:
        return ErrorKind.TRANSIENT
    if http_status is not None and http_status >= 500:
        return ErrorKind.TRANSIENT
    if http_status is not None and 400 <= http_status < 500:
        return ErrorKind.PERMANENT  # bad request, authentication, not found: same again fails
    return ErrorKind.UNKNOWN


# --- delivery errors (ErrorCode in status callbacks) ---------------------------------

DELIVERY_ERROR_KINDS: dict[int, ErrorKind] = {
    30001: ErrorKind.TRANSIENT,  # queue overflow
    30003: ErrorKind.TRANSIENT,  # unreachable destination handset (off, out of coverage)
    30008: ErrorKind.TRANSIENT,  # unknown error from the carrier
    30009: ErrorKind.TRANSIENT,  # missing segment
    30002: ErrorKind.PERMANENT,  # account suspended
    30004: ErrorKind.PERMANENT,  # message blocked (by the recipient or the carrier)
    30007: ErrorKind.PERMANENT,  # filtered by the carrier as spam
    30010: ErrorKind.PERMANENT,  # price exceeds max price
    30034: ErrorKind.PERMANENT,  # US A2P 10DLC: sender not registered
    30005: ErrorKind.INVALID_NUMBER,  # unknown destination handset
    30006: ErrorKind.INVALID_NUMBER,  # landline or unreachable carrier
    21610: ErrorKind.OPTED_OUT,
}


def classify_delivery_error(code: int | str | None) -> ErrorKind | None:
    """The kind of a delivery failure reported by a status callback's ErrorCode.

    None when there is no error (absent, blank or 0). A failure code we do not know is
    PERMANENT: the message did not arrive and we have no reason to expect a resend to.
    """
    if code is None or code == "":
        return None
    try:
        number = int(code)
    except (TypeError, ValueError):
        return ErrorKind.PERMANENT
    if number == 0:
        return None
    if number in DELIVERY_ERROR_KINDS:
        return DELIVERY_ERROR_KINDS[number]
    if number in OPTED_OUT_CODES:
        return ErrorKind.OPTED_OUT
    if number in INVALID_NUMBER_CODES:
        return ErrorKind.INVALID_NUMBER
    return ErrorKind.PERMANENT
