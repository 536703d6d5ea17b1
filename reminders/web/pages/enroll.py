"""Enrollment on the staff pages: one patient by a form, or a register (CSV) checked row
by row before anything is written, then imported on confirmation."""

from __future__ import annotations

import base64
import binascii
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from reminders import roles
from reminders.errors import InputError
from reminders.languages import LANGUAGES
from reminders.models import Clinic, Staff
from reminders.schemas import PatientCreate
from reminders.services import register_upload
from reminders.services.enroll import enroll
from reminders.web.deps import NowDep, SessionDep
from reminders.web.pages.common import CsrfForm, RequirePage, add_nav, redirect, render

router = APIRouter()
add_nav("/patients/new", "Enroll", roles.PATIENT_ENROLL, order=25)
FIELDS = ("phone", "language", "art_start_date", "preferred_hour", "display_name", "register_ref", "cd4")
CHECKS = ("consent", "recent_oi", "shared_phone")


def _form_page(request: Request, values: dict[str, Any], error: str | None = None,
               status_code: int = 200) -> Response:
    return render(request, "enroll.html", {"values": values, "error": error, "languages": LANGUAGES},
                  status_code=status_code)


@router.get("/patients/new")
def enroll_form(request: Request, now: NowDep, phone: str = "",
                staff: Staff = RequirePage(roles.PATIENT_ENROLL)) -> Response:
    # ?phone= comes from the queue's unknown-number items: prefilled, still checked on submit.
    return _form_page(request, {"phone": phone[:32], "language": "en",
                                "art_start_date": now.date().isoformat()})


def _number(values: dict[str, Any], name: str) -> int | None:
    text = str(values.get(name) or "").strip()
    if not text:
        return None
    if not text.lstrip("-").isdigit():
        raise InputError(name, "must be a whole number")
    return int(text)


def _request(values: dict[str, Any], clinic: Clinic) -> PatientCreate:
    try:
        start = date.fromisoformat(str(values.get("art_start_date") or ""))
    except ValueError:
        raise InputError("art_start_date", "is not a date (YYYY-MM-DD)") from None
    try:
        return PatientCreate(
            clinic=clinic.code, phone=str(values.get("phone") or ""), language=str(values.get("language") or ""),
            art_start_date=start, preferred_hour=_number(values, "preferred_hour"),
            consent=bool(values.get("consent")), cd4=_number(values, "cd4"),
            recent_oi=bool(values.get("recent_oi")), shared_phone=bool(values.get("shared_phone")),
            display_name=str(values.get("display_name") or "") or None,
            register_ref=str(values.get("register_ref") or "") or None,
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        raise InputError(str(error["loc"][0]), error["msg"]) from None


@router.post("/patients/new")
def enroll_submit(request: Request, form: CsrfForm, session: SessionDep, now: NowDep,
                  staff: Staff = RequirePage(roles.PATIENT_ENROLL)) -> Response:
    values: dict[str, Any] = {name: str(form.get(name) or "").strip() for name in FIELDS}
    values.update({name: form.get(name) == "1" for name in CHECKS})
    clinic = session.get(Clinic, staff.clinic_id)
    try:
        patient = enroll(session, _request(values, clinic), now=now, actor=staff.email,  # type: ignore[arg-type]
                         clinic_scope=staff.clinic_id)
    except InputError as exc:
        session.rollback()
        return _form_page(request, values, f"{exc.field}: {exc.reason}", status_code=422)
    session.commit()  # the patient, their plan and the welcome SMS, before answering
    return redirect(request, f"/patients/{patient.id}", "Enrolled. The welcome SMS is on its way.")


# -- a register, in two steps -----------------------------------------------------------------

@router.get("/patients/import")
def import_form(request: Request, staff: Staff = RequirePage(roles.PATIENT_ENROLL)) -> Response:
    return render(request, "import.html", {"report": None, "error": None, "payload": None,
                                           "max_kb": register_upload.MAX_BYTES // 1024})


def _import_page(request: Request, **context: Any) -> Response:
    status_code = context.pop("status_code", 200)
    return render(request, "import.html", {"report": None, "error": None, "payload": None,
                                           "max_kb": register_upload.MAX_BYTES // 1024, **context},
                  status_code=status_code)


@router.post("/patients/import")
def import_check(request: Request, form: CsrfForm, session: SessionDep, now: NowDep,
                 staff: Staff = RequirePage(roles.PATIENT_ENROLL)) -> Response:
    """Step 1: read and check every row (a dry run of the importer); nothing is written."""
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        return _import_page(request, error="file: choose a CSV file", status_code=422)
    data = upload.file.read(register_upload.MAX_BYTES + 1)
    code = session.get(Clinic, staff.clinic_id).code  # type: ignore[union-attr]
    session.commit()  # SQLite has one writer: release this request's transaction first
    try:
        rows = register_upload.read_upload(data, upload.filename or "register.csv")
        report = register_upload.check(request.app.state.engine, rows, code, now)
    except InputError as exc:
        return _import_page(request, error=f"{exc.field}: {exc.reason}", status_code=422)
    # The checked file travels with the confirm form (no server-side state between the two
    # steps, so any web process can take the confirm); it is checked again on import.
    payload = base64.b64encode(data).decode()
    return _import_page(request, report=report, payload=payload if report.imported else None,
                        filename=upload.filename)


@router.post("/patients/import/confirm")
def import_confirm(request: Request, form: CsrfForm, session: SessionDep, now: NowDep,
                   staff: Staff = RequirePage(roles.PATIENT_ENROLL)) -> Response:
    """Step 2: import the rows that passed (each row is validated again as it is written)."""
    try:
        data = base64.b64decode(str(form.get("payload") or ""), validate=True)
    except (binascii.Error, ValueError):
        return _import_page(request, error="file: the confirmation lost its file; upload it again",
                            status_code=422)
    code = session.get(Clinic, staff.clinic_id).code  # type: ignore[union-attr]
    # Release this request's transaction first: SQLite has one writer, and the import is
    # written through its own sessions.
    session.commit()
    try:
        rows = register_upload.read_upload(data, str(form.get("filename") or "register.csv"))
        report = register_upload.commit(request.app.state.engine, rows, code, now, actor=staff.email)
    except InputError as exc:
        return _import_page(request, error=f"{exc.field}: {exc.reason}", status_code=422)
    return _import_page(request, report=report)
