"""Alembic, driven from code: `reminders db upgrade`, start-up and the tests share this."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from reminders.db import create_db_engine

_PACKAGE = Path(__file__).resolve().parent
# Installed wheels carry db/ as reminders/_migrations; a source checkout has it beside us.
_CANDIDATES = (_PACKAGE / "_migrations", _PACKAGE.parent / "db")
_LOCK_ID = 0x52454D49  # any constant: serialises concurrent upgrades on PostgreSQL


def script_location() -> Path:
    for candidate in _CANDIDATES:
        if (candidate / "env.py").exists():
            return candidate
    raise FileNotFoundError("migrations not found (looked in reminders/_migrations and db/)")


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location()))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the schema to `revision`. Safe to run from several processes at once."""
    config = alembic_config(database_url)
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                # Web and worker processes all upgrade at start-up; one at a time.
                connection.execute(sa.text("SELECT pg_advisory_lock(:id)"), {"id": _LOCK_ID})
                connection.commit()
            try:
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
                connection.commit()
            finally:
                if connection.dialect.name == "postgresql":
                    connection.execute(sa.text("SELECT pg_advisory_unlock(:id)"), {"id": _LOCK_ID})
                    connection.commit()
    finally:
        engine.dispose()
