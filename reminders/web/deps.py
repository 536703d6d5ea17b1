"""Dependencies as types, so routes read like sentences (SessionDep, CurrentStaff)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Annotated

from fastapi import Depends, Form, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from sqlmodel import Session

from reminders.config import Settings
from reminders.db import session_scope
from reminders.models import Staff
from reminders.roles import can
from reminders.security import MAX_PASSWORD, read_token
from reminders.errors import Forbidden

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
    claims = read_token(settings.token_keys, token, now)
    staff = session.get(Staff, claims.staff_id) if claims is not None else None
    # A disabled account, or a token issued before its tokens were revoked, is signed out.
    if staff is None or not staff.active or staff.token_version != claims.version:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "not signed in",
                            headers={"WWW-Authenticate": "Bearer"})
    # Plain values for the audit of a refused request (app.py): the ORM row is gone by then.
    request.state.staff_ref = (staff.email, staff.clinic_id)
    return staff


CurrentStaff = Annotated[Staff, Depends(get_current_staff)]


class Require:
    """`Depends(Require(action))`: the signed-in staff member, if their role may do `action`
    (reminders/roles.py); otherwise Forbidden: 403, written to the audit log. Every API route and
    staff page declares one, so a route without a role check is visible in review:

        @router.get("/patients/{patient_id}")
        def read_patient(..., staff: Annotated[Staff, Depends(Require(PATIENT_READ))]): ...
    """

    def __init__(self, action: str) -> None:
        can("admin", action)  # an unknown action fails here, at import, not on a request
        self.action = action

    def __call__(self, staff: Annotated[Staff, Depends(get_current_staff)]) -> Staff:
        if not can(staff.role, self.action):
            raise Forbidden(self.action)  # app.py answers 403 and audits it
        return staff


# Usernames are emails (at most 254 characters); a NUL cannot be stored in PostgreSQL
# text and is never part of a real one. Both are refused with a 422 naming the field,
# before anything touches the database.
_NO_NUL = r"^[^\x00]*$"


class LoginForm(OAuth2PasswordRequestForm):
    """The OAuth2 password form, with bounded, storable fields."""

    def __init__(
        self,
        *,
        grant_type: Annotated[str | None, Form(pattern="^password$")] = None,
        username: Annotated[str, Form(max_length=254, pattern=_NO_NUL)],
        password: Annotated[str, Form(max_length=MAX_PASSWORD * 8)],
        scope: Annotated[str, Form()] = "",
        client_id: Annotated[str | None, Form(max_length=254)] = None,
        client_secret: Annotated[str | None, Form(max_length=254)] = None,
    ) -> None:
        super().__init__(grant_type=grant_type, username=username, password=password, scope=scope,
                         client_id=client_id, client_secret=client_secret)
