"""Twilio's webhooks: inbound replies and delivery status callbacks.

Both check X-Twilio-Signature before anything else (403 and nothing stored otherwise),
over REMINDERS_PUBLIC_URL + the path + the raw query: uvicorn behind a proxy does not
know the URL Twilio called.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from reminders import spool
from reminders.db import session_scope
from reminders.services import inbound, status
from reminders.web.deps import get_now

log = logging.getLogger(__name__)
router = APIRouter(prefix="/twilio", include_in_schema=True)

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
    if not signature or not RequestValidator(settings.webhook_auth_token).validate(url, form, signature):
        log.warning("webhook signature rejected path=%s", request.url.path)
        raise HTTPException(403, "invalid signature")
    return form


SignedForm = Annotated[FormData, Depends(signed_form)]


def twiml(body: str | None) -> Response:
    response = MessagingResponse()
    if body:
        response.message(body)
    return Response(content=str(response), media_type="application/xml")


@router.post("/sms")
async def inbound_sms(request: Request, form: SignedForm) -> Response:
    sms = inbound.Incoming(
        sid=str(form.get("MessageSid") or form.get("SmsSid") or ""),
        from_=str(form.get("From") or ""), to=str(form.get("To") or ""),
        body=str(form.get("Body") or ""), opt_out_type=(str(form["OptOutType"]) if form.get("OptOutType") else None),
    )
    if not sms.sid or not sms.from_:
        return Response("MessageSid and From are required", status_code=400, media_type="text/plain")
    now: datetime = get_now(request)
    engine = request.app.state.engine

    def store() -> inbound.Outcome:
        with session_scope(engine) as session:
            return inbound.ingest(session, sms, now=now, answer_mode="twiml")

    try:
        outcome = await run_in_threadpool(store)
    except sa.exc.OperationalError:
        # The database is down: keep the reply on disk and answer from triage alone.
        await run_in_threadpool(spool.write, request.app.state.settings.spool_dir, sms, now.isoformat())
        log.error("database unavailable: reply spooled sid=%s", sms.sid)
        return twiml(inbound.answer_without_database(sms.body))
    return twiml(outcome.answer)


@router.post("/status")
async def status_callback(request: Request, form: SignedForm) -> Response:
    sid = str(form.get("MessageSid") or form.get("SmsSid") or "")
    new_status = str(form.get("MessageStatus") or form.get("SmsStatus") or "")
    error_code = str(form.get("ErrorCode") or "")
    if not sid or not new_status:
        return Response("MessageSid and MessageStatus are required", status_code=400)
    now = get_now(request)
    engine = request.app.state.engine

    def apply() -> None:
        with session_scope(engine) as session:
            status.apply_callback(session, sid, new_status.lower(),
                                  int(error_code) if error_code.isdigit() else None, now)

    await run_in_threadpool(apply)
    return Response(status_code=204)
