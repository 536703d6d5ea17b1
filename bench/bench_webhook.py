"""The inbound webhook under load on PostgreSQL: distinct signed replies at a fixed rate
from this process to `reminders serve` (a second process) on loopback.

    python bench/bench_webhook.py [--rate 200] [--seconds 60] [--patients 1000]

Open loop: request i is sent at i/rate seconds whatever the answers, so a slow server
shows up as latency, not as a lower rate. Prints p50/p90/p99/max latency and errors.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode

import httpx
from twilio.request_validator import RequestValidator

from common import ROOT, fresh_postgres, machine, write_register

from reminders.db import create_db_engine, session_scope
from reminders.services.clinics import add_clinic
from reminders.services.importer import import_rows, read_csv

REPLIES = ["1", "nko poa", "nina homa tangu jana", "I can't breathe well", "2", "estoy bien gracias",
           "j'ai de la fièvre", "tô com tosse", "my child has fever", "when is my appointment",
           "kichwa kinauma sana na shingo ngumu", "fine thanks 🙏", "3 nilisahau dawa", "sem febre"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(url: str, patients: int) -> list[str]:
    engine = create_db_engine(url)
    with session_scope(engine) as session:
        add_clinic(session, code="KIB", name="Kibera Clinic", timezone="Africa/Nairobi",
                   country="KE", phone="+254700000001", oncall_phone="+254700000002")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "register.csv"
        write_register(path, patients, [datetime.now(timezone.utc).date()])
        import_rows(engine, read_csv(path), default_clinic="KIB", now=datetime.now(timezone.utc))
    engine.dispose()
    return [f"+2547{i:08d}" for i in range(patients)]


async def load(base: str, token: str, phones: list[str], rate: float, seconds: float) -> tuple[list[float], int, int]:
    validator = RequestValidator(token)
    public = "http://bench.invalid/twilio/sms"
    total = int(rate * seconds)
    bodies = []
    for i in range(total):
        fields = {"MessageSid": f"SM{i:032x}", "AccountSid": "AC" + "0" * 32, "From": phones[i % len(phones)],
                  "To": "+15005550006", "Body": REPLIES[i % len(REPLIES)], "NumMedia": "0"}
        bodies.append((urlencode(fields), validator.compute_signature(public, fields)))
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=15) as client:
        async def one(i: int, at: float) -> None:
            nonlocal errors
            await asyncio.sleep(max(0.0, at - time.perf_counter()))
            body, signature = bodies[i]
            started = time.perf_counter()
            try:
                response = await client.post("/twilio/sms", content=body, headers={
                    "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})
                if response.status_code != 200:
                    errors += 1
            except httpx.HTTPError:
                errors += 1
            latencies.append(time.perf_counter() - started)

        begin = time.perf_counter() + 0.5
        await asyncio.gather(*(one(i, begin + i / rate) for i in range(total)))
    return latencies, errors, total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--patients", type=int, default=1000)
    args = parser.parse_args()
    token = "bench-auth-token-0123456789"
    with fresh_postgres() as url:
        phones = seed(url, args.patients)
        port = free_port()
        env = {**{k: v for k, v in os.environ.items() if not k.startswith(("REMINDERS_", "TWILIO_"))},
               "REMINDERS_DATABASE_URL": url, "REMINDERS_PUBLIC_URL": "http://bench.invalid",
               "REMINDERS_SMS_GATEWAY": "local", "TWILIO_AUTH_TOKEN": token,
               "REMINDERS_SECRET_KEY": "bench-secret-key-0123456789"}
        server = subprocess.Popen([sys.executable, "-m", "reminders", "serve", "--port", str(port),
                                   "--no-scheduler"], env=env, cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(base + "/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("server did not start")
                time.sleep(0.1)
            latencies, errors, total = asyncio.run(load(base, token, phones, args.rate, args.seconds))
        finally:
            server.terminate()
            server.wait(timeout=30)
    ordered = sorted(latencies)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    print(f"machine: {machine()}")
    print(f"webhook on PostgreSQL: {total:,} signed replies at {args.rate:.0f}/s for {args.seconds:.0f} s; "
          f"p50 {pick(0.50):.1f} ms, p90 {pick(0.90):.1f} ms, p99 {pick(0.99):.1f} ms, "
          f"max {ordered[-1] * 1000:.1f} ms, mean {statistics.mean(ordered) * 1000:.1f} ms, errors {errors}")


if __name__ == "__main__":
    main()
