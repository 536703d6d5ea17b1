"""Failed and unknown sends: the check-ins and texts that may not have reached a patient."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from reminders import roles
from reminders.models import Staff
from reminders.services import send_problems
from reminders.web.deps import NowDep, SessionDep
from reminders.web.pages.common import RequirePage, add_nav, audit_view, render

router = APIRouter()
add_nav("/sends/problems", "Failed sends", roles.PATIENT_READ, order=30)


@router.get("/sends/problems")
def problem_sends(request: Request, session: SessionDep, now: NowDep, page: int = 1,
                  staff: Staff = RequirePage(roles.PATIENT_READ)) -> HTMLResponse:
    page = max(1, min(page, 100_000))
    rows, more = send_problems.problems(session, staff.clinic_id, page=page)
    audit_view(session, staff, "message", None, at=now, via="send_problems", count=len(rows),
               patient_ids=sorted({p.id for _, p in rows if p is not None}))
    session.commit()
    return render(request, "sends.html", {"rows": rows, "more": more, "page": page})
