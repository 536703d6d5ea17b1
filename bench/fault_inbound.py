"""Fault runs for the inbound promises: a real `reminders serve` on PostgreSQL, real
signed HTTP posts (each sent twice, as Twilio retries), and the database made to fail
under it through a TCP proxy this script controls (refusing, or frozen: connections
accepted and never answered) or by another connection holding `LOCK TABLE message`.

    python bench/fault_inbound.py [--replies 300] [--fault refuse|freeze|lock|hostile]

For each run it prints: replies sent (distinct SIDs), answered 200, slowest answer,
stored directly, spooled, quarantined, stored after the spool replay, lost (neither in
the database nor in quarantine) and duplicated (SIDs with more than one row), plus the
status callbacks posted during the fault and applied after it.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import httpx
import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from common import ROOT, fresh_postgres

from reminders import spool
from reminders.db import create_db_engine, session_scope
from reminders.models import Message
from reminders.services.clinics import add_clinic
from reminders.services.recovery import replay_spool

TOKEN = "fault-run-auth-token"
URL = "https://reminders.example.org"
BUDGET = "3"


class Proxy:
    """TCP proxy to PostgreSQL: `pass`, `refuse` (new and open connections cut) or
    `freeze` (connections accepted, nothing forwarded either way)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target, self.mode = target, "pass"
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.port = self.listener.getsockname()[1]
        self.open: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def set(self, mode: str) -> None:
        self.mode = mode
        if mode == "refuse":
            with self.lock:
                for sock in self.open:
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    sock.close()
                self.open.clear()

    def _accept(self) -> None:
        while True:
            client, _ = self.listener.accept()
            if self.mode == "refuse":
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.open += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                ready, _, _ = select.select([a, b], [], [], 0.1)
                if self.mode == "freeze":
                    continue  # hold everything: a frozen server
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (b if sock is a else a).sendall(data)
        except (OSError, ValueError):
            return
        finally:
            for sock in (a, b):
                try:
                    sock.close()
                except OSError:
                    pass


def hostile(i: int) -> dict[str, str]:
    """The i-th reply: plain, or one of the shapes that used to be lost."""
    sid, sender, body = f"SM{i:032d}", f"+2547{i % 1000:08d}", "nina homa"
    kind = i % 8
    if kind == 1:
        body = "nina\x00homa"
    elif kind == 2:
        sid = f"SM\x00{i:031d}"
    elif kind == 3:
        sender = "whatsapp:" + sender
    elif kind == 4:
        sid = f"SM{i:062d}"  # 64 characters
    elif kind == 5:
        body = "caf\ufffd \u202e\U0001F64F" * 100
    elif kind == 6:
        sid = f"SM{i:098d}"  # longer than Twilio documents: quarantined, not lost
    return {"MessageSid": sid, "AccountSid": "AC" + "0" * 32, "From": sender, "To": "+15005550006",
            "Body": body, "NumMedia": "0"}


def post(client: httpx.Client, path: str, fields: dict[str, str]) -> tuple[int, float]:
    signature = RequestValidator(TOKEN).compute_signature(URL + path, fields)
    started = time.monotonic()
    try:
        response = client.post(path, data=fields, headers={"X-Twilio-Signature": signature}, timeout=15)
        return response.status_code, time.monotonic() - started
    except httpx.HTTPError:
        return 0, time.monotonic() - started  # Twilio would have given up


def run(fault: str, replies: int) -> dict[str, object]:
    with fresh_postgres("reminders_fault") as url, tempfile.TemporaryDirectory() as tmp:
        engine = create_db_engine(url)
        with session_scope(engine) as session:
            add_clinic(session, code="KIB", name="Kibera Clinic", timezone="Africa/Nairobi", country="KE",
                       phone="+254700000001")
            for n in range(replies // 4):  # outbound messages whose delivery callbacks come in the fault
                session.add(Message(direction="outbound", kind="checkin", phone="+254700000009", body="x",
                                    status="sent", provider_sid=f"SMout{n:029d}",
                                    created_at=datetime.now(timezone.utc)))
        parsed = sa.make_url(url)
        proxy = Proxy((parsed.host or "127.0.0.1", parsed.port or 5432))
        served = parsed.set(port=proxy.port).render_as_string(hide_password=False)
        spool_dir = Path(tmp) / "spool"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("REMINDERS_", "TWILIO_"))}
        env.update(REMINDERS_DATABASE_URL=served, REMINDERS_PUBLIC_URL=URL, TWILIO_AUTH_TOKEN=TOKEN,
                   REMINDERS_SMS_GATEWAY="local", REMINDERS_SECRET_KEY="fault-run-secret-key-0123456789-0123456789",
                   REMINDERS_SPOOL_DIR=str(spool_dir), REMINDERS_WEBHOOK_BUDGET_SECONDS=BUDGET)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = subprocess.Popen([sys.executable, "-m", "reminders", "serve", "--port", str(port),
                                   "--no-scheduler"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(base + "/healthz", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        fields = [hostile(i) for i in range(replies)]
        statuses = [{"MessageSid": f"SMout{n:029d}", "MessageStatus": "delivered", "AccountSid": "AC" + "0" * 32}
                    for n in range(replies // 4)]
        holder = engine.connect()
        try:
            with httpx.Client(base_url=base) as client, ThreadPoolExecutor(8) as pool:
                warm = [hostile(replies + i) for i in range(8)]  # the pool has connections before the fault
                list(pool.map(lambda f: post(client, "/twilio/sms", f), warm))
                if fault in ("refuse", "freeze"):
                    proxy.set(fault)
                elif fault == "lock":
                    holder.execute(sa.text("LOCK TABLE message IN ACCESS EXCLUSIVE MODE"))
                answers = list(pool.map(lambda f: post(client, "/twilio/sms", f), fields + fields))
                answers += list(pool.map(lambda f: post(client, "/twilio/status", f), statuses))
                try:
                    health = httpx.get(base + "/healthz", timeout=15).json()
                except httpx.HTTPError as exc:
                    health = f"no answer: {type(exc).__name__}"
        finally:
            holder.rollback()
            holder.close()
            proxy.set("pass")
            server.send_signal(signal.SIGTERM)
            _out, err = server.communicate(timeout=30)
        sids = {f["MessageSid"].replace("\x00", "\ufffd") for f in fields}
        with session_scope(engine) as session:
            direct = set(session.exec(sa.select(Message.provider_sid).where(Message.direction == "inbound")).scalars())
        counts_before = spool.counts(spool_dir)
        replayed = replay_spool(engine, spool_dir)
        with session_scope(engine) as session:
            rows = session.exec(sa.select(Message.provider_sid, sa.func.count()).where(
                Message.direction == "inbound").group_by(Message.provider_sid)).all()
            delivered = session.exec(sa.select(sa.func.count()).where(
                Message.provider_sid.like("SMout%"), Message.status == "delivered")).scalar_one()
        stored = {sid for sid, _ in rows}
        quarantined = {json.loads(path.read_text())["sid"] for path in (spool_dir / "quarantine").glob("*.json")
                       if "sid" in json.loads(path.read_text())} & sids
        leaked = [s for s in ("+2547", "nina homa") if s in err]
        engine.dispose()
        return {
            "fault": fault, "replies_sent": len(sids), "posts": len(fields) * 2,
            "answered_200": sum(1 for status, _ in answers[: len(fields) * 2] if status == 200),
            "status_callbacks_answered_204": sum(1 for status, _ in answers[len(fields) * 2:] if status == 204),
            "slowest_answer_s": round(max(seconds for _, seconds in answers), 2),
            "stored_directly": len(direct & sids), "spooled": counts_before.pending,
            "quarantined": len(quarantined), "stored_after_replay": len(stored & sids),
            "lost": len(sids - stored - quarantined), "duplicated": sum(1 for _, n in rows if n > 1),
            "status_callbacks_posted": len(statuses), "status_callbacks_applied": delivered,
            "replay": replayed, "healthz_during_fault": health, "phone_or_body_in_logs": leaked,
            "server_log_tail": err.strip().splitlines()[-5:] if not isinstance(health, dict) else [],
        }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replies", type=int, default=300)
    parser.add_argument("--fault", choices=["hostile", "lock", "refuse", "freeze"], default="refuse")
    args = parser.parse_args()
    print(json.dumps(run(args.fault, args.replies), indent=1))


if __name__ == "__main__":
    main()
