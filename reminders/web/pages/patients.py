"""Patients: the list (search by name, phone or register number; filters) and a patient's
page (the whole timeline; pause, resume, withdraw, change phone or language). Every view
is written to the audit log."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlmodel import select

from reminders import roles
from reminders.errors import InputError
from reminders.languages import LANGUAGES
from reminders.models import PATIENT_STATUSES, Clinic, QueueItem, Staff
from reminders.schemas import PatientUpdate
from reminders.services import patient_view, patients
from reminders.web.deps import NowDep, SessionDep
from reminders.web.pages.common import CsrfForm, RequirePage, add_nav, audit_view, redirect, render

router = APIRouter()
add_nav("/patients", "Patients", roles.PATIENT_READ, order=20)


def _int(value: str | None, field: str, low: int, high: int) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(value)  # type: ignore[arg-type]
    except ValueError:
        raise InputError(field, "must be a whole number") from None
    if not low <= number <= high:
        raise InputError(field, f"must be between {low} and {high}")
    return number


@router.get("/patients")
def patient_list(request: Request, session: SessionDep, now: NowDep, q: str = "", status: str = "",
                 week: str | None = None, high_risk: str | None = None, page: str | None = None,
                 staff: Staff = RequirePage(roles.PATIENT_READ)) -> HTMLResponse:
    clinic = session.get(Clinic, staff.clinic_id)
    error = None
    try:
        filters = patient_view.Filters(q=q[:80], status=status, week=_int(week, "week", 1, 12),
                                       high_risk=bool(high_risk), page=_int(page, "page", 1, 100_000) or 1)
        today = now.astimezone(ZoneInfo(clinic.timezone)).date()
        rows, more = patient_view.search(session, clinic, today, filters)
    except InputError as exc:
        filters, rows, more, error = patient_view.Filters(q=q[:80]), [], False, f"{exc.field}: {exc.reason}"
    audit_view(session, staff, "patient", None, at=now, via="list", count=len(rows),
               patient_ids=[p.id for p in rows])
    session.commit()
    weeks = {p.id: patient_view.week_of(p, clinic, now) for p in rows}
    return render(request, "patients.html", {
        "rows": rows, "more": more, "filters": filters, "weeks": weeks, "error": error,
        "statuses": PATIENT_STATUSES})


@router.get("/patients/{patient_id:int}")
def patient_page(request: Request, patient_id: int, session: SessionDep, now: NowDep,
                 staff: Staff = RequirePage(roles.PATIENT_READ)) -> HTMLResponse:
    patient = patients.get_for_staff(session, patient_id, staff)
    clinic = session.get(Clinic, patient.clinic_id)
    open_items = list(session.exec(select(QueueItem).where(QueueItem.patient_id == patient.id,
                                                           QueueItem.status != "resolved")))
    context = {
        "patient": patient, "week": patient_view.week_of(patient, clinic, now),
        "events": patient_view.timeline(session, patient),
        "checkins": patient_view.checkins(session, patient), "open_items": open_items,
        "languages": LANGUAGES, "can_update": roles.can(staff.role, roles.PATIENT_UPDATE),
        "can_withdraw": roles.can(staff.role, roles.PATIENT_WITHDRAW),
    }
    audit_view(session, staff, "patient", patient.id, at=now, via="patient_page")
    session.commit()
    return render(request, "patient.html", context)


def _act(request: Request, session, patient_id: int, action: Callable[[], object], done: str) -> Response:  # type: ignore[no-untyped-def]
    try:
        try:
            action()
        except ValidationError as exc:  # e.g. a NUL in the phone field (schemas.Input)
            first = exc.errors()[0]
            raise InputError(str(first["loc"][-1]) if first["loc"] else "form", first["msg"]) from None
    except InputError as exc:
        session.rollback()
        return redirect(request, f"/patients/{patient_id}", f"Not done: {exc.field}: {exc.reason}", "error")
    session.commit()
    return redirect(request, f"/patients/{patient_id}", done)


def _status_route(action: str, permission: str, done: str) -> None:
    def change(request: Request, patient_id: int, form: CsrfForm, session: SessionDep, now: NowDep,
               staff: Staff = RequirePage(permission)) -> Response:
        return _act(request, session, patient_id,
                    lambda: patient_view.change_status(session, patient_id, staff, action, now), done)

    router.add_api_route(f"/patients/{{patient_id:int}}/{action}", change, methods=["POST"],
                         name=f"patient_{action}")


_status_route("pause", roles.PATIENT_UPDATE, "Paused: no check-ins are sent until you resume.")
_status_route("resume", roles.PATIENT_UPDATE, "Resumed.")
_status_route("withdraw", roles.PATIENT_WITHDRAW, "Withdrawn from the programme.")


@router.post("/patients/{patient_id:int}/phone")
def change_phone(request: Request, patient_id: int, form: CsrfForm, session: SessionDep, now: NowDep,
                 staff: Staff = RequirePage(roles.PATIENT_UPDATE)) -> Response:
    phone = str(form.get("phone") or "").strip()

    def apply() -> None:
        patients.get_for_staff(session, patient_id, staff)  # first: another clinic's patient is 404
        if not phone:
            raise InputError("phone", "is empty")
        patients.update(session, patient_id, PatientUpdate(phone=phone[:32]), staff, now)

    return _act(request, session, patient_id, apply, "Phone number changed.")


@router.post("/patients/{patient_id:int}/language")
def change_language(request: Request, patient_id: int, form: CsrfForm, session: SessionDep, now: NowDep,
                    staff: Staff = RequirePage(roles.PATIENT_UPDATE)) -> Response:
    language = str(form.get("language") or "")
    return _act(request, session, patient_id,
                lambda: patients.update(session, patient_id, PatientUpdate(language=language), staff, now),
                "Language changed.")
