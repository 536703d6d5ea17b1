"""Dependencies as types, so routes read like sentences (SessionDep, CurrentStaff), and
the role check every route declares (Require)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import Depends, Form, HTTPException, Path, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from sqlmodel import Session

from reminders.config import Settings
from reminders.db import session_scope
from reminders.errors import Forbidden
from reminders.models import Staff
from reminders.roles import can
from reminders.security import MAX_PASSWORD, read_token

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/token")


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    """The request's unit of work. Routes that write call `session.commit()` themselves,
    BEFORE returning: this dependency's own commit runs after the response may already
    be on its way, so a failure there must never be the first one (NOTES.md)."""
    with session_scope(request.app.state.engine) as session:
        yield session


_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")
REASON_UNSTORABLE = "contains a character that cannot be stored (NUL or a lone surrogate)"


async def storable_input(request: Request) -> None:
    """Refuse, with 422 naming the field, text no database can hold (PostgreSQL refuses
    NUL; no engine takes a lone surrogate), before any route runs or anything is written."""
    problems: list[dict[str, Any]] = []

    def check(location: tuple[Any, ...], value: Any) -> None:
        if isinstance(value, str) and _UNSTORABLE.search(value):
            problems.append({"loc": list(location), "msg": REASON_UNSTORABLE, "type": "value_error"})
        elif isinstance(value, dict):
            for key, item in value.items():
                check((*location, key), item)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                check((*location, index), item)

    for name, value in request.query_params.multi_items():
        check(("query", name), value)
    content_type = request.headers.get("content-type", "")
    if "json" in content_type:
        try:
            check(("body",), json.loads(await request.body()))
        except ValueError:
            pass  # not JSON: the route's own validation answers that
    elif "form" in content_type:
        for name, value in (await request.form()).multi_items():
            check(("body", name), value)
    if problems:
        raise RequestValidationError(problems[:1])


# Ids in paths fit the database's integer column: a larger one is a 422, not a DataError.
Id = Annotated[int, Path(ge=1, le=2_147_483_647)]


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


def Require(action: str, current: Callable[..., Staff] = get_current_staff) -> Callable[..., Staff]:  # noqa: N802
    """`Depends(Require(action))`: the signed-in staff member, if their role may do `action`
    (reminders/roles.py); otherwise Forbidden: 403, written to the audit log (app.py).
    Every API route declares one (a test fails otherwise); staff pages reuse it with
    their own way of finding the signed-in member, e.g. `Require(QUEUE_WORK, current=...)`
    with a cookie-session dependency that returns a Staff row:

        @router.get("/patients/{patient_id}", dependencies=[Depends(Require(PATIENT_READ))])
    """
    can("admin", action)  # an unknown action fails here, at import, not on a request

    def require(request: Request, staff: Annotated[Staff, Depends(current)]) -> Staff:
        if not can(staff.role, action):
            request.state.staff_ref = (staff.email, staff.clinic_id)  # for the audit row
            raise Forbidden(action)
        return staff

    # Real objects, not the strings `from __future__ import annotations` leaves: FastAPI
    # could not resolve the local `current` from a string.
    require.__annotations__ = {"request": Request, "staff": Annotated[Staff, Depends(current)],
                               "return": Staff}
    require.required_action = action  # type: ignore[attr-defined]  # what the route test reads
    return require


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
