"""Settings, read once from the environment at start-up (names are a contract: DESIGN.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(Exception):
    """A missing or malformed setting: the message names it in one line."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REMINDERS_", extra="ignore", frozen=True)

    database_url: str = "sqlite:///./reminders.db"
    public_url: str = "http://127.0.0.1:8000"
    secret_key: str = Field(default="dev-only-change-me", min_length=16)
    sms_gateway: Literal["local", "twilio"] | None = None
    twilio_api_base: str | None = None
    spool_dir: Path = Path("./spool")
    protocol_file: Path | None = None  # a copy of reminders/data/protocols/default.toml
    dispatch_rate: float = Field(default=10.0, gt=0)  # messages per second per sender
    dispatch_concurrency: int = Field(default=4, ge=1, le=64)
    dispatch_batch: int = Field(default=200, ge=1, le=10_000)
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
        """The token inbound webhooks are signed with (also checked with the local gateway)."""
        return self.twilio_auth_token or self.secret_key


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
