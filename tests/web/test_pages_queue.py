"""The queue page: order, what a row shows (escaped), pagination, claim, hand back, call,
text the patient (through the outbox, refused when disclosing), resolve."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from sqlmodel import select

from reminders.db import session_scope
from reminders.models import AuditEvent, Message, QueueItem
from reminders.schemas import PatientCreate
from reminders.services.enroll import enroll
from reminders.services.inbound import Incoming, ingest, process_received
from tests.web.pages import csrf_of, post_form, sign_in


def enroll_one(engine, clock, phone, **extra):  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        patient = enroll(session, PatientCreate(clinic=extra.pop("clinic", "KIB"), phone=phone, language="en",
                                                art_start_date=date(2026, 11, 20), consent=True, **extra),
                         now=clock.now)
        return patient.id


def reply(engine, clock, phone, text, sid, minutes=0):  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        ingest(session, Incoming(sid, phone, "+15005550006", text),
               now=clock.now + timedelta(minutes=minutes), answer_mode="twiml")
    process_received(engine)


def item_of(engine, patient_id):  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return session.exec(select(QueueItem).where(QueueItem.patient_id == patient_id)).one()


def test_urgent_above_flag_oldest_first_and_evidence_marked(client, engine, clock):
    a = enroll_one(engine, clock, "+254712345000", display_name="Amina")
    b = enroll_one(engine, clock, "+254712345001", display_name="Baraka")
    c = enroll_one(engine, clock, "+254712345002", display_name="Chebet")
    reply(engine, clock, "+254712345000", "I have a fever", "SM1", minutes=1)
    reply(engine, clock, "+254712345001", "a rash on my arm", "SM2", minutes=2)
    reply(engine, clock, "+254712345002", "my neck is stiff and I had a seizure", "SM3", minutes=3)
    clock.now += timedelta(hours=3)
    sign_in(client)
    html = client.get("/queue").text
    order = [html.index(name) for name in ("Chebet", "Amina", "Baraka")]
    assert order == sorted(order)  # urgent, then the older flag, then the newer flag
    assert "<mark>seizure</mark>" in html and "<mark>fever</mark>" in html
    assert "OVERDUE" in html  # the urgent item is 3 hours old against 2
    assert "week 2 since start" in html
    assert {a, b, c}


def test_reply_markup_is_shown_as_text(client, engine, clock):
    enroll_one(engine, clock, "+254712345000", display_name="<b>Bold</b>")
    reply(engine, clock, "+254712345000", '<img src=x onerror=alert(1)> fever <script>alert(2)</script>', "SM1")
    sign_in(client)
    for html in (client.get("/queue").text, client.get("/queue/rows").text):
        assert "<img src=x" not in html and "<script>alert" not in html and "<b>Bold" not in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html
        assert "&lt;b&gt;Bold&lt;/b&gt;" in html


def test_unknown_number_shows_the_number_and_an_enroll_link(client, engine, clock):
    with session_scope(engine) as session:
        ingest(session, Incoming("SM9", "+254799000111", "+15005550006", "hello who is this"),
               now=clock.now, answer_mode="twiml")
    sign_in(client)
    html = client.get("/queue").text
    assert "Unknown number +254799000111" in html
    assert 'href="/patients/new?phone=%2B254799000111"' in html


def test_pages_of_fifty_follow_the_queue_order(client, engine, clock):
    with session_scope(engine) as session:
        clinic_id = session.execute(sa.text("SELECT id FROM clinic WHERE code = 'KIB'")).scalar_one()
        for i in range(120):
            level = "urgent" if i % 3 == 0 else "flag"
            session.add(QueueItem(clinic_id=clinic_id, level=level, rank=4 if level == "urgent" else 3,
                                  reason="test", opened_at=clock.now - timedelta(minutes=i)))
    sign_in(client)
    seen, after = [], None
    while True:
        html = client.get("/queue" + (f"?after={after}" if after else "")).text
        import re
        seen += [(lvl, int(i)) for i, lvl in re.findall(r'data-item="(\d+)" data-level="(\w+)"', html)]
        found = re.search(r'href="/queue\?after=([^"]+)">Next 50', html)
        if not found:
            break
        after = found.group(1)
    assert len(seen) == 120 and len(set(seen)) == 120
    with session_scope(engine) as session:
        expected = [(i.level, i.id) for i in session.exec(
            select(QueueItem).order_by(QueueItem.rank.desc(), QueueItem.opened_at, QueueItem.id))]
    assert seen == expected


def test_claim_text_call_resolve_leaves_the_queue(client, engine, clock):
    pid = enroll_one(engine, clock, "+254712345000", display_name="Amina")
    reply(engine, clock, "+254712345000", "I have a fever", "SM1")
    item = item_of(engine, pid)
    sign_in(client)
    page = f"/queue/{item.id}"
    assert post_form(client, page, f"/queue/{item.id}/claim").status_code == 303
    assert item_of(engine, pid).status == "claimed"

    response = post_form(client, page, f"/queue/{item.id}/sms", {"text": "Please come in today."})
    assert response.status_code == 303
    response = post_form(client, page, f"/queue/{item.id}/sms", {"saved_reply": "call_back"})
    assert response.status_code == 303
    post_form(client, page, f"/queue/{item.id}/call", {"result": "no_answer"})
    with session_scope(engine) as session:
        staff_sms = session.exec(select(Message).where(Message.kind == "staff").order_by(Message.id)).all()
        calls = session.exec(select(AuditEvent).where(AuditEvent.action == "queue.call")).all()
    assert [m.status for m in staff_sms] == ["pending", "pending"]  # the outbox sends them
    assert staff_sms[0].body == "Please come in today." and "Kibera Clinic" in staff_sms[1].body
    assert staff_sms[0].phone == "+254712345000"
    assert [c.detail["result"] for c in calls] == ["no_answer"]

    response = post_form(client, page, f"/queue/{item.id}/resolve",
                         {"outcome": "advised_visit", "note": "coming <today>"})
    assert response.status_code == 303 and response.headers["location"] == "/queue"
    resolved = item_of(engine, pid)
    assert (resolved.status, resolved.outcome, resolved.note) == ("resolved", "advised_visit", "coming <today>")
    assert f'data-item="{item.id}"' not in client.get("/queue").text
    timeline = client.get(f"/patients/{pid}").text
    assert "Please come in today." in timeline and "No answer" in timeline and "coming &lt;today&gt;" in timeline


def test_a_disclosing_text_is_refused_with_a_clear_message_and_nothing_queued(client, engine, clock):
    pid = enroll_one(engine, clock, "+254712345000")
    reply(engine, clock, "+254712345000", "I have a fever", "SM1")
    item = item_of(engine, pid)
    sign_in(client)
    response = post_form(client, f"/queue/{item.id}", f"/queue/{item.id}/sms",
                         {"text": "Remember your ARV pills"})
    assert response.status_code == 303
    page = client.get(response.headers["location"]).text
    assert "must not contain words that disclose a diagnosis (ARV)" in page
    with session_scope(engine) as session:
        assert session.exec(select(Message).where(Message.kind == "staff")).all() == []


def test_hand_back_returns_the_item_to_the_queue(client, engine, clock):
    pid = enroll_one(engine, clock, "+254712345000")
    reply(engine, clock, "+254712345000", "I have a fever", "SM1")
    item = item_of(engine, pid)
    sign_in(client)
    post_form(client, "/queue", f"/queue/{item.id}/claim", {"back": "queue"})
    assert "Claimed by nurse@kib.example.org" in client.get("/queue").text
    post_form(client, f"/queue/{item.id}", f"/queue/{item.id}/handback")
    after = item_of(engine, pid)
    assert (after.status, after.assignee_id) == ("open", None)


def test_another_clinics_item_is_404(client, engine, clock):
    pid = enroll_one(engine, clock, "+254712345000")
    reply(engine, clock, "+254712345000", "I have a fever", "SM1")
    item = item_of(engine, pid)
    sign_in(client, "nurse@lis.example.org")
    assert client.get(f"/queue/{item.id}").status_code == 404
    token = csrf_of(client.get("/queue").text)
    assert client.post(f"/queue/{item.id}/claim", data={"csrf_token": token}).status_code == 404
    assert item_of(engine, pid).status == "open"
    assert f'data-item="{item.id}"' not in client.get("/queue").text
