"""Small helpers shared by tests (no fixtures here: those live in conftest.py)."""

from __future__ import annotations

import os

import sqlalchemy as sa
from sqlmodel import SQLModel

import reminders.models  # noqa: F401


def snapshot(engine: sa.Engine) -> dict[str, list[tuple]]:
    """Every row of every table, to prove that a refused command changed nothing."""
    state = {}
    with engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            rows = connection.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
            state[table.name] = [tuple(row) for row in rows]
    return state


def subprocess_env(fake_twilio, spool_dir, database_url: str, **extra: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Environment for a `reminders` subprocess: the real twilio client talking to the fake
    server, this run's database and spool, nothing inherited from REMINDERS_/TWILIO_."""
    values = {k: v for k, v in os.environ.items() if not k.startswith(("REMINDERS_", "TWILIO_"))}
    values.update({
        "REMINDERS_DATABASE_URL": database_url,
        "REMINDERS_SECRET_KEY": "test-secret-key-0123456789-serving-length",  # serve wants 32+
        "REMINDERS_PUBLIC_URL": "https://reminders.example.org",
        "REMINDERS_SMS_GATEWAY": "twilio",
        "REMINDERS_TWILIO_API_BASE": fake_twilio.base_url,
        "REMINDERS_SPOOL_DIR": str(spool_dir),
        "TWILIO_ACCOUNT_SID": fake_twilio.account_sid,
        "TWILIO_AUTH_TOKEN": fake_twilio.auth_token,
        "TWILIO_FROM_NUMBER": "+15005550006",
        **extra,
    })
    return values
