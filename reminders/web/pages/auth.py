"""Sign in at `/` (fields `username` and `password`: a DESIGN.md contract) and sign out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import select

from reminders.models import Staff
from reminders.security import DUMMY_HASH, verify_password
from reminders.services import audit, web_sessions
from reminders.web.deps import NowDep, SessionDep
from reminders.web.pages.common import (
    CsrfForm, delete_cookie, render, session_token, set_cookie,
)

router = APIRouter()

LANDING = "/queue"


@router.get("/")
def sign_in_page(request: Request, session: SessionDep, now: NowDep) -> Response:
    if web_sessions.lookup(session, session_token(request), now) is not None:
        return RedirectResponse(LANDING, status_code=303)
    return render(request, "signin.html", {"username": ""})


@router.post("/signin")
def sign_in(request: Request, form: CsrfForm, session: SessionDep, now: NowDep) -> Response:
    username = str(form.get("username") or "").strip().lower()
    password = str(form.get("password") or "")
    if "\x00" in username + password or len(username) > 254 or len(password) > 1024:
        # Unstorable or absurd input: refused before any query (PostgreSQL refuses NUL).
        return render(request, "signin.html", {"username": "",
                                               "error": "Wrong email or password."},
                      status_code=422)
    key = (username, request.client.host if request.client else "")
    throttle = request.app.state.login_throttle
    wait = throttle.retry_after(key, now)
    if wait is not None:
        audit.record(session, "anonymous", "auth.throttled", "staff", None, at=now, via="page")
        session.commit()
        response = render(request, "signin.html", {
            "username": username,
            "error": f"Too many attempts. Try again in {max(1, wait // 60)} minute(s)."},
            status_code=429)
        response.headers["Retry-After"] = str(wait)
        return response
    staff = session.exec(select(Staff).where(Staff.email == username)).first()
    # Verify against a dummy hash for unknown users: same time, no user enumeration.
    ok = verify_password(staff.password_hash if staff else DUMMY_HASH, password)
    if staff is None or not ok or not staff.active:
        audit.record(session, "anonymous", "auth.fail", "staff", staff.id if staff else None,
                     at=now, via="page")
        session.commit()
        throttle.failed(key, now)
        return render(request, "signin.html", {"username": username,
                                               "error": "Wrong email or password."},
                      status_code=401)
    token = web_sessions.start(session, staff, now, replacing=session_token(request))
    audit.record(session, staff.email, "auth.login", "staff", staff.id,
                 clinic_id=staff.clinic_id, at=now, via="page")
    session.commit()
    # After the commit: on SQLite the request's transaction holds the one write lock.
    throttle.succeeded(key)
    response = RedirectResponse(LANDING, status_code=303)
    settings = request.app.state.settings
    # No max-age: the cookie ends with the browser; the server enforces both timeouts.
    set_cookie(response, settings, "session", token)
    delete_cookie(response, settings, "csrf")
    return response


@router.post("/signout")
def sign_out(request: Request, form: CsrfForm, session: SessionDep, now: NowDep) -> Response:
    token = session_token(request)
    staff = web_sessions.lookup(session, token, now)
    if token:
        web_sessions.end(session, token)
    if staff is not None:
        audit.record(session, staff.email, "auth.logout", "staff", staff.id,
                     clinic_id=staff.clinic_id, at=now)
    session.commit()
    response = RedirectResponse("/", status_code=303)
    delete_cookie(response, request.app.state.settings, "session")
    return response
