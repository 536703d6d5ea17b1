"""Keys and staff tokens: no serving with a public or short key, separate keys for tokens
and webhook signing, rotation, and tokens that stop working server-side."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from reminders.config import DEFAULT_SECRET_KEY, Settings
from reminders.db import create_db_engine, session_scope
from reminders.models import Staff
from reminders.security import issue_token, read_token
from reminders.web import create_app
from tests.reliability.security_helpers import (
    GOOD_KEY, env_for, run, signed_post, start_server, stop,
)
from tests.web.conftest import PASSWORD, clinics, clock, gateway  # noqa: F401  (fixtures)

TWILIO = {"TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "a" * 32,
          "TWILIO_FROM_NUMBER": "+15005550006", "REMINDERS_SMS_GATEWAY": "twilio"}


@pytest.mark.parametrize("gateway_env", [{}, TWILIO], ids=["local", "twilio"])
@pytest.mark.parametrize("key", [None, DEFAULT_SECRET_KEY, "sixteen-chars-ok-but-short"],
                         ids=["unset", "default", "short"])
def test_serve_refuses_a_public_or_short_key(tmp_path, key, gateway_env):
    env = env_for(f"sqlite:///{tmp_path / 'r.db'}", tmp_path, **gateway_env)
    if key is not None:
        env["REMINDERS_SECRET_KEY"] = key
    result = run(["serve", "--port", "1", "--no-scheduler"], env)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: REMINDERS_SECRET_KEY:"), result.stderr
    assert not (tmp_path / "r.db").exists()  # refused before touching anything


@pytest.mark.slow
def test_demo_serves_without_a_key_but_never_with_the_public_one(tmp_path):
    env = env_for(f"sqlite:///{tmp_path / 'r.db'}", tmp_path)  # no REMINDERS_SECRET_KEY
    process, base = start_server(["--demo"], env)
    try:
        banner = process.stdout.readline()  # "demo clinic DEMO: sign in as EMAIL / PASSWORD"
        email, password = banner.strip().split("sign in as ")[1].split(" / ")
        good = httpx.post(base + "/api/token", data={"username": email, "password": password})
        assert good.status_code == 200
        token = good.json()["access_token"]
        assert httpx.get(base + "/api/queue", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        engine = create_db_engine(f"sqlite:///{tmp_path / 'r.db'}")
        with session_scope(engine) as session:
            staff = session.exec(select(Staff).where(Staff.email == email)).one()
            forged = issue_token(DEFAULT_SECRET_KEY, staff.id, datetime.now(timezone.utc))
        engine.dispose()
        answer = httpx.get(base + "/api/queue", headers={"Authorization": f"Bearer {forged}"})
        assert answer.status_code == 401
    finally:
        stop(process)


def test_a_key_of_32_characters_passes_the_serving_check(settings):
    settings.model_copy(update={"secret_key": GOOD_KEY}).check_serving_key()


def test_serve_refuses_the_default_key_among_the_old_ones(tmp_path):
    env = env_for(f"sqlite:///{tmp_path / 'r.db'}", tmp_path, REMINDERS_SECRET_KEY=GOOD_KEY,
                  REMINDERS_OLD_SECRET_KEYS=f"an-older-key-0123456789,{DEFAULT_SECRET_KEY}")
    result = run(["serve", "--port", "1", "--no-scheduler"], env)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: REMINDERS_OLD_SECRET_KEYS: the default key is public: remove it"


@pytest.fixture
def app_for(engine, gateway, clock, clinics):  # type: ignore[no-untyped-def]
    def build(settings: Settings) -> TestClient:
        return TestClient(create_app(settings, engine=engine, gateway=gateway, clock=clock),
                          base_url=settings.public_url)

    return build


def _login(client: TestClient, email: str = "nurse@kib.example.org") -> str:
    response = client.post("/api/token", data={"username": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def _queue(client: TestClient, token: str) -> int:
    return client.get("/api/queue", headers={"Authorization": f"Bearer {token}"}).status_code


def _staff_id(engine, email: str = "nurse@kib.example.org") -> int:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return session.exec(select(Staff.id).where(Staff.email == email)).one()


def test_a_token_forged_with_the_default_or_webhook_key_is_refused(app_for, settings, engine, clock):
    client = app_for(settings)
    staff_id = _staff_id(engine)
    assert _queue(client, issue_token(settings.secret_key, staff_id, clock.now)) == 200
    for key in (DEFAULT_SECRET_KEY, settings.webhook_auth_token, "another-key-0123456789abcdef"):
        assert _queue(client, issue_token(key, staff_id, clock.now)) == 401
    assert _queue(client, "not.a.token") == 401


def test_webhook_key_is_derived_apart_from_the_token_key(app_for, settings):
    local = settings.model_copy(update={"twilio_auth_token": None})
    assert local.webhook_auth_token not in (local.secret_key, "")
    assert local.model_copy(update={"secret_key": GOOD_KEY}).webhook_auth_token != local.webhook_auth_token
    client = app_for(local)
    fields = {"MessageSid": "SM" + "1" * 32, "From": "+254711111111", "To": "+15005550006", "Body": "hi"}
    url = local.public_url
    # Signed with the secret key itself (what main accepted): refused.
    assert signed_post(client, url, "/twilio/sms", fields, local.secret_key).status_code == 403
    assert signed_post(client, url, "/twilio/sms", fields, local.webhook_auth_token).status_code == 200


def test_rotation_newest_signs_every_listed_key_verifies(app_for, settings, engine, clock):
    old_settings = settings.model_copy(update={"secret_key": "the-old-key-0123456789abcdef"})
    old_token = _login(app_for(old_settings))
    rotated = settings.model_copy(update={"secret_key": GOOD_KEY,
                                          "old_secret_keys": "the-old-key-0123456789abcdef"})
    client = app_for(rotated)
    assert _queue(client, old_token) == 200  # issued before the rotation: still good
    new_token = _login(client)
    assert read_token([GOOD_KEY], new_token, clock.now) is not None  # signed with the newest
    assert read_token(["the-old-key-0123456789abcdef"], new_token, clock.now) is None
    retired = app_for(settings.model_copy(update={"secret_key": GOOD_KEY}))
    assert _queue(retired, old_token) == 401  # the old key dropped: its tokens end
    assert _queue(retired, new_token) == 200


def test_tokens_expire_after_eight_hours(app_for, settings, clock):
    client = app_for(settings)
    token = _login(client)
    clock.now += timedelta(hours=8, minutes=1)
    assert _queue(client, token) == 401


def test_disabling_or_revoking_ends_tokens_already_issued(app_for, settings, engine, cli_env, tmp_path):
    client = app_for(settings)
    token = _login(client)
    assert _queue(client, token) == 200
    result = run(["staff", "revoke-tokens", "nurse@kib.example.org"], cli_env)
    assert result.returncode == 0, result.stderr
    assert _queue(client, token) == 401
    fresh = _login(client)
    assert _queue(client, fresh) == 200
    result = run(["staff", "disable", "nurse@kib.example.org"], cli_env)
    assert result.returncode == 0, result.stderr
    assert _queue(client, fresh) == 401
    assert client.post("/api/token", data={"username": "nurse@kib.example.org",
                                           "password": PASSWORD}).status_code == 401


def test_revoking_an_unknown_account_names_the_field(cli_env, clinics):  # noqa: F811
    result = run(["staff", "revoke-tokens", "nobody@example.org"], cli_env)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: email:")


@pytest.fixture
def cli_env(settings, tmp_path):  # type: ignore[no-untyped-def]
    return env_for(settings.database_url, tmp_path, REMINDERS_SECRET_KEY=settings.secret_key)
