"""The hang promise with real processes: `reminders serve` on PostgreSQL while another
connection holds `LOCK TABLE message`. Twilio's request (real HTTP) is answered within
its 15 s, the reply is spooled, and replayed exactly once when the lock goes."""

from __future__ import annotations

import signal
import socket
import time

import httpx
import sqlalchemy as sa
from sqlmodel import select
from twilio.request_validator import RequestValidator

from reminders import spool
from reminders.db import session_scope
from reminders.models import Message
from reminders.services.recovery import replay_spool
from tests.integration.conftest import start_reminders

URL = "https://reminders.example.org/twilio/sms"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_serving(base: str, process) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code in (200, 503):
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("reminders serve did not start: " + (process.stderr.read() if process.poll() is not None else ""))


def test_serve_answers_twilio_within_15_s_while_the_message_table_is_locked(
        pg_engine, postgres_url, reminders_env, fake_twilio, tmp_path):
    env = reminders_env(postgres_url, REMINDERS_WEBHOOK_BUDGET_SECONDS="3")
    port = free_port()
    server = start_reminders(["serve", "--port", str(port), "--no-scheduler"], env)
    base = f"http://127.0.0.1:{port}"
    sids = [f"SM{n:032d}" for n in range(5)]
    try:
        wait_until_serving(base, server)
        with pg_engine.connect() as other:
            other.execute(sa.text("LOCK TABLE message IN ACCESS EXCLUSIVE MODE"))
            answers = []
            for sid in sids:
                fields = {"MessageSid": sid, "From": "+254712345678", "To": "+15005550006",
                          "Body": "nina homa", "AccountSid": fake_twilio.account_sid}
                signature = RequestValidator(fake_twilio.auth_token).compute_signature(URL, fields)
                # Twilio gives up after 15 s: so does this client.
                answers.append(httpx.post(base + "/twilio/sms", data=fields, timeout=15,
                                          headers={"X-Twilio-Signature": signature}))
            health = httpx.get(base + "/healthz", timeout=15)
            other.rollback()  # the lock goes
    finally:
        server.send_signal(signal.SIGTERM)
        _out, err = server.communicate(timeout=30)
    assert [a.status_code for a in answers] == [200] * 5
    assert all("<Message>" in a.text for a in answers)
    assert (health.json()["spool"]["pending"], health.json()["spool"]["quarantined"]) == (5, 0)
    spool_dir = tmp_path / "spool"
    assert spool.counts(spool_dir).pending == 5
    assert replay_spool(pg_engine, spool_dir)["ingested"] == 5
    with session_scope(pg_engine) as session:
        stored = session.exec(select(Message.provider_sid).where(Message.direction == "inbound")).all()
    assert sorted(stored) == sids  # all kept, none twice
    assert "+254712345678" not in err and "nina homa" not in err
