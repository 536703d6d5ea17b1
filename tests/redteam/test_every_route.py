"""Every route of the app, read from app.routes (so a route added later is covered too):
signed out -> sign-in page (pages) or 401 (API); a role without the permission -> 403;
another clinic's ids -> 404 without its data; a POST page without its CSRF token -> 403;
no GET changes state. Each refusal leaves the database as it was (audit rows aside)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from reminders.models import STAFF_ROLES
from reminders.roles import can
from reminders.web import create_app
from tests.helpers import snapshot
from tests.redteam.seed import PUBLIC, SIGNED_IN_ONLY, XSS, all_routes, required_actions, seed, url_for
from tests.web.conftest import PASSWORD, clinics, clock, gateway  # noqa: F401  (fixtures)
from tests.web.signin import csrf, sign_in

# Tables a refused or read-only request may still write: the audit log (every read and
# refusal is recorded) and the session's last-seen time.
BOOKKEEPING = {"audit_event", "web_session"}

# A body an allowed caller would send, so that only the checks under test can refuse it.
API_BODIES = {
    "PATCH /api/patients/{patient_id}": {"status": "paused"},
    "POST /api/queue/{item_id}/resolve": {"outcome": "reached_well", "note": "ok"},
    "PATCH /api/clinic": {"name": "Afya Njema"},
    "POST /api/patients": {"clinic": "KIB", "phone": "+254712345077", "language": "sw",
                           "art_start_date": "2026-11-30", "consent": True},
}


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
        yield client


def _guarded(app):  # type: ignore[no-untyped-def]
    return [r for r in all_routes(app) if r.key not in PUBLIC]


def _bearer(client: TestClient, email: str) -> dict[str, str]:
    response = client.post("/api/token", data={"username": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _call(client, route, url, *, token=None, headers=None):  # type: ignore[no-untyped-def]
    if route.api:
        return client.request(route.method, url, headers=headers, json=API_BODIES.get(route.key),
                               follow_redirects=False)
    if route.method == "GET":
        return client.get(url, follow_redirects=False)
    data = {} if token is None else {"csrf_token": token}
    return client.request(route.method, url, data=data, follow_redirects=False)


def test_the_route_table_is_what_this_file_knows(app):
    keys = {r.key for r in all_routes(app)}
    assert PUBLIC <= keys, PUBLIC - keys  # a public route renamed must be looked at again
    # Every guarded route but sign-out declares the action it needs (RequirePage / Require).
    missing = [r.key for r in _guarded(app) if r.key not in SIGNED_IN_ONLY and not required_actions(r)]
    assert missing == []


def test_signed_out_every_route_sends_pages_to_sign_in_and_api_gets_401(app, client, engine, world):
    before = _state(engine)
    for route in _guarded(app):
        client.cookies.clear()
        token = csrf(client, "/")  # even with a valid pre-session CSRF token
        response = _call(client, route, url_for(route, world.own), token=token)
        if route.api:
            assert response.status_code == 401, route.key
        else:
            assert (response.status_code, response.headers.get("location")) == (303, "/"), route.key
    assert _state(engine) == before


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_a_role_without_the_permission_gets_403_and_nothing_changes(app, client, engine, world, role):
    refused = [r for r in _guarded(app) if not all(can(role, a) for a in required_actions(r))]
    if not refused:
        pytest.skip(f"{role} may do everything")
    email = f"{role}1@kib.example.org"
    headers = _bearer(client, email)
    sign_in(client, email)
    before = _state(engine)
    for route in refused:
        response = _call(client, route, url_for(route, world.own), token=csrf(client, "/queue"),
                         headers=headers)
        assert response.status_code == 403, (route.key, response.status_code)
    assert _state(engine) == before


def test_another_clinics_ids_are_404_on_every_route_and_never_show_its_data(app, client, engine, world):
    email = "admin1@kib.example.org"  # may do everything: only the clinic can refuse
    headers = _bearer(client, email)
    sign_in(client, email)
    before = _state(engine)
    routes = [r for r in _guarded(app) if r.params]
    assert routes
    for route in routes:
        response = _call(client, route, url_for(route, world.other), token=csrf(client, "/queue"),
                         headers=headers)
        assert response.status_code == 404, (route.key, response.status_code, response.text[:300])
        assert XSS[1] not in response.text and "+351912345001" not in response.text, route.key
    assert _state(engine) == before


@pytest.mark.parametrize("token", [None, "", "wrong", "0" * 32])
def test_every_post_page_refuses_a_missing_or_wrong_csrf_token(app, client, engine, world, token):
    sign_in(client, "admin1@kib.example.org")
    before = snapshot(engine)
    posts = [r for r in all_routes(app) if r.method != "GET" and not r.api and not r.path.startswith("/twilio/")]
    assert posts
    for route in posts:
        response = _call(client, route, url_for(route, world.own), token=token)
        assert response.status_code == 403, (route.key, response.status_code)
    assert snapshot(engine) == before


def test_no_get_changes_state(app, client, engine, world):
    email = "admin1@kib.example.org"
    headers = _bearer(client, email)
    sign_in(client, email)
    before = _state(engine)
    for route in all_routes(app):
        if route.method == "GET":
            response = _call(client, route, url_for(route, world.own), headers=headers)
            assert response.status_code < 500, route.key
    assert _state(engine) == before


def test_every_page_with_patient_data_is_no_store_and_unframeable(app, client, world):
    sign_in(client, "admin1@kib.example.org")
    for route in all_routes(app):
        if route.method != "GET" or route.api or route.key in PUBLIC:
            continue
        response = client.get(url_for(route, world.own), follow_redirects=False)
        assert response.status_code == 200, route.key
        assert "no-store" in response.headers.get("cache-control", ""), route.key
        assert response.headers.get("x-frame-options") == "DENY", route.key
        assert "frame-ancestors 'none'" in response.headers.get("content-security-policy", ""), route.key


def test_every_answer_but_static_files_is_no_store_and_unframeable(app, client, world):
    """The API's JSON holds patient data as much as the pages do; /docs must not be framed."""
    email = "admin1@kib.example.org"
    headers = _bearer(client, email)
    sign_in(client, email)
    for route in all_routes(app):
        if route.method != "GET":
            continue
        response = _call(client, route, url_for(route, world.own), headers=headers)
        assert response.headers.get("cache-control") == "no-store" or "no-store" in response.headers.get(
            "cache-control", ""), route.key
        assert response.headers.get("x-frame-options") == "DENY", route.key
