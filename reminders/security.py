"""Staff passwords (Argon2id) and API tokens (signed, short-lived)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeSerializer

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


# Staff tokens: itsdangerous signs {"sub", "ver", "exp"} with HMAC-SHA256 under a key
# derived from REMINDERS_SECRET_KEY and this salt (so it is never the webhook key). Given
# several keys (rotation), the newest signs and every one verifies. Expiry is in the
# payload and judged against the caller's `now`, like every other clock here; "ver" is
# the staff row's token_version, so bumping it revokes every token issued before.
TOKEN_SALT = "reminders.staff-token"
TOKEN_TTL = timedelta(hours=8)


@dataclass(frozen=True)
class TokenClaims:
    staff_id: int
    version: int


def _serializer(keys: str | list[str]) -> URLSafeSerializer:
    return URLSafeSerializer(
        keys if isinstance(keys, list) else [keys], salt=TOKEN_SALT,
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha256},
    )


def issue_token(keys: str | list[str], staff_id: int, now: datetime, *, version: int = 0,
                ttl: timedelta = TOKEN_TTL) -> str:
    """A signed token for `staff_id`, signed with the newest of `keys` (the last)."""
    return _serializer(keys).dumps(
        {"sub": staff_id, "ver": version, "exp": int((now + ttl).timestamp())})


def read_token(keys: str | list[str], token: str, now: datetime) -> TokenClaims | None:
    """The claims of a valid, unexpired token signed with any of `keys`; None otherwise."""
    try:
        data = _serializer(keys).loads(token)
        if int(data["exp"]) < now.timestamp():
            return None
        return TokenClaims(int(data["sub"]), int(data["ver"]))
    except (BadSignature, ValueError, KeyError, TypeError):
        return None
