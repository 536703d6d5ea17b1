"""webmore's pages in a real browser: the audit page is admins only, the dashboard draws
its charts, the phone simulator replies through the webhook and shows markup as text,
the review list, enrollment. The `page` fixture fails a test on any request beyond
127.0.0.1 or any dialog (a script that ran)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlmodel import select

from reminders.db import session_scope
from reminders.models import Message, Patient, QueueItem
from reminders.schemas import PatientCreate
from reminders.services import dispatch
from reminders.services.demo import seed_demo
from reminders.services.enroll import enroll
from reminders.sms.local import LocalGateway
from tests.browser.conftest import screenshot

XSS = "<img src=x onerror=alert(1)>"


def test_a_nurse_gets_403_on_the_audit_page_and_an_admin_filters_it(page, live_server, signed_in):
    signed_in(page, "nurse")
    response = page.goto(live_server.url + "/audit")
    assert response.status == 403 and "Not allowed" in page.content()
    assert page.locator("nav a", has_text="Audit").count() == 0
    page.context.clear_cookies()
    signed_in(page, "admin")
    page.goto(live_server.url + "/audit")
    page.select_option("select[name=action]", "staff.add")
    page.click("button:has-text('Filter')")
    rows = page.locator("table.list tbody tr")
    assert rows.count() >= 3 and all("staff.add" in t for t in rows.all_inner_texts())


def test_the_dashboard_of_the_demo_clinic_renders_its_charts(page, live_server):
    login = seed_demo(live_server.engine, now=datetime.now(timezone.utc))  # eleven weeks of a clinic
    page.goto(live_server.url + "/")
    page.fill("input[name=username]", login.admin_email)
    page.fill("input[name=password]", login.password)
    page.click("button[type=submit]")
    page.wait_for_url("**/queue")
    page.goto(live_server.url + "/dashboard")
    assert page.locator("svg.chart").count() == 2
    assert page.locator("svg.chart rect.answered").count() >= 8  # a response rate for weeks 1-8
    assert page.locator("svg.chart rect.flag").count() >= 5
    assert "36" in page.locator(".stat", has_text="enrolled").inner_text()
    screenshot(page, "dashboard")
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/dashboard", "/simulator?patient=1", "/review", "/audit", "/patients/new", "/patients/import"):
        page.goto(live_server.url + path)
        assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"), path


def test_the_simulator_replies_through_the_webhook_and_shows_markup_as_text(page, live_server, signed_in):
    now = datetime.now(timezone.utc)
    with session_scope(live_server.engine) as session:
        patient = enroll(session, PatientCreate(clinic="KIB", phone="+254712345678", language="en", consent=True,
                                                display_name="Amina", art_start_date=(now - timedelta(days=9)).date()),
                         now=now - timedelta(hours=1))
    dispatch.run_once(live_server.engine, LocalGateway(), now=now)  # welcome and the day-7 check-in
    signed_in(page, "nurse")
    page.goto(live_server.url + "/simulator")
    page.select_option("select[name=patient]", str(patient.id))
    page.click("button:has-text('Open their phone')")
    assert page.locator(".bubble").count() >= 2
    page.fill("textarea[name=body]", f"I have a fever {XSS}")
    page.click("button:has-text('Send')")
    page.wait_for_url(f"**/simulator?patient={patient.id}")
    mine = page.locator(".bubble.mine").last
    assert XSS in mine.inner_text()  # shown as text, not as an element
    assert page.locator(".phone img").count() == 0
    with session_scope(live_server.engine) as session:
        item = session.exec(select(QueueItem).where(QueueItem.patient_id == patient.id)).one()
        answer = session.exec(select(Message).where(Message.direction == "outbound", Message.kind == "answer")).one()
    assert item.level == "flag"
    assert answer.body[:20] in page.locator(".bubble:not(.mine)").last.inner_text()
    screenshot(page, "simulator")


def test_enroll_a_number_from_the_form(page, live_server, signed_in):
    signed_in(page, "nurse")
    page.goto(live_server.url + "/patients/new?phone=%2B254712999888")
    assert page.input_value("input[name=phone]") == "+254712999888"
    page.fill("input[name=display_name]", XSS)
    page.check("input[name=consent]")
    page.click("button:has-text('Enroll')")
    page.wait_for_url("**/patients/*")
    with session_scope(live_server.engine) as session:
        patient = session.exec(select(Patient)).one()
    assert patient.display_name == XSS and page.url.endswith(f"/patients/{patient.id}")
