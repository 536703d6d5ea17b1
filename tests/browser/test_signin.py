"""Sign in through the form; the queue is the landing page."""

from __future__ import annotations

from tests.browser.conftest import PASSWORD


def test_sign_in_lands_on_the_queue_and_sign_out_ends_it(page, live_server, signed_in):
    signed_in(page, role="nurse")
    assert page.locator("h1").inner_text() == "Queue"
    page.click("text=Sign out")
    page.wait_for_url(live_server.url + "/")
    page.goto(live_server.url + "/queue")
    assert page.url == live_server.url + "/"  # signed out: back to the form


def test_wrong_password_stays_on_the_form(page, live_server):
    page.goto(live_server.url + "/")
    page.fill("input[name=username]", live_server.staff["nurse"])
    page.fill("input[name=password]", PASSWORD + "x")
    page.click("button[type=submit]")
    assert "Wrong email or password" in page.locator("[role=alert]").inner_text()
