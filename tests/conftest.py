"""Shared fixtures. Every database test runs on SQLite and, when REMINDERS_TEST_POSTGRES_URL
is set, on PostgreSQL too: one parametrised `engine` fixture, not two copies of the tests.

REMINDERS_TEST_POSTGRES_URL names a server (e.g. postgresql://postgres@127.0.0.1:5432/postgres);
a fresh database is created on it for the run and dropped at the end. With
REMINDERS_REQUIRE_POSTGRES=1 (CI) a missing or unreachable server fails instead of skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, SQLModel

from reminders.config import Settings
from reminders.db import create_db_engine
from reminders.migrations import upgrade

pytest_plugins = ["tests.fake_twilio"]

POSTGRES_SERVER = os.environ.get("REMINDERS_TEST_POSTGRES_URL", "")
REQUIRE_POSTGRES = os.environ.get("REMINDERS_REQUIRE_POSTGRES") == "1"


def _psycopg_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test run."""
    if not POSTGRES_SERVER:
        if REQUIRE_POSTGRES:
            pytest.fail("REMINDERS_REQUIRE_POSTGRES=1 but REMINDERS_TEST_POSTGRES_URL is not set")
        pytest.skip("REMINDERS_TEST_POSTGRES_URL is not set")
    server = sa.make_url(_psycopg_url(POSTGRES_SERVER))
    name = f"reminders_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL unreachable: {exc.orig}")
        pytest.skip(f"PostgreSQL unreachable: {exc.orig}")
    url = server.set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate(engine: sa.Engine) -> None:
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database: a new SQLite file, or the run's PostgreSQL emptied."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.db'}"
        upgrade(url)
        yield url
        return
    url = request.getfixturevalue("postgres_url")
    engine = create_db_engine(url)
    _truncate(engine)
    engine.dispose()
    yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = create_db_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: sa.Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        public_url="https://reminders.example.org",
        secret_key="test-secret-key-0123456789",
        sms_gateway="local",
        spool_dir=tmp_path / "spool",
        twilio_auth_token="test-auth-token",
    )


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 12, 1, 6, 5, tzinfo=timezone.utc)  # 09:05 in Nairobi


@pytest.fixture(autouse=True)
def _no_real_twilio(block_real_twilio: None) -> None:
    """Every test: resolving a *.twilio.com host fails loudly (STYLE.md, habit 9)."""
