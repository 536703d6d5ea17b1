"""Dependencies as types, so routes read like sentences (SessionDep, CurrentStaff)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from reminders.config import Settings
from reminders.db import session_scope
from reminders.models import Staff
from reminders.security import read_token

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/token")


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    with session_scope(request.app.state.engine) as session:
        yield session


def get_now(request: Request) -> datetime:
    """The clock, at the edge: tests may pin it through app.state.clock."""
    clock = getattr(request.app.state, "clock", None)
    return clock() if clock else datetime.now(timezone.utc)


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
NowDep = Annotated[datetime, Depends(get_now)]


def get_current_staff(request: Request, token: Annotated[str, Depends(oauth2)],
                      session: SessionDep, settings: SettingsDep, now: NowDep) -> Staff:
    staff_id = read_token(settings.secret_key, token, now)
    staff = session.get(Staff, staff_id) if staff_id is not None else None
    if staff is None or not staff.active:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "not signed in",
                            headers={"WWW-Authenticate": "Bearer"})
    # Plain values for the audit of a refused request (app.py): the ORM row is gone by then.
    request.state.staff_ref = (staff.email, staff.clinic_id)
    return staff


CurrentStaff = Annotated[Staff, Depends(get_current_staff)]
