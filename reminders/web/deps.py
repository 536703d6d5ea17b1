"""Dependencies as types, so routes read like sentences (SessionDep, CurrentStaff)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.exceptions import RequestValidationError
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
    staff_id = read_token(settings.secret_key, token, now)
    staff = session.get(Staff, staff_id) if staff_id is not None else None
    if staff is None or not staff.active:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "not signed in",
                            headers={"WWW-Authenticate": "Bearer"})
    # Plain values for the audit of a refused request (app.py): the ORM row is gone by then.
    request.state.staff_ref = (staff.email, staff.clinic_id)
    return staff


CurrentStaff = Annotated[Staff, Depends(get_current_staff)]
