"""The JSON API for clinic settings (admins of that clinic only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from reminders.models import Clinic, Staff
from reminders.roles import CLINIC_MANAGE
from reminders.schemas import Input
from reminders.services.clinics import update_clinic
from reminders.web.deps import Require, SessionDep, storable_input

# storable_input: NUL and lone surrogates get 422 naming the field (as on every API write).
router = APIRouter(prefix="/api", dependencies=[Depends(storable_input)])


class ClinicUpdate(Input):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, max_length=40)  # every SMS carries it: kept neutral
    phone: str | None = Field(default=None, max_length=32)
    oncall_phone: str | None = Field(default=None, max_length=32)
    backup_phone: str | None = Field(default=None, max_length=32)


class ClinicPublic(BaseModel):
    code: str
    name: str
    timezone: str
    country: str
    phone: str | None
    oncall_phone: str | None
    backup_phone: str | None


@router.patch("/clinic")
def change_clinic(body: ClinicUpdate, session: SessionDep,
                  staff: Annotated[Staff, Depends(Require(CLINIC_MANAGE))]) -> ClinicPublic:
    """Change your clinic's short name or phones (a disclosing name is refused with 422)."""
    clinic = session.get(Clinic, staff.clinic_id, with_for_update=True)
    update_clinic(session, clinic, actor=staff.email, **body.model_dump(exclude_unset=True))
    session.commit()  # committed before the answer says so
    return ClinicPublic.model_validate(clinic, from_attributes=True)
