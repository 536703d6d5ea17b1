"""The queue page: the landing page after sign-in."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from reminders import roles
from reminders.models import Staff
from reminders.web.deps import SessionDep
from reminders.web.pages.common import RequirePage, add_nav, render

router = APIRouter()
add_nav("/queue", "Queue", roles.QUEUE_WORK, order=10)


@router.get("/queue")
def queue_page(request: Request, session: SessionDep,
               staff: Staff = RequirePage(roles.QUEUE_WORK)) -> HTMLResponse:
    return render(request, "queue.html", {"items": []})
