"""The audit log page (admins): filter by staff, action, patient and dates; CSV export."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import select

from reminders import roles
from reminders.errors import InputError
from reminders.models import Staff
from reminders.services import audit_log
from reminders.web.deps import NowDep, SessionDep
from reminders.web.pages.common import RequirePage, add_nav, error_page, render

router = APIRouter()
add_nav("/audit", "Audit", roles.AUDIT_READ, order=80)
FILTER_NAMES = ("actor", "action", "patient", "since", "until")


def _filters(request: Request) -> tuple[dict[str, str], audit_log.AuditFilter]:
    raw = {name: request.query_params.get(name, "") for name in FILTER_NAMES}
    return raw, audit_log.AuditFilter.parse(**raw)


@router.get("/audit")
def audit_page(request: Request, session: SessionDep,
               staff: Staff = RequirePage(roles.AUDIT_READ)) -> Response:
    try:
        raw, filters = _filters(request)
    except InputError as exc:  # answered here: a raised error would roll back and detach `staff`
        return error_page(request, 422, f"{exc.field}: {exc.reason}")
    page_number = request.query_params.get("page", "1")
    page = audit_log.search(session, staff.clinic_id, filters,
                            page=int(page_number) if page_number.isdigit() else 1)
    emails = session.exec(select(Staff.email).where(Staff.clinic_id == staff.clinic_id)
                          .order_by(Staff.email)).all()
    query = urlencode({k: v for k, v in raw.items() if v})
    return render(request, "audit.html", {
        "page": page, "raw": raw, "actions": audit_log.actions(session, staff.clinic_id),
        "emails": emails, "query": query,
    })


@router.get("/audit/export.csv")
def audit_export(request: Request, session: SessionDep, now: NowDep,
                 staff: Staff = RequirePage(roles.EXPORT),
                 _reader: Staff = RequirePage(roles.AUDIT_READ)) -> Response:
    try:
        _raw, filters = _filters(request)
    except InputError as exc:
        return error_page(request, 422, f"{exc.field}: {exc.reason}")
    text = audit_log.export_csv(session, staff, filters, now)
    session.commit()  # the export is audited: commit before answering
    return Response(text, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="audit.csv"', "Cache-Control": "no-store"})
