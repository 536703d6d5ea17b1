"""Phone numbers: whatever a clinic types, E.164 out (pure: phonenumbers' own metadata)."""

from __future__ import annotations

import phonenumbers

from reminders.errors import InputError

_MOBILE_LIKE = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    phonenumbers.PhoneNumberType.UNKNOWN,  # some ranges are not classified; let Twilio decide
}


def normalise_phone(raw: str, country: str, *, field: str = "phone", mobile: bool = True) -> str:
    """Parse `raw` as a number in `country` (ISO alpha-2) and return it in E.164."""
    text = (raw or "").strip()
    if not text:
        raise InputError(field, "is empty")
    try:
        number = phonenumbers.parse(text, country.upper())
    except phonenumbers.NumberParseException as exc:
        raise InputError(field, f"{text!r} is not a phone number ({_reason(exc)})") from None
    if not phonenumbers.is_valid_number(number):
        raise InputError(field, f"{text!r} is not a valid number in {country.upper()}")
    if mobile and phonenumbers.number_type(number) not in _MOBILE_LIKE:
        raise InputError(field, f"{text!r} is not a mobile number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def validate_country(country: str, *, field: str = "country") -> str:
    code = (country or "").strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise InputError(field, f"{country!r} is not an ISO 3166 country code")
    return code


def _reason(exc: phonenumbers.NumberParseException) -> str:
    return {
        phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
        phonenumbers.NumberParseException.NOT_A_NUMBER: "not a number",
        phonenumbers.NumberParseException.TOO_SHORT_NSN: "too short",
        phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
        phonenumbers.NumberParseException.TOO_LONG: "too long",
    }.get(exc.error_type, "unreadable")

