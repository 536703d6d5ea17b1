"""GET /dashboard: the figures and two SVG charts, for the signed-in staff's clinic only."""

from __future__ import annotations

from datetime import date

from reminders.db import session_scope
from reminders.schemas import PatientCreate
from reminders.services.enroll import enroll
from tests.web.signin import sign_in


def test_the_dashboard_shows_counts_and_charts(client, engine, clock):
    with session_scope(engine) as session:
        for phone in ("+254712000001", "+254712000002"):
            enroll(session, PatientCreate(clinic="KIB", phone=phone, language="sw", consent=True,
                                          art_start_date=date(2026, 11, 20)), now=clock.now)
        enroll(session, PatientCreate(clinic="LIS", phone="+351912000001", language="pt", consent=True,
                                      art_start_date=date(2026, 11, 20)), now=clock.now)
    sign_in(client, "nurse@kib.example.org")
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert '<span class="n">2</span> enrolled' in page.text  # not the other clinic's patient
    assert page.text.count('<svg class="chart"') == 2
    assert "by week since ART start" in page.text


def test_signed_out_goes_to_the_sign_in_form(client):
    response = client.get("/dashboard", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/"
