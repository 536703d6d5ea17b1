from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from reminders.db import create_db_engine
from tests.helpers import subprocess_env

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pg_engine(postgres_url: str) -> Iterator[sa.Engine]:
    """The run's PostgreSQL database, emptied: for tests that are about PostgreSQL itself."""
    from tests.conftest import _truncate

    engine = create_db_engine(postgres_url)
    _truncate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def reminders_env(fake_twilio, tmp_path) -> Callable[[str], dict[str, str]]:  # type: ignore[no-untyped-def]
    """Environment for a `reminders` subprocess using the real twilio client and the fake."""

    def env(database_url: str, **extra: str) -> dict[str, str]:
        return subprocess_env(fake_twilio, tmp_path / "spool", database_url, **extra)

    return env


def start_reminders(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "reminders", *args], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
