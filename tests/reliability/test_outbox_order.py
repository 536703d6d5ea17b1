"""Each SID is recorded as its send returns and an early status callback is kept; transient
failures are retried in later passes; overdue messages wait out quiet hours; alerts and
answers go before routine check-ins."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import select

from reminders.db import session_scope
from reminders.models import CheckIn, EarlyStatus, Message
from reminders.services import dispatch
from reminders.services.outbox import SendOptions, send_pending
from reminders.sms.base import SendError, SentSms
from reminders.web import create_app
from tests.fake_twilio import sign
from tests.recording_gateway import RecordingGateway
from tests.reliability.outbox_fixtures import (  # noqa: F401 (fixtures)
    DUE, ENROLLED, clinic, make_patient, outbound, wait_for,
)

FAST = SendOptions(rate=1000, concurrency=1)


def sids_recorded(engine) -> set[str]:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return set(session.execute(sa.select(Message.provider_sid)
                                   .where(Message.provider_sid.is_not(None))).scalars())


@dataclass
class WatchingGateway(RecordingGateway):
    """Before each send, waits (up to 10 s) for the previous send's SID to be in the database."""

    engine: sa.Engine | None = None
    late: list[str] = field(default_factory=list)

    def send(self, to: str, body: str, *, status_callback: str | None = None) -> SentSms:
        if self.sent and not self.late:
            previous = self.sent[-1].sid
            if not wait_for(lambda: previous in sids_recorded(self.engine), timeout=10):
                self.late.append(previous)
        return super().send(to, body, status_callback=status_callback)


def test_each_sid_is_recorded_as_its_send_returns_not_at_the_end_of_the_batch(engine, make_patient):
    for _ in range(4):
        make_patient()
    gateway = WatchingGateway(engine=engine)
    summary = dispatch.run_once(engine, gateway, now=DUE, options=SendOptions(rate=1000, batch=50, concurrency=1))
    assert summary["sent"] == 8
    assert gateway.late == []
    assert sids_recorded(engine) == {s.sid for s in gateway.sent}


@dataclass
class CallbackFirstGateway(RecordingGateway):
    """Twilio posting the delivery callback before our create call has returned."""

    client: TestClient | None = None
    token: str = ""
    answers: list[int] = field(default_factory=list)

    def send(self, to: str, body: str, *, status_callback: str | None = None) -> SentSms:
        result = super().send(to, body, status_callback=status_callback)
        url = "https://reminders.example.org/twilio/status"
        fields = {"MessageSid": result.sid, "MessageStatus": "delivered", "To": to,
                  "From": "+15005550006", "AccountSid": "AC" + "0" * 32}
        response = self.client.post("/twilio/status", data=fields,
                                    headers={"X-Twilio-Signature": sign(url, fields, self.token)})
        self.answers.append(response.status_code)
        return result


def test_a_status_callback_that_arrives_before_its_sid_is_kept_and_applied(
        settings, engine, make_patient):
    make_patient()
    app = create_app(settings, engine=engine, gateway=RecordingGateway(), clock=lambda: DUE)
    with TestClient(app, base_url=settings.public_url) as client:
        gateway = CallbackFirstGateway(client=client, token=settings.webhook_auth_token)
        dispatch.run_once(engine, gateway, now=DUE, options=FAST)
    assert gateway.answers and all(code < 300 for code in gateway.answers)
    assert {m.status for m in outbound(engine)} == {"delivered"}  # none lost
    with session_scope(engine) as session:
        assert session.exec(select(EarlyStatus)).all() == []  # all applied, none left over


@dataclass
class OutageGateway(RecordingGateway):
    down: bool = True

    def send(self, to: str, body: str, *, status_callback: str | None = None) -> SentSms:
        if self.down:
            raise SendError("transient", "Twilio answered 503 and no message was created", status=503)
        return super().send(to, body, status_callback=status_callback)


def test_transient_failures_are_retried_in_a_later_pass_with_backoff(engine, make_patient):
    patient = make_patient()
    gateway = OutageGateway()
    first = dispatch.run_once(engine, gateway, now=DUE, options=FAST)
    assert first["retrying"] == 2 and first["failed"] == 0  # the welcome and the check-in
    gateway.down = False
    soon = dispatch.run_once(engine, gateway, now=DUE + timedelta(seconds=20), options=FAST)
    assert soon["sent"] == 0  # backing off
    later = dispatch.run_once(engine, gateway, now=DUE + timedelta(minutes=2), options=FAST)
    assert later["sent"] == 2
    assert len(gateway.to(patient.phone)) == 2  # each once
    with session_scope(engine) as session:
        assert session.exec(select(CheckIn.status).where(CheckIn.day == 3)).one() == "sent"


NIGHT = datetime(2026, 12, 4, 20, 30, tzinfo=timezone.utc)  # 23:30 in Nairobi
MORNING = datetime(2026, 12, 5, 4, 1, tzinfo=timezone.utc)  # 07:01 in Nairobi


def test_overdue_messages_found_at_night_wait_for_the_end_of_quiet_hours(engine, make_patient):
    early, late = make_patient(), make_patient()
    gateway = OutageGateway(down=False)
    dispatch.run_once(engine, gateway, now=ENROLLED, options=FAST)  # the welcomes
    # `early`'s check-in was queued in the evening, then the outage kept it from going out.
    dispatch.queue_due_checkins(engine, now=datetime(2026, 12, 4, 16, 55, tzinfo=timezone.utc))
    # The outage ends at 23:30: `late`'s check-in is found overdue too.
    with session_scope(engine) as session:
        session.execute(sa.update(CheckIn).where(CheckIn.patient_id == early.id, CheckIn.day == 3)
                        .values(due_at=datetime(2026, 12, 4, 16, 0, tzinfo=timezone.utc)))
    night = dispatch.run_once(engine, gateway, now=NIGHT, options=FAST)
    assert night["sent"] == 0
    assert len(gateway.to(early.phone)) == len(gateway.to(late.phone)) == 1  # welcomes only
    morning = dispatch.run_once(engine, gateway, now=MORNING, options=FAST)
    assert morning["sent"] == 2
    assert len(gateway.to(early.phone)) == len(gateway.to(late.phone)) == 2


def test_alerts_and_answers_go_before_a_morning_pass_of_routine_checkins(engine, make_patient, clinic):
    patients = [make_patient() for _ in range(12)]
    dispatch.queue_due_checkins(engine, now=DUE)
    with session_scope(engine) as session:  # written last, the way the services write them
        session.add(Message(clinic_id=clinic.id, direction="outbound", kind="alert",
                            phone="+254700000002", status="pending", created_at=DUE, body="Urgent #1"))
        session.connection().execute(sa.insert(Message).values(
            patient_id=patients[0].id, clinic_id=clinic.id, direction="outbound", kind="answer",
            phone=patients[0].phone, body="Thank you", created_at=DUE, attempts=0, status="pending"))
    gateway = RecordingGateway()
    summary = send_pending(engine, gateway, now=DUE, options=SendOptions(rate=1000, batch=5, concurrency=1))
    assert summary.sent == 26
    assert [s.body for s in gateway.sent[:2]] == ["Urgent #1", "Thank you"]
