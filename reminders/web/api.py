"""The JSON API: staff see and change only their own clinic's patients and queue."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, status
from sqlmodel import select

from reminders.models import CheckIn, Clinic, Message, Patient, Staff
from reminders.roles import PATIENT_ENROLL, PATIENT_READ, PATIENT_UPDATE, QUEUE_WORK
from reminders.schemas import (
    CheckInPublic, MessagePublic, PatientCreate, PatientPublic, PatientUpdate, QueueItemPublic,
    QueueResolve,
)
from reminders.security import DUMMY_HASH, issue_token, verify_password
from reminders.services import audit, patients, queue
from reminders.services.enroll import enroll
from reminders.web.deps import CurrentStaff, Id, LoginForm, NowDep, Require, SessionDep, SettingsDep, storable_input

# Every route commits its unit of work itself, before it answers (deps.get_session);
# storable_input refuses NUL and lone surrogates with a 422 naming the field.
router = APIRouter(prefix="/api", dependencies=[Depends(storable_input)])


@router.post("/token")
def token(request: Request, form: Annotated[LoginForm, Depends()],
          session: SessionDep, settings: SettingsDep, now: NowDep) -> dict[str, str]:
    email = form.username.strip().lower()
    key = (email, request.client.host if request.client else "")
    throttle = request.app.state.login_throttle
    wait = throttle.retry_after(key, now)
    if wait is not None:
        audit.record(session, "anonymous", "auth.throttled", "staff", None, at=now)
        session.commit()
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "too many attempts: try again later",
                            headers={"Retry-After": str(wait)})
    staff = session.exec(select(Staff).where(Staff.email == email)).first()
    # Verify against a dummy hash for unknown users: same time, no user enumeration.
    ok = verify_password(staff.password_hash if staff else DUMMY_HASH, form.password)
    if staff is None or not ok or not staff.active:
        audit.record(session, "anonymous", "auth.fail", "staff", staff.id if staff else None, at=now)
        session.commit()
        throttle.failed(key, now)  # the 401 below rolls the request's transaction back; keep the audit
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong email or password",
                            headers={"WWW-Authenticate": "Bearer"})
    audit.record(session, staff.email, "auth.login", "staff", staff.id,
                 clinic_id=staff.clinic_id, at=now)
    access_token = issue_token(settings.token_keys, staff.id, now, version=staff.token_version)
    session.commit()  # before the throttle's own write: on SQLite this session holds the lock
    throttle.succeeded(key)
    return {"access_token": access_token, "token_type": "bearer"}


def _public(session, patient: Patient, *, with_messages: bool) -> PatientPublic:  # type: ignore[no-untyped-def]
    clinic = session.get(Clinic, patient.clinic_id)
    checkins = session.exec(
        select(CheckIn).where(CheckIn.patient_id == patient.id).order_by(CheckIn.due_at, CheckIn.id)
    ).all()
    result = PatientPublic(
        id=patient.id, clinic=clinic.code, phone=patient.phone, language=patient.language,
        art_start_date=patient.art_start_date, preferred_hour=patient.preferred_hour,
        status=patient.status, high_risk=patient.high_risk, shared_phone=patient.shared_phone,
        enrolled_at=patient.enrolled_at, enrollment_lag_days=patient.enrollment_lag_days,
        checkins=[CheckInPublic.model_validate(c, from_attributes=True) for c in checkins],
    )
    if with_messages:
        rows = session.exec(
            select(Message).where(Message.patient_id == patient.id).order_by(Message.created_at, Message.id)
        ).all()
        result.messages = [
            MessagePublic(id=m.id, direction=m.direction, kind=m.kind, body=m.body,
                          status=m.status, sid=m.provider_sid, created_at=m.created_at,
                          in_reply_to=m.in_reply_to)
            for m in rows
        ]
    return result


@router.post("/patients", status_code=status.HTTP_201_CREATED,
             dependencies=[Depends(Require(PATIENT_ENROLL))])
def create_patient(request: PatientCreate, session: SessionDep, staff: CurrentStaff,
                   now: NowDep) -> PatientPublic:
    patient = enroll(session, request, now=now, actor=staff.email, clinic_scope=staff.clinic_id)
    session.flush()
    answer = _public(session, patient, with_messages=False)
    session.commit()
    return answer


@router.get("/patients/{patient_id}", dependencies=[Depends(Require(PATIENT_READ))])
def read_patient(patient_id: Id, session: SessionDep, staff: CurrentStaff,
                 now: NowDep) -> PatientPublic:
    patient = patients.get_for_staff(session, patient_id, staff)
    audit.record(session, staff.email, "patient.read", "patient", patient.id,
                 clinic_id=patient.clinic_id, at=now)
    answer = _public(session, patient, with_messages=True)
    session.commit()  # the audit row of this read
    return answer


@router.patch("/patients/{patient_id}", dependencies=[Depends(Require(PATIENT_UPDATE))])
def update_patient(patient_id: Id, update: PatientUpdate, session: SessionDep,
                   staff: CurrentStaff, now: NowDep) -> PatientPublic:
    patient = patients.update(session, patient_id, update, staff, now)
    answer = _public(session, patient, with_messages=False)
    session.commit()
    return answer


@router.get("/queue", dependencies=[Depends(Require(QUEUE_WORK))])
def list_queue(session: SessionDep, staff: CurrentStaff, now: NowDep,
               status: Literal["open", "claimed", "resolved", "unresolved"] | None = None,
               ) -> list[QueueItemPublic]:
    items = queue.list_items(session, staff.clinic_id, status)
    statuses = patients.statuses(session, {i.patient_id for i in items if i.patient_id})
    audit.record(session, staff.email, "queue.read", "queue_item", None,
                 clinic_id=staff.clinic_id, at=now, count=len(items))
    answer = [
        QueueItemPublic.model_validate(item, from_attributes=True).model_copy(
            update={"patient_status": statuses.get(item.patient_id)})
        for item in items
    ]
    session.commit()  # the audit row of this read
    return answer


@router.post("/queue/{item_id}/claim", dependencies=[Depends(Require(QUEUE_WORK))])
def claim_item(item_id: Id, session: SessionDep, staff: CurrentStaff, now: NowDep) -> QueueItemPublic:
    answer = QueueItemPublic.model_validate(queue.claim(session, item_id, staff, now), from_attributes=True)
    session.commit()
    return answer


@router.post("/queue/{item_id}/resolve", dependencies=[Depends(Require(QUEUE_WORK))])
def resolve_item(item_id: Id, body: QueueResolve, session: SessionDep, staff: CurrentStaff,
                 now: NowDep) -> QueueItemPublic:
    item = queue.resolve(session, item_id, staff, body.outcome, body.note, now)
    answer = QueueItemPublic.model_validate(item, from_attributes=True)
    session.commit()
    return answer
