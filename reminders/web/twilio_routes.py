"""Twilio's webhooks: inbound replies and delivery status callbacks.

Both check X-Twilio-Signature before anything else (403 and nothing stored otherwise),
over REMINDERS_PUBLIC_URL + the path + the raw query: uvicorn behind a proxy does not
know the URL Twilio called.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, TypeVar

from xml.sax.saxutils import escape

import anyio
import anyio.to_thread

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from starlette.datastructures import FormData
from starlette.types import ASGIApp, Receive, Scope, Send
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from reminders import spool
from reminders.db import WEBHOOK_THREADS, retry_once, session_scope, webhook_engine_for
from reminders.services import inbound, status
from reminders.services.inbound import storable_text
from reminders.web.deps import get_now

log = logging.getLogger(__name__)
router = APIRouter(prefix="/twilio", include_in_schema=True)
T = TypeVar("T")

MAX_BODY = 64 * 1024  # a 1,600-character SMS with every Twilio field is far below this


async def signed_form(request: Request) -> FormData:
    """The posted form, once its size and X-Twilio-Signature are checked (else 413/403)."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
        raise HTTPException(413, "body too large")
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise HTTPException(413, "body too large")
    form = await request.form()
    settings = request.app.state.settings
    url = settings.public_url + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    signature = request.headers.get("x-twilio-signature", "")
    # FormData itself: the validator calls getlist(), and dict() would drop repeated keys.
    if not signature or not _validator(settings.webhook_auth_token).validate(url, form, signature):
        log.warning("webhook signature rejected path=%s", request.url.path)
        raise HTTPException(403, "invalid signature")
    return form


@functools.lru_cache(maxsize=4)
def _validator(token: str) -> RequestValidator:
    return RequestValidator(token)


SignedForm = Annotated[FormData, Depends(signed_form)]


_TWIML_EMPTY = str(MessagingResponse())  # what the twilio library writes, built once
_TWIML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>'


def twiml(body: str | None) -> Response:
    """The TwiML answer, as twilio's MessagingResponse writes it (<Message> text escaped as
    ElementTree does: &, <, >), without building an element tree per request."""
    if not body:
        return Response(content=_TWIML_EMPTY, media_type="application/xml")
    return Response(content=f'{_TWIML_HEAD}<Response><Message>{escape(body)}</Message></Response>',
                    media_type="application/xml")


# Twilio documents SIDs of 34 characters and addresses such as "whatsapp:+14155238886";
# the columns hold 64 (models.py). Anything longer cannot come from Twilio: it is kept in
# the spool's quarantine for an operator, never half-stored.
MAX_SID, MAX_ADDRESS = 64, 64


def _text(form: FormData, *names: str) -> str:
    for name in names:
        value = form.get(name)
        if value:
            return storable_text(str(value))
    return ""


async def _within_budget(request: Request, work: Callable[[], T]) -> T:
    """Run database work in a thread, giving up after the webhook's time budget.

    The database's own timeouts (a little shorter) normally end it first with an
    OperationalError; this guard covers a server that does not answer at all. The
    abandoned thread may still commit later: every path is idempotent by SID.
    """
    budget = request.app.state.settings.webhook_budget_seconds
    database, _spool = _limiters(request)
    # abandon_on_cancel: when the budget is spent, answer now; the thread ends on its own.
    # fail_after raises TimeoutError, like asyncio.wait_for, without a task of its own.
    with anyio.fail_after(budget):
        return await anyio.to_thread.run_sync(work, limiter=database, abandon_on_cancel=True)


def _limiters(request: Request) -> tuple[anyio.CapacityLimiter, anyio.CapacityLimiter]:
    """Threads of their own for the webhooks' database work and for spool writes: when the
    database hangs, stuck threads must not starve the API, nor the spool the reply needs."""
    state = request.app.state
    if getattr(state, "webhook_limiters", None) is None:
        state.webhook_limiters = (anyio.CapacityLimiter(WEBHOOK_THREADS), anyio.CapacityLimiter(4))
    return state.webhook_limiters


async def _keep(request: Request, write: Callable[..., object], *args: object) -> None:
    """Write to the spool on the spool's own threads."""
    _database, spool_threads = _limiters(request)
    await anyio.to_thread.run_sync(write, *args, limiter=spool_threads)


def _db_timeout(request: Request) -> float:
    return request.app.state.settings.webhook_budget_seconds * 0.8


@router.post("/sms")
async def inbound_sms(request: Request, form: SignedForm) -> Response:
    return await answer_sms(request, form)


async def answer_sms(request: Request, form: FormData) -> Response:
    # The signature was checked on the form exactly as posted; only now is it cleaned.
    sms = inbound.Incoming(
        sid=_text(form, "MessageSid", "SmsSid"), from_=_text(form, "From"), to=_text(form, "To"),
        body=_text(form, "Body"), opt_out_type=_text(form, "OptOutType") or None,
    )
    if not sms.sid or not sms.from_:
        return Response("MessageSid and From are required", status_code=400, media_type="text/plain")
    now: datetime = get_now(request)
    settings = request.app.state.settings
    engine = request.app.state.engine
    if len(sms.sid) > MAX_SID or len(sms.from_) > MAX_ADDRESS:
        await _keep(request, _quarantine_reply, settings.spool_dir, sms, now.isoformat())
        return twiml(inbound.answer_without_database(sms.body))

    webhook_engine = webhook_engine_for(engine, _db_timeout(request))

    def store() -> inbound.Outcome:
        if webhook_engine is not None:  # PostgreSQL: the common reply in two statements
            outcome = retry_once(webhook_engine, lambda connection: inbound.ingest_common(connection, sms, now=now))
            if outcome is not None:
                return outcome
        with session_scope(engine, timeout=_db_timeout(request)) as session:
            return inbound.ingest(session, sms, now=now, answer_mode="twiml")

    try:
        outcome = await _within_budget(request, store)
    except Exception as exc:  # noqa: BLE001 - whatever went wrong, the reply is kept
        # Down, hung, or a row it could not take: keep the reply on disk, answer from
        # triage alone. The replay retries it (and quarantines what never goes in).
        await _keep(request, spool.write, settings.spool_dir, sms, now.isoformat())
        log.error("reply spooled sid=%r reason=%s", sms.sid[:MAX_SID], _reason(exc))
        return twiml(inbound.answer_without_database(sms.body))
    return twiml(outcome.answer)


def _quarantine_reply(spool_dir: Path, sms: inbound.Incoming, received_at: str) -> None:
    path = spool.write(spool_dir, sms, received_at)
    spool.quarantine(spool_dir, path, "a field is longer than Twilio documents")
    log.error("reply quarantined: a field is longer than Twilio documents")


def _reason(exc: BaseException) -> str:
    # The type only: an exception's text can quote the reply or a phone number.
    return "time budget spent" if isinstance(exc, (TimeoutError, asyncio.TimeoutError)) else type(exc).__name__


@router.post("/status")
async def status_callback(request: Request, form: SignedForm) -> Response:
    return await answer_status(request, form)


async def answer_status(request: Request, form: FormData) -> Response:
    sid = _text(form, "MessageSid", "SmsSid")
    new_status = _text(form, "MessageStatus", "SmsStatus").lower()
    error_code = _text(form, "ErrorCode")
    if not sid or not new_status:
        return Response("MessageSid and MessageStatus are required", status_code=400)
    now = get_now(request)
    callback = spool.StatusCallback(sid=sid, status=new_status, received_at=now.isoformat(),
                                    error_code=int(error_code) if error_code.isdigit() and len(error_code) <= 9 else None)
    engine = request.app.state.engine

    def apply() -> None:
        with session_scope(engine, timeout=_db_timeout(request)) as session:
            status.apply_callback(session, callback.sid, callback.status, callback.error_code, now)

    try:
        await _within_budget(request, apply)
    except Exception as exc:  # noqa: BLE001 - a delivery status is kept like a reply
        await _keep(request, spool.write_status, request.app.state.settings.spool_dir, callback)
        log.error("status callback spooled sid=%r reason=%s", sid[:MAX_SID], _reason(exc))
    return Response(status_code=204)


# -- the webhooks without the framework's layers ---------------------------------------------

HANDLERS: dict[str, Callable[[Request, FormData], Awaitable[Response]]] = {
    "/twilio/sms": answer_sms, "/twilio/status": answer_status}
# The headers every answer of the app carries (web/app.py adds them to the others).
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                    "X-Frame-Options": "DENY", "Cache-Control": "no-store"}


class WebhookShortcut:
    """Pure ASGI middleware: a POST to a Twilio webhook goes straight to its handler.

    The same handlers as the routes above (which stay, for the API schema), the same
    signature check first, the same answers and headers; what it skips is per-request
    machinery a webhook does not use: dependency solving, routing over every route, and
    the pages' and headers' HTTP middlewares (each one a task and a stream per request).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = HANDLERS.get(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        if handler is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await handler(request, await signed_form(request))
        except HTTPException as exc:  # as FastAPI answers them
            response = JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        await response(scope, receive, send)
