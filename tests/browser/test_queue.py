"""The staff pages in a real browser: the queue order, working an item end to end,
markup in a reply shown as text, clinic isolation, roles, a phone-sized screen, /docs
offline. The `page` fixture fails any test that sends a request beyond 127.0.0.1 or opens
a dialog."""

from __future__ import annotations

from sqlmodel import select

from reminders.db import session_scope
from reminders.models import Message, QueueItem
from tests.browser.conftest import screenshot
from tests.browser.seed import patient_with_reply, unknown_sender_reply


def test_an_urgent_item_is_above_an_older_flag_item(page, live_server, signed_in):
    patient_with_reply(live_server.engine, "+254712345001", "I have a fever since yesterday",
                       name="Baraka Mwangi", minutes_ago=200)
    patient_with_reply(live_server.engine, "+254712345002", "my neck is stiff and the headache is very bad",
                       name="Chebet Kiprop", minutes_ago=30)
    patient_with_reply(live_server.engine, "+254712345003", "I missed my pills two days", minutes_ago=500)
    unknown_sender_reply(live_server.engine, "+254799000111", "hello, who is this? please call me")
    signed_in(page)
    levels = page.locator("li.item").evaluate_all("items => items.map(i => i.dataset.level)")
    assert levels[:3] == ["urgent", "flag", "flag"] and levels[-1] == "admin"
    first = page.locator("li.item").first
    assert "Chebet Kiprop" in first.inner_text()
    assert first.locator("mark").count() >= 1
    assert page.locator("text=Unknown number +254799000111").count() == 1
    screenshot(page, "queue")


def test_claim_text_the_patient_resolve_and_it_leaves_the_queue(page, live_server, signed_in):
    patient_id = patient_with_reply(live_server.engine, "+254712345001", "I have a fever", name="Amina")
    signed_in(page)
    row = page.locator("li.item", has_text="Amina")
    row.locator("button", has_text="Claim").click()
    page.wait_for_load_state()
    assert "Claimed by nurse@kib.example.org" in page.locator("li.item", has_text="Amina").inner_text()
    page.locator("li.item", has_text="Amina").locator("a", has_text="Open").click()
    page.fill("textarea[name=text]", "A nurse will call you in ten minutes.")
    page.click("button:has-text('Send SMS')")
    assert "Message queued" in page.locator(".flash").inner_text()
    screenshot(page, "queue-item")
    page.select_option("select[name=outcome]", "reached_well")
    page.fill("textarea[name=note]", "Called back, fever settling.")
    page.click("button:has-text('Resolve')")
    page.wait_for_url("**/queue")
    assert "Resolved." in page.locator(".flash").inner_text()
    assert page.locator("li.item", has_text="Amina").count() == 0
    with session_scope(live_server.engine) as session:
        sms = session.exec(select(Message).where(Message.kind == "staff")).one()
        item = session.exec(select(QueueItem).where(QueueItem.patient_id == patient_id)).one()
    assert (sms.status, sms.body) == ("pending", "A nurse will call you in ten minutes.")
    assert (item.status, item.outcome) == ("resolved", "reached_well")
    page.goto(f"{live_server.url}/patients/{patient_id}")
    assert "A nurse will call you in ten minutes." in page.inner_text("ul.timeline")
    screenshot(page, "patient")


def test_a_reply_carrying_markup_shows_as_text_and_runs_nothing(page, live_server, signed_in):
    payload = "<img src=x onerror=alert(1)> I have a fever"
    patient_id = patient_with_reply(live_server.engine, "+254712345001", payload, name="<b>Zawadi</b>")
    signed_in(page)
    row = page.locator("li.item").first
    assert "<img src=x onerror=alert(1)> I have a fever" in row.inner_text()
    assert "<b>Zawadi</b>" in row.inner_text()
    assert row.locator("img").count() == 0 and row.locator("b").count() == 0
    page.goto(f"{live_server.url}/patients/{patient_id}")
    assert "<img src=x onerror=alert(1)>" in page.inner_text("ul.timeline")
    assert page.locator("ul.timeline img").count() == 0
    page.wait_for_timeout(300)  # give an injected handler its chance; the fixture fails on a dialog
    assert page.dialogs == []  # type: ignore[attr-defined]


def test_another_clinics_nurse_gets_404_for_the_patient(page, live_server, signed_in):
    patient_id = patient_with_reply(live_server.engine, "+254712345001", "I have a fever", name="Amina")
    signed_in(page, role="other_clinic")
    response = page.goto(f"{live_server.url}/patients/{patient_id}")
    assert response.status == 404
    assert "Amina" not in page.content() and "+254712345001" not in page.content()
    assert page.locator("li.item").count() == 0  # and the queue does not show it either
    page.goto(f"{live_server.url}/queue")
    assert page.locator("li.item").count() == 0


def test_a_nurse_gets_403_on_an_admin_only_action(page, live_server, signed_in):
    # The audit page (admin only) belongs to engineer `webmore`; withdrawing is admin-only here.
    patient_id = patient_with_reply(live_server.engine, "+254712345001", "I have a fever", name="Amina")
    signed_in(page, role="nurse")
    page.goto(f"{live_server.url}/patients/{patient_id}")
    assert page.locator("button", has_text="Withdraw").count() == 0
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    response = page.request.post(f"{live_server.url}/patients/{patient_id}/withdraw",
                                 form={"csrf_token": token}, max_redirects=0)
    assert response.status == 403 and "Your role does not allow this" in response.text()
    page.click("text=Sign out")
    signed_in(page, role="admin")
    page.goto(f"{live_server.url}/patients/{patient_id}")
    page.click("button:has-text('Withdraw')")
    assert "Withdrawn from the programme." in page.locator(".flash").inner_text()


def test_the_queue_fits_a_390px_phone(page, live_server, signed_in):
    patient_with_reply(live_server.engine, "+254712345001",
                       "I have a fever and a verylongwordwithoutanyspacesatallthatwouldpushthelayoutwide" * 2,
                       name="Amina Wanjiru Otieno-Kamau")
    unknown_sender_reply(live_server.engine, "+254799000111", "who is this")
    page.set_viewport_size({"width": 390, "height": 844})
    signed_in(page)
    for path in ("/queue", f"/queue/{page.locator('li.item').first.get_attribute('data-item')}", "/patients"):
        page.goto(live_server.url + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width}px wide"
    page.goto(live_server.url + "/queue")
    screenshot(page, "queue-390px")


def test_the_queue_refreshes_by_itself(page, live_server, signed_in):
    signed_in(page)
    assert page.locator("li.item").count() == 0
    patient_with_reply(live_server.engine, "+254712345001", "I have a fever", name="Amina")
    page.locator("li.item", has_text="Amina").wait_for(timeout=20_000)  # the 15 s poll


def test_api_docs_work_offline(page, live_server):
    page.goto(live_server.url + "/docs")
    page.locator(".swagger-ui .info").wait_for(timeout=15_000)
    assert "reminders" in page.locator(".swagger-ui .info").inner_text()
