"""Triage judged by staff: the review list of sampled "ok" replies, the correction of a
queue item's level, and the admins' CSV export of both."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from reminders import roles
from reminders.errors import InputError, NotFound
from reminders.models import TRIAGE_LEVELS, Staff
from reminders.services import audit, corrections
from reminders.web.deps import NowDep, SessionDep
from reminders.web.pages.common import (
    CsrfForm, RequirePage, add_nav, error_page, local_path, redirect, render,
)

router = APIRouter()
add_nav("/review", "Review", roles.QUEUE_WORK, order=30)


@router.get("/review")
def review_page(request: Request, session: SessionDep,
                staff: Staff = RequirePage(roles.QUEUE_WORK)) -> Response:
    show = request.query_params.get("show", "pending")
    page_number = request.query_params.get("page", "1")
    rate = request.app.state.settings.ok_review_rate
    try:
        listed = corrections.review_list(session, staff, rate=rate, show=show,
                                         page=int(page_number) if page_number.isdigit() else 1)
    except InputError as exc:
        return error_page(request, 422, f"{exc.field}: {exc.reason}")
    return render(request, "review.html", {
        "listed": listed, "show": show, "rate_percent": round(rate * 100, 1), "levels": TRIAGE_LEVELS,
        "can_export": roles.can(staff.role, roles.EXPORT),
    })


@router.post("/review/{message_id:int}")
def review_reply(request: Request, message_id: int, form: CsrfForm, session: SessionDep, now: NowDep,
                 staff: Staff = RequirePage(roles.QUEUE_WORK)) -> Response:
    level = str(form.get("corrected_level") or "")
    rate = request.app.state.settings.ok_review_rate
    try:
        corrections.review_reply(session, message_id, staff, level, now, rate=rate)
    except InputError as exc:
        return error_page(request, 422, f"{exc.field}: {exc.reason}")
    session.commit()
    verdict = "agreed: ok" if level == "ok" else f"corrected to {level}"
    return redirect(request, "/review", f"Reply {message_id} reviewed ({verdict}).")


@router.post("/queue/{item_id:int}/correct")
def correct_item(request: Request, item_id: int, form: CsrfForm, session: SessionDep, now: NowDep,
                 staff: Staff = RequirePage(roles.QUEUE_WORK)) -> Response:
    """The level an item's reply should have had (forms: templates/_correct.html)."""
    level = str(form.get("corrected_level") or "")
    message = str(form.get("message_id") or "")
    back = local_path(form.get("next"), "/queue")  # only back into this site
    try:
        corrections.correct_item(session, item_id, staff, level, now,
                                 message_id=int(message) if message.isdigit() else None)
    except InputError as exc:
        return error_page(request, 422, f"{exc.field}: {exc.reason}")
    except NotFound:
        # Answered here, not by the app's handler: the session must stay open to render.
        session.rollback()
        audit.record(session, staff.email, "access.denied", "queue_item", item_id,
                     clinic_id=staff.clinic_id, at=now, path=request.url.path)
        session.commit()
        return error_page(request, 404, "There is no such page, or it is not part of your clinic.")
    session.commit()
    return redirect(request, back, f"Triage correction saved: should have been {level}.")


@router.get("/corrections/export.csv")
def export_corrections(request: Request, session: SessionDep, now: NowDep,
                       staff: Staff = RequirePage(roles.EXPORT)) -> Response:
    text = corrections.export_csv(session, staff, now)
    session.commit()  # the export is audited: commit before answering
    return Response(text, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="triage-corrections.csv"',
        "Cache-Control": "no-store"})
