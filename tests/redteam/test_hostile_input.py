"""Hostile text everywhere: patient replies, names, register numbers and notes full of
markup are escaped on every page; every field of every form on the staff pages, sent NUL,
bidi overrides or a megabyte, gets an answer (never a 500) and a NUL changes nothing;
CSV exports cannot run formulas; redirects stay on this site; sessions cannot be fixed."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient

from reminders.web import create_app
from tests.helpers import snapshot
from tests.redteam.forms import forms_of
from tests.redteam.seed import FORMULA, MARKERS, PUBLIC, all_routes, seed, url_for
from tests.web.conftest import PASSWORD, clinics, clock, gateway  # noqa: F401  (fixtures)
from tests.web.signin import csrf, sign_in

BOOKKEEPING = {"audit_event", "web_session"}


def _state(engine) -> dict:  # type: ignore[no-untyped-def]
    return {k: v for k, v in snapshot(engine).items() if k not in BOOKKEEPING}


@pytest.fixture
def world(engine, clinics, clock):  # type: ignore[no-untyped-def]  # noqa: F811
    return seed(engine, clock.now)


@pytest.fixture
def app(settings, engine, gateway, clock):  # type: ignore[no-untyped-def]  # noqa: F811
    return create_app(settings, engine=engine, gateway=gateway, clock=clock)


@pytest.fixture
def client(app, settings, world):  # type: ignore[no-untyped-def]
    with TestClient(app, base_url=settings.public_url) as client:
        sign_in(client, "admin1@kib.example.org")
        yield client


def _pages(app, world) -> list[str]:  # type: ignore[no-untyped-def]
    urls = [url_for(r, world.own) for r in all_routes(app)
            if r.method == "GET" and not r.api and r.key not in PUBLIC and not r.path.endswith(".csv")]
    pid = world.own["patient_id"]
    return urls + [f"/simulator?patient={pid}", "/patients?q=%3Cscript%3Ealert(1)%3C/script%3E",
                   "/audit?actor=%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E",
                   "/queue?after=%3Cscript%3Ealert(1)%3C/script%3E", "/review?show=%3Cscript%3Ealert(1)"]


def test_hostile_patient_text_is_escaped_on_every_page(app, client, world):
    for url in _pages(app, world):
        response = client.get(url, follow_redirects=False)
        assert response.status_code < 500, url
        for marker in MARKERS:
            assert marker not in response.text, (url, marker)
        assert 'href="javascript:' not in response.text.lower(), url
    # The hostile name really is shown (escaped), so the check above looked at it.
    patient = client.get(f"/patients/{world.own['patient_id']}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in patient


HOSTILE = {"nul": "a\x00b", "long": "x" * 1_000_000, "bidi": "\u202e<script>alert(1)</script>\u202c",
           "quote": "\"'><img src=x onerror=alert(1)>"}


def _forms(client, app, world):  # type: ignore[no-untyped-def]
    seen = {}
    for url in _pages(app, world):
        for form in forms_of(client.get(url).text):
            if form.method == "post" and form.action != "/signout":
                seen.setdefault(form.action, form)
    return list(seen.values())


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_every_form_field_survives_hostile_input(app, client, engine, world, kind):
    forms = _forms(client, app, world)
    assert len(forms) >= 8, [f.action for f in forms]
    for form in forms:
        for name in form.fields:
            if name == "csrf_token":
                continue
            data = {**form.fields, name: HOSTILE[kind], "csrf_token": csrf(client, "/queue")}
            response = client.post(form.action, data=data, follow_redirects=False)
            assert response.status_code < 500, (form.action, name, kind, response.text[:300])
            for marker in MARKERS:
                assert marker not in response.text, (form.action, name, kind)
            if kind == "nul":  # refused, or ignored: never stored (PostgreSQL cannot hold it)
                assert "\x00" not in repr(_state(engine)), (form.action, name)
            # Whatever happened, every page still renders and stays escaped.
            for url in (f"/queue/{world.own['item_id']}", f"/patients/{world.own['patient_id']}"):
                page = client.get(url)
                assert page.status_code == 200 and all(m not in page.text for m in MARKERS), (form.action, name)


@pytest.mark.parametrize("body,field", [
    ({"display_name": "a\x00b"}, "display_name"), ({"register_ref": "a\x00b"}, "register_ref"),
    ({"phone": "+2547\x0012345078"}, "phone"), ({"display_name": "x" * 100_000}, "display_name"),
])
def test_api_enroll_refuses_unstorable_text_with_422_naming_the_field(client, engine, body, field):
    headers = {"Authorization": "Bearer " + client.post("/api/token", data={
        "username": "admin1@kib.example.org", "password": PASSWORD}).json()["access_token"]}
    before = _state(engine)
    response = client.post("/api/patients", headers=headers, json={
        "clinic": "KIB", "phone": "+254712345078", "language": "en", "art_start_date": "2026-11-30",
        "consent": True, **body})
    assert response.status_code == 422, response.text
    assert field in response.text
    assert _state(engine) == before


def test_csv_exports_never_start_a_cell_with_a_formula(client, world):
    item = world.own["item_id"]
    token = csrf(client, f"/queue/{item}")
    assert client.post(f"/queue/{item}/correct", data={"corrected_level": "urgent", "csrf_token": token},
                       follow_redirects=False).status_code == 303
    for url in ("/corrections/export.csv", "/audit/export.csv"):
        response = client.get(url)
        assert response.status_code == 200 and "no-store" in response.headers["cache-control"]
        cells = [cell for row in csv.reader(io.StringIO(response.text)) for cell in row]
        assert cells and not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], url


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example/",
                                    "/\t/evil.example/", "\\\\evil.example", "/%0d%0aSet-Cookie:x=1",
                                    "javascript:alert(1)", " //evil.example"])
def test_the_correction_form_only_redirects_within_this_site(client, world, target):
    item = world.own["item_id"]
    token = csrf(client, f"/queue/{item}")
    response = client.post(f"/queue/{item}/correct", data={
        "corrected_level": "urgent", "next": target, "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    location = response.headers["location"]
    stripped = location.replace("\t", "").replace("\n", "").replace("\r", "")
    assert stripped.startswith("/") and stripped[1:2] not in ("/", "\\"), location
    assert "evil" not in location and "x=1" not in response.headers.get("set-cookie", "")


def test_a_planted_session_cookie_does_not_survive_sign_in(app, settings, world):
    with TestClient(app, base_url=settings.public_url) as attacker:
        sign_in(attacker, "nurse@lis.example.org")  # a real session of the attacker's own
        planted = attacker.cookies.get("__Host-reminders_session")
    with TestClient(app, base_url=settings.public_url) as victim:
        victim.cookies.set("__Host-reminders_session", planted, domain="reminders.example.org")
        token = csrf(victim, "/")
        response = victim.post("/signin", data={"username": "nurse@kib.example.org", "password": PASSWORD,
                                                "csrf_token": token}, follow_redirects=False)
        assert response.status_code == 303
        cookie = response.headers["set-cookie"]
        assert "HttpOnly" in cookie and "Secure" in cookie and "samesite=lax" in cookie.lower()
        assert victim.cookies.get("__Host-reminders_session") != planted
    with TestClient(app, base_url=settings.public_url) as attacker:
        attacker.cookies.set("__Host-reminders_session", planted, domain="reminders.example.org")
        assert attacker.get("/queue", follow_redirects=False).status_code == 303  # dead, not the victim's


def test_signing_out_ends_the_session_on_the_server(app, settings, world):
    with TestClient(app, base_url=settings.public_url) as client:
        sign_in(client, "nurse@kib.example.org")
        token = client.cookies.get("__Host-reminders_session")
        response = client.post("/signout", data={"csrf_token": csrf(client, "/queue")}, follow_redirects=False)
        assert response.status_code == 303 and "Max-Age=0" in response.headers["set-cookie"]
        client.cookies.set("__Host-reminders_session", token, domain="reminders.example.org")  # a copy kept by the browser or a thief
        assert client.get("/queue", follow_redirects=False).headers["location"] == "/"


# Query parameters a page reads itself (request.query_params), beside its declared ones.
READ_BY_HAND = {"/audit": ["actor", "action", "patient", "since", "until", "page"], "/review": ["show", "page"]}


@pytest.mark.parametrize("kind", ["nul", "long", "bidi", "quote"])
def test_every_query_parameter_survives_hostile_input(app, client, engine, world, kind):
    before = _state(engine)
    value = HOSTILE[kind][:20_000]  # a URL longer than that is the web server's to refuse
    checked = 0
    for route in all_routes(app):
        if route.method != "GET" or route.api or route.key in PUBLIC:
            continue
        names = [p.name for p in route.route.dependant.query_params] + READ_BY_HAND.get(route.path, [])
        for name in names:
            response = client.get(url_for(route, world.own), params={name: value}, follow_redirects=False)
            checked += 1
            assert response.status_code < 500, (route.key, name, kind)
            assert all(m not in response.text for m in MARKERS), (route.key, name, kind)
    assert checked >= 10 and _state(engine) == before


def test_a_nul_or_a_wrong_type_in_the_query_is_a_422_naming_the_parameter(client, engine):
    before = _state(engine)
    page = client.get("/patients", params={"q": "a\x00b"})
    assert page.status_code == 422 and "q: must not contain a NUL" in page.text
    assert "text/html" in page.headers["content-type"]
    page = client.get("/sends/problems", params={"page": "<script>alert(1)</script>"})
    assert page.status_code == 422 and "text/html" in page.headers["content-type"]
    assert "page:" in page.text and "<script>alert(1)" not in page.text
    headers = {"Authorization": "Bearer " + client.post("/api/token", data={
        "username": "admin1@kib.example.org", "password": PASSWORD}).json()["access_token"]}
    api = client.get("/api/queue", params={"after": "\x00"}, headers=headers)
    assert api.status_code == 422 and api.json()["detail"][0]["loc"] == ["query", "after"]
    assert _state(engine) == before
