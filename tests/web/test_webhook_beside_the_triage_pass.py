"""A reply is stored at once while the triage pass holds the same patient's row
(issue 10): the pass locks patients FOR NO KEY UPDATE, which the webhook's INSERT (its
foreign-key check takes FOR KEY SHARE) does not wait for. With FOR UPDATE it waited for
the whole batch and, past the time budget, was spooled."""

from __future__ import annotations

import threading

import pytest

from reminders import spool
from reminders.services import inbound as inbound_service
from tests.web.test_inbound_webhook import answer, inbound, patient, twilio  # noqa: F401 - fixtures


def test_a_reply_is_stored_at_once_while_the_triage_pass_holds_the_patient(
        twilio, patient, engine, settings, monkeypatch):
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks: PostgreSQL (SQLite's pass holds the one write lock)")
    assert answer(twilio.post("nina homa", sid="SM" + "1" * 32))
    inside, release = threading.Event(), threading.Event()
    real_triage = inbound_service.triage

    def slow_triage(*args, **kwargs):  # type: ignore[no-untyped-def]
        inside.set()  # the patient's row is locked by now (it is read first)
        assert release.wait(30)
        return real_triage(*args, **kwargs)

    monkeypatch.setattr(inbound_service, "triage", slow_triage)
    worker = threading.Thread(target=inbound_service.process_received, args=(engine,))
    worker.start()
    try:
        assert inside.wait(30)
        monkeypatch.setattr(inbound_service, "triage", real_triage)  # the webhook's answer
        assert answer(twilio.post("bado nina homa", sid="SM" + "2" * 32))
        assert spool.counts(settings.spool_dir).as_dict() == {"pending": 0, "quarantined": 0}
        assert sorted(m.provider_sid for m in inbound(engine)) == ["SM" + "1" * 32, "SM" + "2" * 32]
    finally:
        release.set()
        worker.join(30)
