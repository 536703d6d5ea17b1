"""Settings, read once from the environment at start-up (names are a contract: DESIGN.md)."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(Exception):
    """A missing or malformed setting: the message names it in one line."""


# Public (in this repository), so anyone can sign with it: never good enough to serve with.
DEFAULT_SECRET_KEY = "dev-only-change-me"
# `reminders serve` (outside --demo) wants at least this many characters: 32 bytes of
# randomness, e.g. `python3 -c "import secrets; print(secrets.token_urlsafe(32))"` (43).
MIN_SERVING_KEY = 32
# Separates the local webhook-signing key from the staff-token key (both derive from
# REMINDERS_SECRET_KEY): knowing one never gives the other.
_WEBHOOK_KEY_LABEL = b"reminders/local-webhook-signing/v1"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REMINDERS_", extra="ignore", frozen=True)

    database_url: str = "sqlite:///./reminders.db"
    public_url: str = "http://127.0.0.1:8000"
    secret_key: str = Field(default=DEFAULT_SECRET_KEY, min_length=16)
    # Comma-separated keys that used to be REMINDERS_SECRET_KEY: their staff tokens still
    # verify until they expire; only secret_key signs new ones.
    old_secret_keys: str = ""
    # Comma-separated IPs or networks of the reverse proxies whose X-Forwarded-For and
    # X-Forwarded-Proto are believed; empty: nobody's (the peer address is the client).
    trusted_proxies: str = ""
    sms_gateway: Literal["local", "twilio"] | None = None
    twilio_api_base: str | None = None
    spool_dir: Path = Path("./spool")
    protocol_file: Path | None = None  # a copy of reminders/data/protocols/default.toml
    dispatch_rate: float = Field(default=10.0, gt=0)  # messages per second per sender
    dispatch_concurrency: int = Field(default=4, ge=1, le=64)
    dispatch_batch: int = Field(default=200, ge=1, le=10_000)
    # Share of replies triage called ok that go to staff review (deterministic per reply).
    ok_review_rate: float = Field(default=0.05, ge=0, le=1)
    # Message bodies older than this many days are erased (None: kept; services/retention.py).
    retention_days: int | None = Field(default=None, ge=1)
    # How long a claimed message may stay claimed or `sending` without its worker renewing
    # the lease (database clock) before another worker takes it over. A live worker renews it.
    send_lease_seconds: float = Field(default=300.0, gt=0)
    # Twilio waits 15 s for a webhook: past this budget the reply is spooled instead.
    webhook_budget_seconds: float = Field(default=5.0, gt=0, le=12)

    # Twilio's own names, without our prefix.
    twilio_account_sid: str | None = Field(default=None, validation_alias="TWILIO_ACCOUNT_SID")
    twilio_auth_token: str | None = Field(default=None, validation_alias="TWILIO_AUTH_TOKEN")
    twilio_from_number: str | None = Field(default=None, validation_alias="TWILIO_FROM_NUMBER")
    twilio_messaging_service_sid: str | None = Field(
        default=None, validation_alias="TWILIO_MESSAGING_SERVICE_SID"
    )

    @field_validator("database_url")
    @classmethod
    def _known_engine(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
            raise ValueError("must start with sqlite: or postgresql:")
        if value.startswith("postgresql:"):
            value = "postgresql+psycopg:" + value[len("postgresql:"):]
        return value

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses(cls, value: str) -> str:
        for item in _split(value):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network") from None
        return value

    @field_validator("old_secret_keys")
    @classmethod
    def _old_keys(cls, value: str) -> str:
        if any(len(key) < 16 for key in _split(value)):
            raise ValueError("each key needs at least 16 characters")
        return value

    @model_validator(mode="after")
    def _gateway_has_credentials(self) -> "Settings":
        if self.gateway == "twilio":
            missing = [
                name
                for name, value in (
                    ("TWILIO_ACCOUNT_SID", self.twilio_account_sid),
                    ("TWILIO_AUTH_TOKEN", self.twilio_auth_token),
                )
                if not value
            ]
            if not (self.twilio_from_number or self.twilio_messaging_service_sid):
                missing.append("TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID")
            if missing:
                raise ValueError(f"REMINDERS_SMS_GATEWAY=twilio needs {', '.join(missing)}")
        return self

    @property
    def gateway(self) -> str:
        """`local` unless asked otherwise or Twilio credentials are set."""
        if self.sms_gateway:
            return self.sms_gateway
        return "twilio" if self.twilio_account_sid and self.twilio_auth_token else "local"

    @property
    def status_callback_url(self) -> str | None:
        """Where Twilio posts delivery statuses (nowhere with the local gateway)."""
        return self.public_url + "/twilio/status" if self.gateway == "twilio" else None

    @property
    def webhook_auth_token(self) -> str:
        """The token inbound webhooks are signed with (also checked with the local gateway).

        Twilio's auth token when set; otherwise a key derived from the secret key with a
        label (HMAC-SHA256), so that a webhook signature never reveals the key that signs
        staff tokens, and the two can never be confused.
        """
        if self.twilio_auth_token:
            return self.twilio_auth_token
        return hmac.new(self.secret_key.encode(), _WEBHOOK_KEY_LABEL, hashlib.sha256).hexdigest()

    @property
    def token_keys(self) -> list[str]:
        """The keys staff tokens verify with, oldest first; the last (the current) signs."""
        return [*_split(self.old_secret_keys), self.secret_key]

    @property
    def trusted_proxy_list(self) -> list[str]:
        return _split(self.trusted_proxies)

    def check_serving_key(self) -> None:
        """Refuse to serve with the public default key or a short one (SettingsError)."""
        if self.secret_key == DEFAULT_SECRET_KEY:
            raise SettingsError("REMINDERS_SECRET_KEY: the default key is public; set your own "
                                f"({MIN_SERVING_KEY}+ random characters) or use `serve --demo`")
        if len(self.secret_key) < MIN_SERVING_KEY:
            raise SettingsError(f"REMINDERS_SECRET_KEY: must be at least {MIN_SERVING_KEY} "
                                f"characters to serve (it has {len(self.secret_key)})")
        if DEFAULT_SECRET_KEY in _split(self.old_secret_keys):
            raise SettingsError("REMINDERS_OLD_SECRET_KEYS: the default key is public: remove it")


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


_ENV_NAMES = {
    "twilio_account_sid": "TWILIO_ACCOUNT_SID",
    "twilio_auth_token": "TWILIO_AUTH_TOKEN",
    "twilio_from_number": "TWILIO_FROM_NUMBER",
    "twilio_messaging_service_sid": "TWILIO_MESSAGING_SERVICE_SID",
}


def load_settings(**overrides: object) -> Settings:
    """Build the settings, turning a validation error into one line naming the variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else ""
        name = _ENV_NAMES.get(field) or (f"REMINDERS_{field.upper()}" if field else "settings")
        reason = error["msg"].removeprefix("Value error, ")
        raise SettingsError(f"{name}: {reason}") from None
