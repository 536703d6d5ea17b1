from __future__ import annotations

from collections.abc import Callable

import pytest
from typer.testing import CliRunner

from reminders.cli import app


@pytest.fixture
def cli_env(settings) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The REMINDERS_ settings of a `reminders` command on the test database (local gateway)."""
    return {
        "REMINDERS_DATABASE_URL": settings.database_url,
        "REMINDERS_SECRET_KEY": settings.secret_key,
        "REMINDERS_SMS_GATEWAY": "local",
        "REMINDERS_SPOOL_DIR": str(settings.spool_dir),
        "REMINDERS_PUBLIC_URL": settings.public_url,
    }


@pytest.fixture
def cli(cli_env, monkeypatch) -> Callable[..., object]:  # type: ignore[no-untyped-def]
    """Run `reminders ...` in-process against the test database; returns the click Result."""
    env = cli_env
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER",
                 "TWILIO_MESSAGING_SERVICE_SID"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()

    def run(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
        return runner.invoke(app, list(args), env=env, input=input, catch_exceptions=False)

    return run


@pytest.fixture
def kibera(cli):  # type: ignore[no-untyped-def]
    result = cli("clinic", "add", "KIB", "--name", "Kibera Clinic", "--timezone", "Africa/Nairobi",
                 "--country", "KE", "--phone", "+254700000001")
    assert result.exit_code == 0, result.output
    return "KIB"
