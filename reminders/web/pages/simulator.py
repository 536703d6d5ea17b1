"""The phone simulator page (only when the gateway is `local`; 404 otherwise): pick a
patient, see their SMS thread as their phone shows it, and reply as them.

The reply is posted, signed, to this app's own POST /twilio/sms through an in-process
ASGI client (httpx.ASGITransport): the real webhook route with its signature check,
without a network hop or a public URL that must reach this machine.
"""

from __future__ import annotations

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from reminders import roles
from reminders.errors import NotFound
from reminders.models import Patient, Staff
from reminders.services import simulator
from reminders.services.inbound import process_received
from reminders.services.patients import get_for_staff
from reminders.web.deps import NowDep, SessionDep
from reminders.web.pages.common import (
    CsrfForm, RequirePage, add_nav, audit_view, error_page, redirect, render,
)

router = APIRouter()
add_nav("/simulator", "Phone simulator", roles.QUEUE_WORK, order=90)
MAX_SMS = 1600  # Twilio's limit for one message body


def _local(request: Request) -> bool:
    return request.app.state.settings.gateway == "local"


def _not_here(request: Request) -> Response:
    return error_page(request, 404, "The phone simulator exists only with the local SMS gateway.")


@router.get("/simulator")
def simulator_page(request: Request, session: SessionDep, now: NowDep, patient: str = "",
                   staff: Staff = RequirePage(roles.QUEUE_WORK)) -> Response:
    if not _local(request):
        return _not_here(request)
    chosen: Patient | None = None
    bubbles: list[simulator.Bubble] = []
    if patient.isdigit():
        try:
            chosen = get_for_staff(session, int(patient), staff)
        except NotFound:
            return error_page(request, 404, "There is no such page, or it is not part of your clinic.")
        bubbles = simulator.thread(session, chosen)
        audit_view(session, staff, "patient", chosen.id, at=now, via="simulator")
        session.commit()
    return render(request, "simulator.html", {
        "patients": simulator.patients(session, staff.clinic_id), "chosen": chosen, "bubbles": bubbles,
        "max_sms": MAX_SMS})


@router.post("/simulator/{patient_id:int}/reply")
async def simulator_reply(request: Request, patient_id: int, form: CsrfForm, session: SessionDep,
                          now: NowDep, staff: Staff = RequirePage(roles.QUEUE_WORK)) -> Response:
    if not _local(request):
        return _not_here(request)
    body = str(form.get("body") or "")
    try:
        patient = get_for_staff(session, patient_id, staff)
    except NotFound:
        return error_page(request, 404, "There is no such page, or it is not part of your clinic.")
    if "\x00" in body or len(body) > MAX_SMS:
        # A phone cannot send either; PostgreSQL cannot store a NUL. Refused before the webhook.
        return error_page(request, 422, f"body: must be at most {MAX_SMS} characters, without NUL")
    phone = patient.phone
    session.commit()  # release the transaction: SQLite has one writer, and the webhook writes
    fields, headers = simulator.signed_reply(request.app.state.settings, phone, body)
    settings = request.app.state.settings
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url=settings.public_url) as client:
        answer = await client.post(simulator.WEBHOOK_PATH, data=fields, headers=headers)
    if answer.status_code != 200:
        return error_page(request, 502, f"The webhook answered {answer.status_code}.")
    # Triage the reply into the queue now rather than at the next 2-second pass.
    await run_in_threadpool(process_received, request.app.state.engine)
    return redirect(request, f"/simulator?patient={patient_id}")
