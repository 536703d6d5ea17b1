"""The Alembic migrations and the SQLModel tables describe the same schema, on both engines."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import reminders.models  # noqa: F401
from reminders.db import create_db_engine
from reminders.migrations import upgrade


def test_models_and_migrations_agree(database_url):
    engine = create_db_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    engine.dispose()
    assert differences == []


def test_upgrade_is_idempotent_and_has_the_hot_indexes(database_url):
    upgrade(database_url)  # a second run changes nothing and does not fail
    engine = create_db_engine(database_url)
    inspector = sa.inspect(engine)
    indexes = {ix["name"]: ix["column_names"] for table in ("checkin", "message", "queue_item")
               for ix in inspector.get_indexes(table)}
    engine.dispose()
    assert indexes["ix_checkin_status_due_at"] == ["status", "due_at"]
    assert indexes["ix_queue_item_clinic_status_rank"][:3] == ["clinic_id", "status", "rank"]
    unique = {tuple(c["column_names"]) for c in sa.inspect(create_db_engine(database_url)).get_unique_constraints("message")}
    unique |= {tuple(ix["column_names"]) for ix in sa.inspect(create_db_engine(database_url)).get_indexes("message") if ix.get("unique")}
    assert ("provider_sid",) in unique
