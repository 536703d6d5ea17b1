"""A two-clinic world full of hostile patient text, and the route table read from the app.

Every id a route's path can take (`item_id`, `patient_id`, `message_id`) exists in both
clinics, so a test can ask for its own clinic's row and for the other clinic's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from fastapi.routing import APIRoute
from sqlmodel import select

from reminders.db import session_scope
from reminders.models import STAFF_ROLES, Clinic, Message, Patient, QueueItem
from reminders.schemas import PatientCreate
from reminders.services.clinics import add_staff
from reminders.services.enroll import enroll
from reminders.services.inbound import Incoming, ingest, process_received
from tests.web.conftest import PASSWORD

# Short enough for a 40-character name or register number.
XSS = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', "javascript:alert(1)//",
       "\u202egnp.exe\u202c'onmouseover='x"]
MARKERS = ["<script>alert(1)", "<img src=x", "onmouseover='x"]  # never raw in a page
FORMULA = "=HYPERLINK(\"http://evil.example\")"

# Routes anyone may call: signing in, the webhooks (Twilio-signed), health and metrics
# (aggregate figures only), the API docs. Everything else needs a signed-in role.
PUBLIC = {"GET /", "POST /signin", "POST /api/token", "POST /twilio/sms", "POST /twilio/status",
          "GET /healthz", "GET /metrics", "GET /docs", "GET /docs/oauth2-redirect"}
SIGNED_IN_ONLY = {"POST /signout"}  # needs a session, no particular role


@dataclass
class Route:
    method: str
    path: str
    route: APIRoute

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def api(self) -> bool:
        return self.path.startswith("/api/")

    @property
    def params(self) -> list[str]:
        return [p.name for p in self.route.dependant.path_params]


def _walk(routes) -> list[APIRoute]:  # type: ignore[no-untyped-def]
    found = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found += _walk(route.original_router.routes)
        elif hasattr(route, "routes"):
            found += _walk(route.routes)
    return found


def all_routes(app) -> list[Route]:  # type: ignore[no-untyped-def]
    return [Route(method, r.path, r) for r in _walk(app.routes) for method in sorted(r.methods)]


def required_actions(route: Route) -> set[str]:
    def walk(dependant) -> set[str]:  # type: ignore[no-untyped-def]
        action = getattr(dependant.call, "required_action", None)
        found = {action} if action else set()
        for sub in dependant.dependencies:
            found |= walk(sub)
        return found

    return walk(route.route.dependant)


def url_for(route: Route, ids: dict[str, int]) -> str:
    path = route.path
    for name in route.params:
        assert name in ids, f"{route.key}: no test id for path parameter {name!r} (add it to seed.py)"
        path = path.replace("{" + name + ":int}", str(ids[name])).replace("{" + name + "}", str(ids[name]))
    return path


@dataclass
class World:
    own: dict[str, int]    # KIB's ids
    other: dict[str, int]  # LIS's ids


def seed(engine: sa.Engine, now) -> World:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        for role in STAFF_ROLES:
            add_staff(session, email=f"{role}1@kib.example.org", clinic_code="KIB", role=role,
                      password=PASSWORD)
    return World(_clinic(engine, now, "KIB", "+254712345001", 0), _clinic(engine, now, "LIS", "+351912345001", 1))


def _clinic(engine, now, code: str, phone: str, n: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        patient = enroll(session, PatientCreate(
            clinic=code, phone=phone, language="en", art_start_date=date(2026, 11, 20), consent=True,
            display_name=XSS[n], register_ref=XSS[1 - n] if n else FORMULA[:40]), now=now)
        session.flush()
        patient_id = patient.id
    with session_scope(engine) as session:
        for i, text in enumerate(XSS):
            ingest(session, Incoming(f"SMredteam{code}{i}", phone, "+15005550006", f"{text} fever"),
                   now=now, answer_mode="twiml")
        ingest(session, Incoming(f"SMredteam{code}f", phone, "+15005550006", FORMULA),
               now=now, answer_mode="twiml")
    process_received(engine)
    with session_scope(engine) as session:
        clinic_id = session.exec(select(Clinic.id).where(Clinic.code == code)).one()
        message_id = session.exec(select(Message.id).where(Message.patient_id == patient_id,
                                                           Message.direction == "inbound")).first()
        item = QueueItem(clinic_id=clinic_id, patient_id=patient_id, level="flag", rank=3,
                         note=XSS[1])
        session.add(item)
        session.flush()
        assert session.get(Patient, patient_id) is not None
        return {"patient_id": patient_id, "item_id": item.id, "message_id": message_id}
