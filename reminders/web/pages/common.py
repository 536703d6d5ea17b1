"""What every staff page shares: templates, the signed-in staff member, role checks, CSRF,
flash messages, the navigation and the audit of reads.

How a page module uses it:

    router = APIRouter()

    @router.get("/things")
    def things(request: Request, session: SessionDep, staff: PageStaff) -> HTMLResponse:
        return render(request, "things.html", {"rows": ...})

    @router.post("/things/{thing_id:int}/do")
    def do(request: Request, thing_id: int, form: CsrfForm, session: SessionDep,
           staff: Staff = RequirePage(roles.QUEUE_WORK)) -> Response:
        ...
        session.commit()          # commit before answering (NOTES.md)
        return redirect("/things", flash_message="Done.")

Patient text is untrusted: templates autoescape, and nothing here marks patient text safe.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import jinja2
from fastapi import Depends, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from sqlmodel import Session
from starlette.datastructures import FormData

from reminders.config import Settings
from reminders.models import Staff
from reminders.roles import ACTIONS, can
from reminders.services import audit, web_sessions
from reminders.web.deps import NowDep, SessionDep

WEB_DIR = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"

_env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=True)
templates = Jinja2Templates(env=_env)


@jinja2.pass_context
def _csrf_field(context: Any) -> Markup:
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(context["csrf_token"])


_env.globals["csrf_field"] = _csrf_field


# --- cookies -------------------------------------------------------------------------

def https(settings: Settings) -> bool:
    return settings.public_url.startswith("https://")


def cookie_name(settings: Settings, base: str) -> str:
    # The __Host- prefix makes the browser refuse the cookie unless it is Secure, has
    # Path=/ and no Domain: a sibling subdomain cannot plant or overwrite it.
    return f"__Host-reminders_{base}" if https(settings) else f"reminders_{base}"


def set_cookie(response: Response, settings: Settings, base: str, value: str,
               max_age: int | None = None) -> None:
    response.set_cookie(cookie_name(settings, base), value, max_age=max_age, path="/",
                        httponly=True, samesite="lax", secure=https(settings))


def delete_cookie(response: Response, settings: Settings, base: str) -> None:
    response.delete_cookie(cookie_name(settings, base), path="/", httponly=True,
                           samesite="lax", secure=https(settings))


def session_token(request: Request) -> str | None:
    return request.cookies.get(cookie_name(request.app.state.settings, "session"))


# --- CSRF ------------------------------------------------------------------------------
# A synchronizer token derived from the session token (HMAC with the secret key), so
# nothing more is stored; before sign-in, from a random pre-session cookie instead.

def _mac(settings: Settings, purpose: str, value: str) -> str:
    digest = hmac.new(settings.secret_key.encode(), f"{purpose}:{value}".encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def csrf_token(request: Request) -> str:
    settings = request.app.state.settings
    token = session_token(request)
    if token:
        return _mac(settings, "csrf-session", token)
    anon = request.cookies.get(cookie_name(settings, "csrf")) or getattr(request.state, "new_csrf", None)
    if anon is None:
        anon = request.state.new_csrf = secrets.token_urlsafe(16)  # render() sets the cookie
    return _mac(settings, "csrf-anon", anon)


async def _check_csrf(request: Request) -> FormData:
    form = await request.form()
    # A form field, or the header htmx adds to every request (base.html, hx-headers).
    sent = form.get("csrf_token") or request.headers.get("X-CSRF-Token")
    if not isinstance(sent, str) or not hmac.compare_digest(sent, csrf_token(request)):
        raise PageError(403, "This form has expired or did not come from this site. "
                             "Go back, reload the page and try again.")
    return form


CsrfForm = Annotated[FormData, Depends(_check_csrf)]


# --- errors a page answers with ---------------------------------------------------------

class PageError(Exception):
    """Answered as an HTML page with this status and message (see install_handlers)."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code, self.message = status_code, message


class SignInRequired(Exception):
    """Not signed in (or the session timed out): back to the sign-in form."""


# --- the signed-in staff member ----------------------------------------------------------

@dataclass(frozen=True)
class SignedIn:
    id: int
    email: str
    role: str
    clinic_id: int


def _page_staff(request: Request, session: SessionDep, now: NowDep) -> Staff:
    staff = web_sessions.lookup(session, session_token(request), now)
    if staff is None:
        session.commit()  # keep the deletion of a timed-out session
        raise SignInRequired()
    # Plain values for templates: an error page renders after the request's rollback,
    # when the ORM row can no longer be read.
    request.state.page_staff = SignedIn(staff.id, staff.email, staff.role, staff.clinic_id)
    # Plain values for the audit of a refused request (app.py): the ORM row is gone by then.
    request.state.staff_ref = (staff.email, staff.clinic_id)
    return staff


PageStaff = Annotated[Staff, Depends(_page_staff)]


def RequirePage(action: str) -> Any:  # noqa: N802 (reads like a type at the call site)
    """`staff: Staff = RequirePage(roles.PATIENT_WITHDRAW)`: the signed-in staff member
    when their role may do `action` (reminders.roles.can); a 403 page otherwise."""
    if action not in ACTIONS:
        raise KeyError(f"unknown action {action!r}")

    def dependency(request: Request, staff: PageStaff, session: SessionDep, now: NowDep) -> Staff:
        if not can(staff.role, action):
            audit.record(session, staff.email, "access.forbidden", "page", None,
                         clinic_id=staff.clinic_id, at=now, needs=action, path=request.url.path)
            session.commit()
            raise PageError(403, "Your role does not allow this. Ask a clinic admin.")
        return staff

    dependency.required_action = action  # type: ignore[attr-defined]  # read by tests/redteam
    return Depends(dependency)


def audit_view(session: Session, staff: Staff, entity: str, entity_id: int | None, **detail: Any) -> None:
    """Record a read of patient data (DESIGN.md: every read is audited). `at=` may be given."""
    at = detail.pop("at", None)
    audit.record(session, staff.email, f"{entity}.read", entity, entity_id,
                 clinic_id=staff.clinic_id, at=at, **detail)


# --- navigation ----------------------------------------------------------------------------

@dataclass(frozen=True)
class NavLink:
    href: str
    label: str
    action: str | None = None  # shown only to roles that may do it
    order: int = 50


NAV: list[NavLink] = []


def add_nav(href: str, label: str, action: str | None = None, order: int = 50) -> None:
    """Each page module registers its own link at import time."""
    if all(link.href != href for link in NAV):
        NAV.append(NavLink(href, label, action, order))


def nav_for(staff: SignedIn | None) -> list[NavLink]:
    if staff is None:
        return []
    return [link for link in sorted(NAV, key=lambda link: (link.order, link.label))
            if link.action is None or can(staff.role, link.action)]


# --- flash messages (one request to the next, in a signed cookie) --------------------------

def _sign(settings: Settings, payload: str) -> str:
    return payload + "." + _mac(settings, "flash", payload)


def flash(response: Response, request: Request, message: str, kind: str = "ok") -> None:
    settings = request.app.state.settings
    # Short: a cookie holds 4 KB at most, and an error may quote what was typed.
    payload = base64.urlsafe_b64encode(json.dumps([[kind, message[:300]]]).encode()).decode()
    set_cookie(response, settings, "flash", _sign(settings, payload), max_age=60)


def _read_flashes(request: Request) -> list[tuple[str, str]]:
    settings = request.app.state.settings
    raw = request.cookies.get(cookie_name(settings, "flash"))
    if not raw or "." not in raw:
        return []
    payload = raw.rsplit(".", 1)[0]
    if not hmac.compare_digest(_sign(settings, payload), raw):
        return []
    try:
        return [(str(k), str(m)) for k, m in json.loads(base64.urlsafe_b64decode(payload))]
    except (ValueError, TypeError):
        return []


def local_path(value: object, default: str) -> str:
    """`value` when it is a path on this site, else `default`: a form's `next` must not send
    a nurse to another host. Browsers read `//host`, `/\\host` and tab- or newline-split
    forms of them as another site, so backslashes and control characters are refused too."""
    text = value if isinstance(value, str) else ""
    if (not text.startswith("/") or text.startswith("//") or "\\" in text
            or any(ord(c) < 32 or ord(c) == 127 for c in text) or len(text) > 500):
        return default
    return text


def redirect(request: Request, url: str, flash_message: str | None = None,
             kind: str = "ok") -> Response:
    """After a POST: 303 to `url` (or HX-Redirect for htmx), with an optional flash."""
    if request.headers.get("HX-Request"):
        response: Response = Response(status_code=204, headers={"HX-Redirect": url})
    else:
        response = RedirectResponse(url, status_code=303)
    if flash_message:
        flash(response, request, flash_message, kind)
    return response


# --- rendering -------------------------------------------------------------------------------

def render(request: Request, name: str, context: dict[str, Any] | None = None,
           status_code: int = 200) -> HTMLResponse:
    staff = getattr(request.state, "page_staff", None)
    partial = bool(request.headers.get("HX-Request"))
    flashes = [] if partial else _read_flashes(request)
    full = {"request": request, "staff": staff, "csrf_token": csrf_token(request),
            "nav": nav_for(staff), "flashes": flashes, **(context or {})}
    response = templates.TemplateResponse(request, name, full, status_code=status_code)
    settings = request.app.state.settings
    if getattr(request.state, "new_csrf", None):
        set_cookie(response, settings, "csrf", request.state.new_csrf)
    if flashes:
        delete_cookie(response, settings, "flash")
    response.headers["Cache-Control"] = "no-store"  # patient data stays off shared disks
    return response


def error_page(request: Request, status_code: int, message: str) -> HTMLResponse:
    return render(request, "error.html", {"status_code": status_code, "message": message},
                  status_code=status_code)


def is_page_request(request: Request) -> bool:
    return not request.url.path.startswith(("/api/", "/twilio/", "/docs", "/openapi", "/static/"))


def install(app: Any) -> None:
    """Static files, the page error handlers and the security headers of pages."""
    from fastapi.staticfiles import StaticFiles

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.exception_handler(PageError)
    async def _page_error(request: Request, exc: PageError) -> Response:
        return error_page(request, exc.status_code, exc.message)

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _exc: SignInRequired) -> Response:
        if request.headers.get("HX-Request"):
            return Response(status_code=204, headers={"HX-Redirect": "/"})
        return RedirectResponse("/", status_code=303)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        # A page answers with a page naming the field, not FastAPI's JSON (which echoes input).
        if not is_page_request(request):
            return await request_validation_exception_handler(request, exc)
        first = exc.errors()[0] if exc.errors() else {}
        field = str(first.get("loc", ["", "input"])[-1])
        return error_page(request, 422, f"{field}: {first.get('msg', 'is not valid')}")

    @app.middleware("http")
    async def _page_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        # A NUL in the query string reaches SQL as text PostgreSQL refuses (a 500): refused
        # here, for every route, naming the parameter.
        bad = [name for name, value in request.query_params.multi_items() if "\x00" in name + value]
        if bad:
            if is_page_request(request):
                response = error_page(request, 422, f"{bad[0]}: must not contain a NUL character")
            else:
                response = JSONResponse(status_code=422, content={"detail": [
                    {"loc": ["query", bad[0]], "msg": "must not contain a NUL character",
                     "type": "value_error"}]})
        else:
            response = await call_next(request)
        if is_page_request(request):
            # Scripts and styles from our own /static only: an injected tag would not run.
            response.headers.setdefault(
                "Content-Security-Policy",
                "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                "frame-ancestors 'none'; form-action 'self'")
            response.headers.setdefault("X-Frame-Options", "DENY")
        return response


__all__ = [
    "CsrfForm", "NAV", "PageError", "PageStaff", "RequirePage", "SignInRequired", "add_nav",
    "audit_view", "csrf_token", "error_page", "flash", "local_path", "redirect", "render", "templates",
]
