"""Helpers shared by the benchmarks: a fresh PostgreSQL database and a fake Twilio server
in a process of its own (so it does not share the GIL with what is measured)."""

from __future__ import annotations

import csv
import os
import platform
import subprocess
import sys
import uuid
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SERVER = os.environ.get("REMINDERS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def machine() -> str:
    return f"{platform.node()} {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}"


@contextmanager
def fresh_postgres(prefix: str = "reminders_bench") -> Iterator[str]:
    from reminders.migrations import upgrade

    server = sa.make_url(SERVER.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


FAKE_SERVER = """
import sys, time
from tests.fake_twilio import FakeTwilio
fake = FakeTwilio(sys.argv[1], sys.argv[2]).start()
print(fake.base_url, flush=True)
sys.stdin.read()  # until the parent closes our stdin
print(len(fake.sent), flush=True)
"""


@contextmanager
def fake_twilio_process() -> Iterator[tuple[str, str, str, list[int]]]:
    """(base_url, account_sid, auth_token, [messages created]) of a fake in its own process."""
    sid, token = "AC" + uuid.uuid4().hex, uuid.uuid4().hex
    process = subprocess.Popen([sys.executable, "-c", FAKE_SERVER, sid, token], cwd=ROOT,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    base_url = process.stdout.readline().strip()
    created: list[int] = []
    try:
        yield base_url, sid, token, created
    finally:
        process.stdin.close()
        created.append(int(process.stdout.readline().strip() or 0))
        process.wait(timeout=30)


def write_register(path: Path, count: int, starts: list[date], offset: int = 0) -> None:
    """A clinic register export with `count` rows, ART start dates cycling through `starts`."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["phone", "language", "art_start_date", "consent", "cd4"])
        languages = ["en", "sw", "es", "fr", "pt"]
        for i in range(count):
            writer.writerow([f"07{(offset + i) % 100_000_000:08d}", languages[i % 5],
                             starts[i % len(starts)].isoformat(), "yes", 250])


def days(start: date, count: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(count)]
