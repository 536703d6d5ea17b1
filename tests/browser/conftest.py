"""Browser tests: Playwright driving Debian's Chromium against a real uvicorn on 127.0.0.1.

Fixtures: `live_server` (the app built by create_app, SQLite, local gateway, on a free
port, in a thread of this process so tests can seed its database), `page` (a fresh
browser context whose every request is checked: anything leaving 127.0.0.1 is aborted
and fails the test), `signed_in(page, role=...)` and the `screenshot(page, name)` helper
(tests/artifacts/, git-ignored).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
import uvicorn

from reminders.config import Settings
from reminders.db import create_db_engine, session_scope
from reminders.migrations import upgrade
from reminders.services.clinics import add_clinic, add_staff
from reminders.web import create_app

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
PASSWORD = "correct horse battery"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]

sync_api = pytest.importorskip("playwright.sync_api")
if not CHROMIUM.exists():
    pytest.skip("no /usr/bin/chromium (apt-get install chromium)", allow_module_level=True)


@dataclass
class LiveServer:
    url: str
    engine: sa.Engine
    settings: Settings
    staff: dict[str, str] = field(default_factory=dict)  # role -> email, clinic KIB


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed_clinics(engine: sa.Engine) -> dict[str, str]:
    """Clinic KIB with a nurse, a clinician and an admin; clinic LIS with a nurse."""
    with session_scope(engine) as session:
        add_clinic(session, code="KIB", name="Kibera Clinic", timezone="Africa/Nairobi",
                   country="KE", phone="+254700000001", oncall_phone="+254700000002")
        add_clinic(session, code="LIS", name="Saude Norte", timezone="Europe/Lisbon",
                   country="PT", phone="+351210000000")
        staff = {"nurse": "nurse@kib.example.org", "clinician": "clinician@kib.example.org",
                 "admin": "admin@kib.example.org", "other_clinic": "nurse@lis.example.org"}
        for role, email in staff.items():
            add_staff(session, email=email, clinic_code="LIS" if role == "other_clinic" else "KIB",
                      role="nurse" if role == "other_clinic" else role, password=PASSWORD)
    return staff


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    url = f"sqlite:///{tmp_path / 'browser.db'}"
    upgrade(url)
    port = _free_port()
    settings = Settings(database_url=url, public_url=f"http://127.0.0.1:{port}",
                        secret_key="browser-test-secret-0123", sms_gateway="local",
                        spool_dir=tmp_path / "spool", twilio_auth_token="test-auth-token")
    engine = create_db_engine(url)
    staff = seed_clinics(engine)
    app = create_app(settings, engine=engine)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    yield LiveServer(settings.public_url, engine, settings, staff)
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server: LiveServer) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    outside: list[str] = []

    def guard(route) -> None:  # type: ignore[no-untyped-def]
        host = urlsplit(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.dialogs = dialogs  # type: ignore[attr-defined]
    # Our own pages must never trip our Content-Security-Policy (a blocked script or style).
    blocked: list[str] = []
    page.on("console", lambda message: blocked.append(message.text)
            if "Content Security Policy" in message.text else None)
    yield page
    context.close()
    assert outside == [], f"requests left 127.0.0.1: {outside}"
    assert dialogs == [], f"a dialog opened (script ran?): {dialogs}"
    assert blocked == [], f"the Content-Security-Policy blocked something: {blocked}"


@pytest.fixture
def signed_in(live_server: LiveServer) -> Callable[..., object]:
    """signed_in(page, role="nurse"): sign in through the form; roles nurse, clinician,
    admin (clinic KIB) and other_clinic (a nurse of clinic LIS)."""

    def sign_in(page, role: str = "nurse"):  # type: ignore[no-untyped-def]
        page.goto(live_server.url + "/")
        page.fill("input[name=username]", live_server.staff[role])
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/queue")
        return page

    return sign_in


def screenshot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
