"""create_app(settings): the one place the web edge is assembled."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from reminders.config import Settings
from reminders.db import create_db_engine, session_scope
from reminders.errors import Forbidden, InputError, NotFound
from reminders.services import audit
from reminders.web.pages import common as pages_common
from reminders.web.deps import get_now
from reminders.web.throttle import LoginThrottle


def create_app(settings: Settings, *, engine: sa.Engine | None = None, gateway: Any = None,
               clock: Any = None, scheduler: bool = False) -> FastAPI:
    """`scheduler`: this process runs the periodic passes too (/healthz then expects its
    heartbeat)."""
    # docs_url/redoc_url off: FastAPI's pages load Swagger UI from a CDN. /docs below serves
    # the vendored copy from /static, so it works offline; ReDoc is not offered.
    app = FastAPI(title="reminders", summary="SMS check-ins, triage and the staff queue.",
                  docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.engine = engine or create_db_engine(settings.database_url)
    app.state.clock = clock
    if gateway is None:
        from reminders.sms import gateway_from_settings

        gateway = gateway_from_settings(settings)
    app.state.gateway = gateway
    app.state.login_throttle = LoginThrottle(app.state.engine)
    app.state.scheduler = scheduler
    from reminders.web.metrics import registry_for

    app.state.metrics_registry = registry_for(app.state.engine, settings.spool_dir, clock)

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
        if pages_common.is_page_request(request):
            return pages_common.error_page(request, 404, "There is no such page, or it is not "
                                                         "part of your clinic.")
        return JSONResponse(status_code=404, content={"detail": f"not found: {exc}"})

    @app.exception_handler(sa.exc.OperationalError)
    async def _database_unavailable(_request: Request, _exc: sa.exc.OperationalError) -> JSONResponse:
        # The unit of work was rolled back: say so, instead of a bare 500.
        return JSONResponse(status_code=503, content={"detail": "database unavailable: nothing was changed"})

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> JSONResponse:
        staff = getattr(request.state, "staff_ref", None)
        if staff is not None:
            email, clinic_id = staff

            def record() -> None:  # its own transaction: the request's was rolled back
                with session_scope(app.state.engine) as session:
                    audit.record(session, email, "access.forbidden", "request", None,
                                 clinic_id=clinic_id, path=request.url.path, needs=exc.action)

            await run_in_threadpool(record)
        return JSONResponse(status_code=403, content={"detail": str(exc)})

    @app.middleware("http")
    async def _security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        # Not only the pages: the API answers with patient data too, and /docs can be framed.
        response.headers.setdefault("X-Frame-Options", "DENY")
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.get("/healthz")
    def healthz(request: Request) -> JSONResponse:
        """The database, this process's scheduler and the spool, each reported on its own;
        503 when one of them needs attention."""
        from reminders.services import health

        report = health.report(app.state.engine, settings.spool_dir, get_now(request),
                               scheduler_expected=app.state.scheduler)
        return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json", title="reminders API",
            oauth2_redirect_url="/docs/oauth2-redirect",
            swagger_js_url="/static/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/swagger-ui/favicon-32x32.png",
            # No badge from validator.swagger.io: nothing may load from another host.
            swagger_ui_parameters={"validatorUrl": None})

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    def docs_oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    from reminders.web import api, api_clinic, metrics, pages, twilio_routes

    app.include_router(api.router)
    app.include_router(api_clinic.router)
    app.include_router(metrics.router)
    app.include_router(twilio_routes.router)
    pages_common.install(app)
    app.include_router(pages.router)
    # Twilio's webhooks straight to their handlers (same checks, answers and headers).
    app.add_middleware(twilio_routes.WebhookShortcut)
    if settings.trusted_proxy_list:
        # X-Forwarded-For / -Proto are believed only from these peers (the reverse proxy);
        # from anyone else they are ignored and the peer's address is the client's.
        # `reminders serve` turns uvicorn's own handling off: it trusts 127.0.0.1 by default.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxy_list)
    return app
