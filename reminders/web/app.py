"""create_app(settings): the one place the web edge is assembled."""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
import anyio.to_thread
import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from reminders import spool
from reminders.config import Settings
from reminders.db import create_db_engine, session_scope
from reminders.errors import InputError, NotFound
from reminders.services import audit
from reminders.web.throttle import LoginThrottle


def create_app(settings: Settings, *, engine: sa.Engine | None = None, gateway: Any = None,
               clock: Any = None) -> FastAPI:
    app = FastAPI(title="reminders", summary="SMS check-ins, triage and the staff queue.")
    app.state.settings = settings
    app.state.engine = engine or create_db_engine(settings.database_url)
    app.state.clock = clock
    if gateway is None:
        from reminders.sms import gateway_from_settings

        gateway = gateway_from_settings(settings)
    app.state.gateway = gateway
    app.state.login_throttle = LoginThrottle()

    @app.exception_handler(InputError)
    async def _input_error(_request: Request, exc: InputError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": [
            {"loc": ["body", exc.field], "msg": exc.reason, "type": "value_error"}]})

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> JSONResponse:
        staff = getattr(request.state, "staff_ref", None)
        if staff is not None:
            email, clinic_id = staff
            # Another clinic's patient or item looks absent; the attempt is still audited,
            # in its own transaction (the request's was rolled back).
            def record() -> None:
                with session_scope(app.state.engine) as session:
                    audit.record(session, email, "access.denied", "request", None,
                                 clinic_id=clinic_id, path=request.url.path)

            await run_in_threadpool(record)
        return JSONResponse(status_code=404, content={"detail": f"not found: {exc}"})

    @app.exception_handler(sa.exc.OperationalError)
    async def _database_unavailable(_request: Request, _exc: sa.exc.OperationalError) -> JSONResponse:
        # The unit of work was rolled back: say so, instead of a bare 500.
        return JSONResponse(status_code=503, content={"detail": "database unavailable: nothing was changed"})

    @app.middleware("http")
    async def _security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        """The database and the spool, reported apart: replies can still be kept (spooled)
        while the database is away, and quarantined files need an operator either way.
        A database that does not answer within the webhook budget counts as unavailable."""
        budget = settings.webhook_budget_seconds

        def ping() -> None:
            with session_scope(app.state.engine, timeout=budget) as session:
                session.execute(sa.text("SELECT 1"))

        database = "ok"
        try:
            await asyncio.wait_for(anyio.to_thread.run_sync(ping, abandon_on_cancel=True), timeout=budget)
        except (sa.exc.SQLAlchemyError, TimeoutError):
            database = "unavailable"
        counts = spool.counts(settings.spool_dir)
        healthy = database == "ok" and counts.quarantined == 0
        return JSONResponse(status_code=200 if database == "ok" else 503, content={
            "status": "ok" if healthy else "degraded", "database": database, "spool": counts.as_dict()})

    from reminders.web import api, twilio_routes

    app.include_router(api.router)
    app.include_router(twilio_routes.router)
    return app
