"""The inbound webhook under load on PostgreSQL: distinct signed replies at a fixed rate
from this process to `reminders serve` (a second process) on loopback.

    python bench/bench_webhook.py [--rate 200] [--seconds 60] [--patients 1000]

Open loop: request i is sent at i/rate seconds whatever the answers, so a slow server
shows up as latency, not as a lower rate. The first 5 seconds, at the same rate, warm the
server up and are not counted. A `reminders worker` triages the stored replies into the
queue meanwhile, as in production. Prints p50/p90/p99/max latency and errors.
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
import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from common import ROOT, fresh_postgres, machine, write_register

from reminders.db import create_db_engine, session_scope
from reminders.services.clinics import add_clinic
from reminders.services.importer import import_rows, read_csv

WARM_UP_SECONDS = 5  # sent at the same rate before the measured minute, not counted

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
    """Open loop over raw keep-alive connections (an HTTP client library here would use more
    CPU than the server we measure). Latency counts from each request's scheduled time, so
    a request that waited for a free connection is charged for the wait."""
    validator = RequestValidator(token)
    public = "http://bench.invalid/twilio/sms"
    host, port = base.removeprefix("http://").split(":")
    total = int(rate * (seconds + WARM_UP_SECONDS))
    requests = []
    for i in range(total):
        fields = {"MessageSid": f"SM{i:032x}", "AccountSid": "AC" + "0" * 32, "From": phones[i % len(phones)],
                  "To": "+15005550006", "Body": REPLIES[i % len(REPLIES)], "NumMedia": "0"}
        body = urlencode(fields).encode()
        requests.append(
            (f"POST /twilio/sms HTTP/1.1\r\nHost: {host}:{port}\r\n"
             f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
             f"X-Twilio-Signature: {validator.compute_signature(public, fields)}\r\n\r\n").encode() + body)
    latencies: list[float] = []
    timeline: list[tuple[float, float]] = []
    errors = 0
    queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()

    async def connection() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, int(port))
        while (job := await queue.get()) is not None:
            i, scheduled = job
            writer.write(requests[i])
            status = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            if i >= warm:
                latencies.append(time.perf_counter() - scheduled)
                timeline.append((scheduled - begin, latencies[-1]))
            if b" 200 " not in status and i >= warm:
                errors += 1
        writer.close()

    workers = [asyncio.create_task(connection()) for _ in range(64)]
    begin = time.perf_counter() + 0.5
    warm = int(rate * WARM_UP_SECONDS)  # the first seconds open connections and fill caches
    for i in range(total):
        scheduled = begin + i / rate
        await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
        queue.put_nowait((i, scheduled))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    if os.environ.get("BENCH_TIMELINE"):
        slow = [(round(t, 2), round(l * 1000)) for t, l in timeline if l > 0.05 and t > WARM_UP_SECONDS]
        print("slow requests (scheduled s, ms):", slow[:10], "...", len(slow))
    return latencies, errors, total - warm


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
               "REMINDERS_SECRET_KEY": "bench-secret-key-0123456789-serving-length"}
        server = subprocess.Popen([sys.executable, "-m", "reminders", "serve", "--port", str(port),
                                   "--no-scheduler"], env=env, cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # A worker triages the stored replies into the queue meanwhile, as in production.
        worker = subprocess.Popen([sys.executable, "-m", "reminders", *os.environ.get("BENCH_WORKER", "worker").split()], env=env, cwd=ROOT,
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
            engine = create_db_engine(url)
            deadline = time.monotonic() + 120
            with engine.connect() as connection:  # the worker catches up
                while (left := connection.execute(sa.text(
                        "SELECT count(*) FROM message WHERE status = 'received'")).scalar_one()) and \
                        time.monotonic() < deadline:
                    connection.commit()
                    time.sleep(0.5)
                queued = connection.execute(sa.text("SELECT count(*) FROM queue_item")).scalar_one()
            engine.dispose()
        finally:
            for process in (server, worker):
                process.terminate()
                process.wait(timeout=30)
    ordered = sorted(latencies)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    print(f"machine: {machine()}")
    print(f"webhook on PostgreSQL: {total:,} signed replies at {args.rate:.0f}/s for {args.seconds:.0f} s; "
          f"p50 {pick(0.50):.1f} ms, p90 {pick(0.90):.1f} ms, p99 {pick(0.99):.1f} ms, "
          f"max {ordered[-1] * 1000:.1f} ms, mean {statistics.mean(ordered) * 1000:.1f} ms, errors {errors}; "
          f"after the run the worker left {left} untriaged and the queue held {queued} items")


if __name__ == "__main__":
    main()
