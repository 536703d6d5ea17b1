"""Staff page sign-in: server-side sessions (hashed token, idle and absolute timeouts,
renewed at login, logout and disabling end them), cookie flags, CSRF, no state change on GET."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from reminders.db import session_scope
from reminders.models import AuditEvent, Staff, WebSession
from reminders.web import create_app
from tests.helpers import snapshot
from tests.web.pages import csrf_of, post_form, sign_in


def sessions(engine):  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return session.exec(select(WebSession)).all()


def test_sign_in_stores_only_a_hash_and_sets_a_host_only_secure_cookie(client, engine):
    response = sign_in(client)
    assert response.status_code == 303 and response.headers["location"] == "/queue"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("__Host-reminders_session="))
    token = cookie.split(";")[0].split("=", 1)[1]
    flags = cookie.lower()
    assert "httponly" in flags and "samesite=lax" in flags and "secure" in flags and "path=/" in flags
    assert "domain=" not in flags
    [row] = sessions(engine)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in row.token_hash
    assert client.get("/queue").status_code == 200


def test_plain_http_deployment_gets_an_unprefixed_cookie_without_secure(settings, engine, gateway, clock, clinics):
    app = create_app(settings.model_copy(update={"public_url": "http://127.0.0.1:8000"}),
                     engine=engine, gateway=gateway, clock=clock)
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        response = sign_in(client)
    cookie = next(c for c in response.headers.get_list("set-cookie") if "session=" in c)
    assert cookie.startswith("reminders_session=") and "secure" not in cookie.lower()


def test_wrong_password_and_unknown_user_get_the_same_answer_and_no_session(client, engine):
    wrong = sign_in(client, password="not the password")
    unknown = sign_in(client, email="nobody@kib.example.org")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong email or password." in wrong.text and "Wrong email or password." in unknown.text
    assert sessions(engine) == []


def test_the_login_throttle_answers_429_after_ten_failures(client):
    for _ in range(10):
        assert sign_in(client, password="not the password").status_code == 401
    response = sign_in(client)  # even the right password waits
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0


def test_idle_timeout_is_30_minutes(client, engine, clock):
    sign_in(client)
    clock.now += timedelta(minutes=29)
    assert client.get("/queue", follow_redirects=False).status_code == 200
    clock.now += timedelta(minutes=29)  # used 29 minutes ago: still fine
    assert client.get("/queue", follow_redirects=False).status_code == 200
    clock.now += timedelta(minutes=31)
    response = client.get("/queue", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert sessions(engine) == []


def test_absolute_timeout_is_12_hours_even_when_busy(client, clock):
    sign_in(client)
    for _ in range(12 * 4 - 1):  # used every 15 minutes for 11 h 45 min: still signed in
        clock.now += timedelta(minutes=15)
        assert client.get("/queue", follow_redirects=False).status_code == 200
    clock.now += timedelta(minutes=16)  # 12 h 01 min after sign-in, 16 min after last use
    response = client.get("/queue", follow_redirects=False)
    assert response.status_code == 303


def test_signing_in_again_replaces_the_session(client, engine):
    sign_in(client)
    first = client.cookies.get("__Host-reminders_session")
    token = csrf_of(client.get("/queue").text)
    client.post("/signin", data={"username": "nurse@kib.example.org", "password": "correct horse battery",
                                 "csrf_token": token}, follow_redirects=False)
    second = client.cookies.get("__Host-reminders_session")
    assert first != second and len(sessions(engine)) == 1
    client.cookies.set("__Host-reminders_session", first)
    assert client.get("/queue", follow_redirects=False).status_code == 303


def test_sign_out_deletes_the_session(client, engine):
    sign_in(client)
    token = client.cookies.get("__Host-reminders_session")
    assert post_form(client, "/queue", "/signout").status_code == 303
    assert sessions(engine) == []
    client.cookies.set("__Host-reminders_session", token)  # a copied cookie is dead too
    assert client.get("/queue", follow_redirects=False).status_code == 303


def test_disabling_a_user_ends_their_sessions(client, engine):
    sign_in(client)
    with session_scope(engine) as session:
        staff = session.exec(select(Staff).where(Staff.email == "nurse@kib.example.org")).one()
        staff.active = False
        session.add(staff)
    assert client.get("/queue", follow_redirects=False).status_code == 303
    assert sessions(engine) == []


@pytest.mark.parametrize("token", [None, "wrong"])
def test_a_post_without_the_csrf_token_is_403_and_changes_nothing(client, engine, token):
    sign_in(client)
    before = snapshot(engine)
    data = {} if token is None else {"csrf_token": token}
    response = client.post("/signout", data=data, follow_redirects=False)
    assert response.status_code == 403 and "expired" in response.text
    assert snapshot(engine) == before


def test_the_sign_in_form_needs_its_csrf_token_too(client, engine):
    client.get("/")
    response = client.post("/signin", data={"username": "nurse@kib.example.org",
                                             "password": "correct horse battery"})
    assert response.status_code == 403 and sessions(engine) == []


def test_another_sessions_csrf_token_is_refused(client, engine):
    sign_in(client, "nurse@lis.example.org")
    other = csrf_of(client.get("/queue").text)
    sign_in(client)
    assert client.post("/signout", data={"csrf_token": other}).status_code == 403


def test_state_never_changes_on_get(client):
    sign_in(client)
    for path in ("/signout", "/queue/1/claim", "/queue/1/resolve", "/patients/1/withdraw"):
        assert client.get(path).status_code == 405, path


def test_pages_need_a_session_and_htmx_is_told_to_reload(client):
    response = client.get("/queue", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/"
    response = client.get("/queue/rows", headers={"HX-Request": "true"}, follow_redirects=False)
    assert response.headers["HX-Redirect"] == "/"


def test_sign_in_and_out_are_audited(client, engine):
    sign_in(client, password="wrong password!")
    sign_in(client)
    post_form(client, "/queue", "/signout")
    with session_scope(engine) as session:
        actions = [e.action for e in session.exec(select(AuditEvent).order_by(AuditEvent.id))]
    assert [a for a in actions if a.startswith("auth.")] == ["auth.fail", "auth.login", "auth.logout"]


def test_pages_send_a_content_security_policy_and_docs_load_only_local_assets(client):
    page = client.get("/")
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    docs = client.get("/docs").text
    assert "/static/swagger-ui/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
    assert client.get("/static/swagger-ui/swagger-ui-bundle.js").status_code == 200
    assert client.get("/static/htmx.min.js").status_code == 200
    assert client.get("/redoc").status_code == 404


def test_a_sign_in_purges_other_timed_out_sessions(client, engine, clock):
    sign_in(client, "nurse@lis.example.org")
    clock.now += timedelta(minutes=31)
    sign_in(client)
    assert len(sessions(engine)) == 1


def test_htmx_requests_may_carry_the_csrf_token_in_a_header(client, engine):
    sign_in(client)
    token = csrf_of(client.get("/queue").text)
    assert f'"X-CSRF-Token": "{token}"' in client.get("/queue").text  # base.html hands it to htmx
    response = client.post("/signout", headers={"X-CSRF-Token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert sessions(engine) == []


@pytest.mark.parametrize("email", ["nurse\x00@kib.example.org", "n" * 300 + "@kib.example.org"])
def test_an_unstorable_username_is_refused_with_nothing_written(client, engine, email):
    before = snapshot(engine)
    response = sign_in(client, email=email)
    assert response.status_code == 422 and "Wrong email or password." in response.text
    assert snapshot(engine) == before


def test_a_good_sign_in_clears_the_failures_after_its_commit(client, engine):
    for _ in range(9):
        assert sign_in(client, password="not the password").status_code == 401
    assert sign_in(client).status_code == 303
    with session_scope(engine) as session:  # the shared throttle table is emptied for this key
        from reminders.models import LoginFailure
        assert session.exec(select(LoginFailure)).all() == []
