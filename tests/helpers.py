"""Small helpers shared by tests (no fixtures here: those live in conftest.py)."""

from __future__ import annotations

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
