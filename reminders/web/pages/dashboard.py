"""The programme dashboard: one clinic's figures and two server-drawn charts."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from reminders import roles
from reminders.models import Staff
from reminders.services import dashboard
from reminders.web.charts import Series, bar_chart
from reminders.web.deps import NowDep, SessionDep
from reminders.web.pages.common import RequirePage, add_nav, render

router = APIRouter()
add_nav("/dashboard", "Dashboard", roles.PATIENT_READ, order=40)


def duration(value: timedelta | None) -> str:
    if value is None:
        return "no data yet"
    minutes = round(value.total_seconds() / 60)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes / 60
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


@router.get("/dashboard")
def dashboard_page(request: Request, session: SessionDep, now: NowDep,
                   staff: Staff = RequirePage(roles.PATIENT_READ)) -> HTMLResponse:
    board = dashboard.build(session, staff.clinic_id, now)
    labels = [f"wk {w.week}" for w in board.weeks]
    charts = {
        "response": bar_chart("Check-ins answered, by week since ART start", labels,
                              [Series("answered", [w.response_rate for w in board.weeks], css="answered")],
                              percent=True, max_value=1),
        "flags": bar_chart("Flags and urgent replies, by week since ART start", labels,
                           [Series("flag", [w.flags for w in board.weeks], css="flag"),
                            Series("urgent", [w.urgents for w in board.weeks], css="urgent")]),
    }
    return render(request, "dashboard.html", {
        "board": board, "charts": charts, "claim": duration(board.median_to_claim),
        "resolve": duration(board.median_to_resolve),
    })
