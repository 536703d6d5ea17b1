"""Staff passwords (Argon2id) and API tokens (signed, short-lived)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from reminders.errors import InputError

# OWASP's minimum for Argon2id (19 MiB, 2 iterations, 1 lane): ~15 ms here per hash.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

MIN_PASSWORD = 8
MAX_PASSWORD = 128
_COMMON = {
    "password", "password1", "12345678", "123456789", "1234567890", "qwertyuiop",
    "iloveyou", "11111111", "00000000", "abcd1234", "password123", "admin123",
    "welcome1", "letmein1", "qwerty123", "passw0rd", "changeme",
}


def check_password_policy(password: str) -> None:
    """ASVS: length 8..128, no composition rules, refuse the commonest passwords."""
    if len(password) < MIN_PASSWORD:
        raise InputError("password", f"must be at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InputError("password", f"must be at most {MAX_PASSWORD} characters")
    if password.lower() in _COMMON:
        raise InputError("password", "is one of the most common passwords")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# A hash to verify against when the user does not exist, so timing does not enumerate users.
DUMMY_HASH = _hasher.hash("not-a-real-password")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue_token(secret: str, staff_id: int, now: datetime, ttl: timedelta = timedelta(hours=8)) -> str:
    payload = _b64(json.dumps({"sub": staff_id, "exp": int((now + ttl).timestamp())}).encode())
    signature = _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())
    return f"{payload}.{signature}"


def read_token(secret: str, token: str, now: datetime) -> int | None:
    """The staff id in a valid, unexpired token; None otherwise."""
    try:
        payload, signature = token.split(".", 1)
        expected = _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(signature, expected):
            return None
        data = json.loads(_unb64(payload))
        if int(data["exp"]) < now.timestamp():
            return None
        return int(data["sub"])
    except (ValueError, KeyError, TypeError):
        return None
