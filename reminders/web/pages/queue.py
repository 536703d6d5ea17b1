"""The queue: the landing page after sign-in. Urgent first, then flag, no_response and
admin; oldest first within a level. The list refreshes itself (htmx polls a partial);
an item's page holds the forms (claim, hand back, text, call, resolve), so a refresh never
wipes what a nurse is typing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import select

from reminders import roles, saved_replies, targets
from reminders.errors import InputError
from reminders.models import OUTCOMES, AuditEvent, Clinic, Message, Staff
from reminders.services import audit, queue, queue_work
from reminders.web.deps import NowDep, SessionDep
from reminders.web.highlight import highlight
from reminders.web.pages.common import (
    CsrfForm, RequirePage, add_nav, audit_view, redirect, render, templates,
)

router = APIRouter()
add_nav("/queue", "Queue", roles.QUEUE_WORK, order=10)

OUTCOME_LABELS = {
    "reached_well": "Reached: well", "advised_visit": "Advised a clinic visit", "referred": "Referred",
    "iris_suspected": "IRIS suspected", "other_cause": "Other cause", "unreachable": "Unreachable",
}
assert set(OUTCOME_LABELS) == set(OUTCOMES)
LEVEL_LABELS = {"urgent": "Urgent", "flag": "Flag", "no_response": "No response", "admin": "Admin"}

# For every template: marked reply text (escaped segment by segment), short durations.
templates.env.globals.update(highlight=highlight, short_duration=targets.short_duration,
                             level_labels=LEVEL_LABELS)
templates.env.filters["tag"] = lambda tag: str(tag).replace("_", " ")


def _context(rows: list[queue_work.QueueRow], after: str | None, next_after: str | None) -> dict[str, Any]:
    return {"rows": rows, "after": after or "", "next_after": next_after}


@router.get("/queue")
def queue_page(request: Request, session: SessionDep, now: NowDep, after: str | None = None,
               staff: Staff = RequirePage(roles.QUEUE_WORK)) -> HTMLResponse:
    clinic = session.get(Clinic, staff.clinic_id)
    rows, next_after = _page(session, clinic, now, after)
    audit.record(session, staff.email, "queue.read", "queue_item", None, clinic_id=clinic.id,
                 at=now, count=len(rows), patient_ids=[r.patient.id for r in rows if r.patient])
    session.commit()
    return render(request, "queue.html", {**_context(rows, after, next_after),
                                          "counts": queue_work.count_open(session, clinic.id)})


@router.get("/queue/rows")
def queue_rows(request: Request, session: SessionDep, now: NowDep, after: str | None = None,
               staff: Staff = RequirePage(roles.QUEUE_WORK)) -> HTMLResponse:
    """The list alone, polled by the queue page (the page load itself is audited)."""
    clinic = session.get(Clinic, staff.clinic_id)
    rows, next_after = _page(session, clinic, now, after)
    return render(request, "_queue_rows.html", _context(rows, after, next_after))


def _page(session, clinic, now, after):  # type: ignore[no-untyped-def]
    try:
        return queue_work.open_page(session, clinic, now, after=after)
    except InputError:
        return queue_work.open_page(session, clinic, now)  # a mangled position: first page


@router.get("/queue/{item_id:int}")
def item_page(request: Request, item_id: int, session: SessionDep, now: NowDep,
              staff: Staff = RequirePage(roles.QUEUE_WORK)) -> HTMLResponse:
    item = queue_work.get_item(session, item_id, staff)
    clinic = session.get(Clinic, staff.clinic_id)
    row = queue_work.describe(session, clinic, [item], now)[0]
    recent: list[Message] = []
    if row.patient is not None:
        recent = list(session.exec(
            select(Message).where(Message.patient_id == row.patient.id)
            .order_by(Message.created_at.desc(), Message.id.desc()).limit(8)))  # type: ignore[attr-defined]
        audit_view(session, staff, "patient", row.patient.id, at=now, via="queue_item", item_id=item.id)
    calls = list(session.exec(
        select(AuditEvent).where(AuditEvent.entity == "queue_item", AuditEvent.entity_id == item.id,
                                 AuditEvent.action == "queue.call").order_by(AuditEvent.at)))
    session.commit()
    return render(request, "queue_item.html", {
        "row": row, "item": item, "recent": recent, "calls": calls, "outcomes": OUTCOME_LABELS,
        "call_results": queue_work.CALL_RESULTS, "saved": saved_replies.saved_replies(),
        "can_message": roles.can(staff.role, roles.PATIENT_MESSAGE),
    })


def _act(request: Request, session, item_id: int, action: Callable[[], object],  # type: ignore[no-untyped-def]
         done: str, back: str | None = None) -> Response:
    """Run one queue action; an input error goes back to the item with its message."""
    back = back or f"/queue/{item_id}"
    try:
        action()
    except InputError as exc:
        session.rollback()
        return redirect(request, f"/queue/{item_id}", f"Not done: {exc.field}: {exc.reason}", "error")
    session.commit()
    return redirect(request, back, done)


@router.post("/queue/{item_id:int}/claim")
def claim(request: Request, item_id: int, form: CsrfForm, session: SessionDep, now: NowDep,
          staff: Staff = RequirePage(roles.QUEUE_WORK)) -> Response:
    back = "/queue" if form.get("back") == "queue" else None
    return _act(request, session, item_id, lambda: queue.claim(session, item_id, staff, now),
                "Claimed: it is yours.", back)


@router.post("/queue/{item_id:int}/handback")
def hand_back(request: Request, item_id: int, form: CsrfForm, session: SessionDep, now: NowDep,
              staff: Staff = RequirePage(roles.QUEUE_WORK)) -> Response:
    return _act(request, session, item_id, lambda: queue_work.hand_back(session, item_id, staff, now),
                "Handed back to the queue.", "/queue")


@router.post("/queue/{item_id:int}/resolve")
def resolve(request: Request, item_id: int, form: CsrfForm, session: SessionDep, now: NowDep,
            staff: Staff = RequirePage(roles.QUEUE_WORK)) -> Response:
    outcome, note = str(form.get("outcome") or ""), str(form.get("note") or "").strip()
    return _act(request, session, item_id,
                lambda: queue.resolve(session, item_id, staff, outcome, note, now),
                "Resolved.", "/queue")


@router.post("/queue/{item_id:int}/call")
def log_call(request: Request, item_id: int, form: CsrfForm, session: SessionDep, now: NowDep,
             staff: Staff = RequirePage(roles.QUEUE_WORK)) -> Response:
    result = str(form.get("result") or "")
    return _act(request, session, item_id,
                lambda: queue_work.log_call(session, item_id, staff, result, now),
                f"Call logged: {queue_work.CALL_RESULTS.get(result, result)}.")


@router.post("/queue/{item_id:int}/sms")
def send_sms(request: Request, item_id: int, form: CsrfForm, session: SessionDep, now: NowDep,
             staff: Staff = RequirePage(roles.PATIENT_MESSAGE)) -> Response:
    text, saved = str(form.get("text") or ""), str(form.get("saved_reply") or "") or None
    return _act(request, session, item_id,
                lambda: queue_work.send_sms(session, item_id, staff, now, text=text, saved_reply=saved),
                "Message queued: it goes out with the next outbox pass.")
