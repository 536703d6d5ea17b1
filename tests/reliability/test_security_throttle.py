"""The sign-in throttle: kept in the database (shared by every web process, flat memory),
believing X-Forwarded-For only from a configured proxy; bad usernames get 4xx, never 500."""

from __future__ import annotations

import gc
import tracemalloc
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from reminders.models import LoginFailure
from reminders.web import create_app
from reminders.web.throttle import MAX_FAILURES
from tests.helpers import snapshot
from tests.reliability.security_helpers import GOOD_KEY, env_for, run, start_server, stop
from tests.web.conftest import PASSWORD, clinics, clock, gateway  # noqa: F401  (fixtures)

EMAIL = "nurse@kib.example.org"


def _app(settings, engine, gateway, clock, peer=("10.0.0.9", 50000)) -> TestClient:  # type: ignore[no-untyped-def]
    return TestClient(create_app(settings, engine=engine, gateway=gateway, clock=clock),
                      base_url=settings.public_url, client=peer)


def _wrong(client: TestClient, email: str = EMAIL, **headers: str) -> int:
    return client.post("/api/token", data={"username": email, "password": "wrong password"},
                       headers=headers).status_code


def test_two_web_processes_share_one_count(settings, engine, gateway, clock, clinics):  # noqa: F811
    first, second = _app(settings, engine, gateway, clock), _app(settings, engine, gateway, clock)
    for i in range(MAX_FAILURES):
        assert _wrong(first if i % 2 else second) == 401
    assert _wrong(first) == 429 and _wrong(second) == 429
    # Even the right password waits, on either process, until the window has passed.
    good = {"username": EMAIL, "password": PASSWORD}
    assert second.post("/api/token", data=good).status_code == 429
    clock.now += timedelta(minutes=16)
    assert first.post("/api/token", data=good).status_code == 200


def test_a_success_clears_the_count(settings, engine, gateway, clock, clinics):  # noqa: F811
    client = _app(settings, engine, gateway, clock)
    for _ in range(MAX_FAILURES - 1):
        assert _wrong(client) == 401
    assert client.post("/api/token", data={"username": EMAIL, "password": PASSWORD}).status_code == 200
    for _ in range(MAX_FAILURES - 1):
        assert _wrong(client) == 401


def test_forwarded_for_from_an_untrusted_peer_is_ignored(settings, engine, gateway, clock, clinics):  # noqa: F811
    client = _app(settings, engine, gateway, clock)
    for i in range(MAX_FAILURES):
        assert _wrong(client, **{"X-Forwarded-For": f"198.51.100.{i}"}) == 401
    assert _wrong(client, **{"X-Forwarded-For": "198.51.100.200"}) == 429


def test_forwarded_for_from_the_trusted_proxy_is_the_client(settings, engine, gateway, clock, clinics):  # noqa: F811
    trusted = settings.model_copy(update={"trusted_proxies": "10.0.0.0/24"})
    client = _app(trusted, engine, gateway, clock)
    for _ in range(MAX_FAILURES):
        assert _wrong(client, **{"X-Forwarded-For": "198.51.100.1"}) == 401
    assert _wrong(client, **{"X-Forwarded-For": "198.51.100.1"}) == 429
    # Another address behind the same proxy is another client: not locked out.
    assert _wrong(client, **{"X-Forwarded-For": "198.51.100.2"}) == 401


def test_a_bad_trusted_proxy_setting_names_the_variable(tmp_path):
    env = env_for(f"sqlite:///{tmp_path / 'r.db'}", tmp_path, REMINDERS_SECRET_KEY=GOOD_KEY,
                  REMINDERS_TRUSTED_PROXIES="10.0.0.1,everyone")
    result = run(["serve", "--no-scheduler"], env)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: REMINDERS_TRUSTED_PROXIES: 'everyone' is not an IP address or network"


@pytest.mark.parametrize("username", ["nurse\x00@kib.example.org", "a" * 300 + "@kib.example.org",
                                      "\x00" * 5000])
def test_nul_or_over_long_username_is_refused_not_a_500(settings, engine, gateway, clock, clinics,  # noqa: F811
                                                        username):
    client = _app(settings, engine, gateway, clock)
    before = snapshot(engine)
    response = client.post("/api/token", data={"username": username, "password": "x"})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][-1] == "username"
    assert snapshot(engine) == before


def test_memory_stays_flat_over_thousands_of_failed_logins(settings, engine, gateway, clock, clinics):  # noqa: F811
    client = _app(settings, engine, gateway, clock)
    throttle = client.app.state.login_throttle
    now = clock.now
    for i in range(200):  # warm caches (statement compilation, pools) before measuring
        throttle.failed((f"warm{i}@example.org", "198.51.100.1"), now)
        throttle.retry_after((f"warm{i}@example.org", "198.51.100.1"), now)
    gc.collect()
    tracemalloc.start()
    start, _ = tracemalloc.get_traced_memory()
    for i in range(2000):
        key = (f"user{i}@example.org" + "x" * 230, f"203.0.113.{i % 250}")
        throttle.failed(key, now + timedelta(milliseconds=i))
        throttle.retry_after(key, now + timedelta(milliseconds=i))
    gc.collect()
    end, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # An in-memory throttle keeps every key: 2,000 keys of ~250 characters is about 1 MB.
    assert end - start < 300_000, f"grew {end - start} bytes"
    # And the table holds one window at most: later failures prune the old ones.
    throttle.failed(("late@example.org", "198.51.100.1"), now + timedelta(minutes=16))
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(LoginFailure)).scalar_one() == 1


@pytest.mark.slow
def test_served_process_ignores_forwarded_for_from_localhost(tmp_path):
    """uvicorn itself believes X-Forwarded-For from 127.0.0.1 by default: `serve` must not."""
    env = env_for(f"sqlite:///{tmp_path / 'r.db'}", tmp_path, REMINDERS_SECRET_KEY=GOOD_KEY)
    process, base = start_server([], env)
    try:
        codes = [httpx.post(base + "/api/token", data={"username": EMAIL, "password": "wrong password"},
                            headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code
                 for i in range(MAX_FAILURES + 1)]
    finally:
        stop(process)
    assert codes == [401] * MAX_FAILURES + [429]


def test_huge_usernames_do_not_grow_the_web_process(settings, engine, gateway, clock, clinics):  # noqa: F811
    """The reported attack: 200 failed logins with very long usernames grew the process by
    hundreds of MB (each one kept as a throttle key). Now each is a 422, and nothing is kept."""
    client = _app(settings, engine, gateway, clock)
    for i in range(20):  # warm up the request path
        _wrong(client, f"{i}" + "u" * 100_000)
    gc.collect()
    tracemalloc.start()
    start, _ = tracemalloc.get_traced_memory()
    codes = {_wrong(client, f"{i}" + "u" * 100_000) for i in range(200)}
    gc.collect()
    end, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert codes == {422}
    assert end - start < 2_000_000, f"grew {end - start} bytes"  # 200 kept keys would be 20 MB
