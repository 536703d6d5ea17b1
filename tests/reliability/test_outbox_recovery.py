"""Recovery asks the provider with no transaction open; one failing lookup settles one
message; a send that timed out but reached Twilio is found later and recorded with its SID;
the sends that stay unknown keep the `unknown` status staff's "failed sends" list shows
(services/send_problems.py on main) and are never re-sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from reminders.db import session_scope
from reminders.models import CheckIn, Message
from reminders.services import dispatch, status
from reminders.services.outbox import SendOptions
from reminders.sms.base import GatewayError, SendError, SentSms
from reminders.sms.twilio import TwilioGateway
from reminders.store.claims import db_now
from tests.recording_gateway import RecordingGateway, Sent
from tests.reliability.outbox_fixtures import (  # noqa: F401 (fixtures)
    DUE, clinic, expire_leases, make_patient, outbound, row_is_locked, wait_for,
)

FAST = SendOptions(rate=1000)


def problem_sends(session, clinic_id):  # type: ignore[no-untyped-def]
    """What staff's failed-sends list selects (send_problems.PROBLEM_STATUSES)."""
    return session.execute(sa.select(Message.id.label("message_id"), Message.kind, Message.status)
                           .where(Message.clinic_id == clinic_id, Message.direction == "outbound",
                                  Message.status.in_(("failed", "undelivered", "unknown")))).all()


def strand(engine, patient_ids, status="sending"):  # type: ignore[no-untyped-def]
    """Check-in messages left `sending` by a dead worker (lease over) or `unknown`."""
    dispatch.queue_due_checkins(engine, now=DUE)
    with session_scope(engine) as session:
        messages = session.execute(sa.select(Message).where(
            Message.kind == "checkin", Message.patient_id.in_(patient_ids))).scalars().all()
        for message in messages:
            message.status, message.claim_token = status, "dead"
            message.claimed_at = db_now(session) - timedelta(minutes=10)
            message.lease_until = db_now(session) - timedelta(minutes=5)
        return [(m.id, m.phone, m.body) for m in messages]


def sends_of(gateway, stranded) -> int:  # type: ignore[no-untyped-def]
    _, phone, body = stranded
    return len([s for s in gateway.to(phone) if s.body == body])


@dataclass
class ProbingGateway(RecordingGateway):
    """Answers lookups, and notes whether any of our rows was locked while it was asked."""

    url: str = ""
    locked_during_lookup: list[int] = field(default_factory=list)
    lookups: int = 0
    ids: dict[str, int] = field(default_factory=dict)  # phone -> message id

    def find_sent(self, to: str, body: str, since: datetime) -> SentSms | None:
        self.lookups += 1
        if row_is_locked(self.url, self.ids[to]):
            self.locked_during_lookup.append(self.ids[to])
        return super().find_sent(to, body, since)


def test_recovery_and_lookups_hold_no_transaction_while_asking_the_provider(
        engine, database_url, make_patient):
    patients = [make_patient() for _ in range(3)]
    stranded = strand(engine, [p.id for p in patients[:2]])
    unknown = strand(engine, [patients[2].id], status="unknown")
    gateway = ProbingGateway(url=database_url)
    gateway.ids = {phone: message_id for message_id, phone, _ in stranded + unknown}
    # The provider has the first stranded one and the unknown one; not the second.
    for _, phone, body in (stranded[0], unknown[0]):
        gateway.provider_has.append(Sent(phone, body, f"SMfound{phone[-3:]}", None))
    summary = dispatch.run_once(engine, gateway, now=DUE + timedelta(minutes=10), options=FAST)
    assert gateway.lookups == 3
    assert gateway.locked_during_lookup == []
    assert (summary["recovered"], summary["requeued"], summary["found_unknown"]) == (1, 1, 1)
    assert sends_of(gateway, stranded[1]) == 1  # never seen by the provider: sent once
    assert sends_of(gateway, stranded[0]) == sends_of(gateway, unknown[0]) == 0  # not re-sent


@dataclass
class FlakyLookups(RecordingGateway):
    failing: set[str] = field(default_factory=set)

    def find_sent(self, to: str, body: str, since: datetime) -> SentSms | None:
        if to in self.failing:
            raise GatewayError("transient", "listing messages: ConnectionError")
        return super().find_sent(to, body, since)


def test_one_failing_lookup_settles_one_message_not_the_pass(engine, make_patient):
    patients = [make_patient() for _ in range(2)]
    (first_id, first_phone, first_body), (second_id, second_phone, second_body) = \
        strand(engine, [p.id for p in patients])
    gateway = FlakyLookups(failing={first_phone})
    gateway.provider_has.append(Sent(second_phone, second_body, "SMsecond", None))
    summary = dispatch.run_once(engine, gateway, now=DUE + timedelta(minutes=10), options=FAST)
    assert summary["lookup_errors"] == 1 and summary["recovered"] == 1
    with session_scope(engine) as session:
        assert session.get(Message, second_id).provider_sid == "SMsecond"
        assert session.get(Message, first_id).status == "sending"  # left for a later pass
    gateway.failing.clear()
    expire_leases(engine)
    later = dispatch.run_once(engine, gateway, now=DUE + timedelta(minutes=20), options=FAST)
    assert later["requeued"] == 1
    assert sends_of(gateway, (first_id, first_phone, first_body)) == 1
    assert sends_of(gateway, (second_id, second_phone, second_body)) == 0


def test_a_timed_out_send_that_reached_twilio_is_found_and_recorded(
        engine, make_patient, fake_twilio):
    patient = make_patient()
    gateway = TwilioGateway(fake_twilio.account_sid, fake_twilio.auth_token,
                            from_number="+15005550006", api_base=fake_twilio.base_url,
                            timeout=0.5, max_attempts=1)
    dispatch.run_once(engine, gateway, now=DUE - timedelta(days=2), options=FAST)  # the welcome
    # Twilio takes the check-in but answers too late; the message appears after our lookup.
    fake_twilio.delay_next(1, 1.5, create_after_delay=True)
    first = dispatch.run_once(engine, gateway, now=DUE, options=FAST)
    assert first["unknown"] == 1
    (checkin_message,) = outbound(engine, kind="checkin")
    assert checkin_message.status == "unknown" and checkin_message.provider_sid is None
    with session_scope(engine) as session:
        listed = problem_sends(session, patient.clinic_id)
    assert [(p.message_id, p.status) for p in listed] == [(checkin_message.id, "unknown")]

    assert wait_for(lambda: len(fake_twilio.sent) == 2)  # Twilio did create it
    sid = fake_twilio.sent[-1].sid
    later = dispatch.run_once(engine, gateway, now=DUE + timedelta(minutes=5), options=FAST)
    assert later["found_unknown"] == 1 and later["sent"] == 0
    assert len(fake_twilio.sent) == 2  # looked up, never re-sent
    with session_scope(engine) as session:
        message = session.get(Message, checkin_message.id)
        assert (message.status, message.provider_sid) == ("queued", sid)
        assert session.get(CheckIn, message.checkin_id).status == "sent"
        assert status.apply_callback(session, sid, "delivered", None, DUE)  # callbacks apply now
        assert problem_sends(session, patient.clinic_id) == []
    gateway.close()


def test_sends_that_stay_unknown_are_listed_for_staff_and_never_resent(engine, make_patient):
    patient = make_patient()
    gateway = RecordingGateway()
    gateway.failures[patient.phone] = SendError("unknown")
    dispatch.run_once(engine, gateway, now=DUE, options=FAST)
    del gateway.failures[patient.phone]
    for minutes in range(5, 400, 30):  # every lookup finds nothing
        dispatch.run_once(engine, gateway, now=DUE + timedelta(minutes=minutes), options=FAST)
    assert gateway.to(patient.phone) == []
    with session_scope(engine) as session:
        listed = problem_sends(session, patient.clinic_id)
        assert {(p.kind, p.status) for p in listed} == {("welcome", "unknown"), ("checkin", "unknown")}
        assert problem_sends(session, patient.clinic_id + 1) == []  # another clinic sees none
