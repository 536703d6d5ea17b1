"""Engines and sessions: SQLite (the embedded default) or PostgreSQL (the scale-out engine).

Time budgets: a database that hangs (a held lock, an overloaded or frozen server) must
not hold a caller forever. Every PostgreSQL connection gives up connecting after
CONNECT_TIMEOUT seconds; a unit of work opened with `session_scope(engine, timeout=s)`
also gives up on any statement or lock wait after `s` seconds (PostgreSQL
statement_timeout and lock_timeout for that transaction, SQLite's busy timeout), with
an OperationalError the caller can act on (the webhook spools the reply).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlmodel import Session

CONNECT_TIMEOUT = 5  # seconds; libpq's default is to wait forever
SQLITE_BUSY_TIMEOUT_MS = 30_000  # the default wait for SQLite's write lock
TIMEOUT_OPTION = "reminders_timeout"  # execution option: seconds, for one transaction
# libpq: give up connecting after CONNECT_TIMEOUT; drop a connection whose sent data goes
# unacknowledged for 15 s or whose peer is silent (keepalives): a network partition then
# ends in an error instead of a thread blocked for ever. A slow query is not affected.
T = TypeVar("T")
WEBHOOK_THREADS = 16  # threads (and pooled connections) per process for the webhooks' database work
POSTGRES_CONNECT_ARGS = {"connect_timeout": CONNECT_TIMEOUT, "tcp_user_timeout": 15_000, "keepalives": 1,
                         "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}


def create_db_engine(url: str, **kwargs: object) -> sa.Engine:
    # A failed statement's parameters (phones, bodies, notes) must never reach a traceback.
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            **kwargs,
        )
        _tune_sqlite(engine)
        return engine
    engine = sa.create_engine(url, pool_pre_ping=True, connect_args=POSTGRES_CONNECT_ARGS, **kwargs)
    _tune_postgresql(engine)
    return engine


def create_webhook_engine(engine: sa.Engine, timeout: float) -> sa.Engine | None:
    """The Twilio webhooks' own PostgreSQL pool (None on SQLite: they use `engine`).

    Autocommit, and every statement and lock wait bounded by `timeout` seconds for the
    connection's whole life (set when it connects): a reply is then one read and one
    write, with no BEGIN, SET LOCAL or COMMIT round trips. No pre-ping either: a
    connection found dead is retried once on a fresh one by the caller (`retry_once`).
    Sized like the webhooks' thread limiter (WEBHOOK_THREADS), so a thread never waits for
    a connection, and kept: overflow connections would be opened and closed per burst (a
    new server process each time).
    """
    if engine.dialect.name != "postgresql":
        return None
    milliseconds = max(1, int(timeout * 1000))
    options = f"-c statement_timeout={milliseconds} -c lock_timeout={milliseconds}"
    return sa.create_engine(engine.url, hide_parameters=True, isolation_level="AUTOCOMMIT",
                            pool_size=WEBHOOK_THREADS, max_overflow=0,
                            connect_args={**POSTGRES_CONNECT_ARGS, "options": options})


_WEBHOOK_ENGINES: "weakref.WeakKeyDictionary[sa.Engine, tuple[float, sa.Engine | None]]" = weakref.WeakKeyDictionary()
_WEBHOOK_ENGINES_LOCK = threading.Lock()


def webhook_engine_for(engine: sa.Engine, timeout: float) -> sa.Engine | None:
    """`create_webhook_engine(engine, timeout)`, made once per engine and timeout (every app
    built on one engine shares it) and disposed with `engine`."""
    with _WEBHOOK_ENGINES_LOCK:
        known = _WEBHOOK_ENGINES.get(engine)
        if known is not None and known[0] == timeout:
            return known[1]
        webhook = create_webhook_engine(engine, timeout)
        if known is not None and known[1] is not None:
            known[1].dispose()
        else:
            event.listen(engine, "engine_disposed", _dispose_webhook_engine)
        _WEBHOOK_ENGINES[engine] = (timeout, webhook)
        return webhook


def _dispose_webhook_engine(engine: sa.Engine) -> None:
    with _WEBHOOK_ENGINES_LOCK:
        known = _WEBHOOK_ENGINES.get(engine)
    if known is not None and known[1] is not None:
        known[1].dispose()  # it connects again if the engine is used again


def retry_once(engine: sa.Engine, work: Callable[[sa.Connection], T]) -> T:
    """`work` on a connection of `engine`, once more on a fresh connection if the first
    one turned out dead (a database restart). `work` must be idempotent."""
    try:
        with engine.connect() as connection:
            return work(connection)
    except sa.exc.DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    with engine.connect() as connection:
        return work(connection)


def _tune_sqlite(engine: sa.Engine) -> None:
    # pysqlite's own BEGIN handling defers locks; we issue BEGIN IMMEDIATE ourselves so a
    # claim holds the write lock from its first statement (no read-then-write race).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, record):  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()
        record.info["busy_timeout"] = SQLITE_BUSY_TIMEOUT_MS

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        # The busy timeout is per connection and pooled connections are shared: set it
        # for this transaction (BEGIN IMMEDIATE itself waits for the lock) only when it
        # differs from what the connection has.
        timeout = conn.get_execution_options().get(TIMEOUT_OPTION)
        wanted = SQLITE_BUSY_TIMEOUT_MS if timeout is None else max(1, int(timeout * 1000))
        info = conn.connection.info
        if info.get("busy_timeout") != wanted:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={wanted}")
            info["busy_timeout"] = wanted
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _tune_postgresql(engine: sa.Engine) -> None:
    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        timeout = conn.get_execution_options().get(TIMEOUT_OPTION)
        if timeout is not None:
            # SET LOCAL: for this transaction only, so the pooled connection keeps no trace.
            milliseconds = max(1, int(timeout * 1000))
            conn.exec_driver_sql(f"SET LOCAL statement_timeout = {milliseconds}")
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = {milliseconds}")


@contextmanager
def session_scope(engine: sa.Engine, *, timeout: float | None = None) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error.

    timeout: seconds any one statement or lock wait may take (see the module docstring).
    """
    with Session(engine, expire_on_commit=False) as session:
        try:
            if timeout is not None:
                session.connection(execution_options={TIMEOUT_OPTION: timeout})
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
