"""Webhook capacity against its limit: the highest reply rate held with p99 under 50 ms,
for `reminders` as the runbook deploys it (PostgreSQL, N `reminders serve --passes spool`
web processes and 2 `nice -n 10 reminders worker` triaging meanwhile) and for a
bare FastAPI app doing the same signature check and one INSERT (baseline_webhook_app.py),
in one run, on one machine. Their ratio is the figure to judge: absolute rates here
swing threefold from day to day.

    python bench/bench_capacity.py [--processes 2] [--step-seconds 15] [--rates 50,100,...]

Each side gets a fresh PostgreSQL database, N single-worker processes on their own ports
(as behind a proxy: one process per core) and the same open-loop load, rate by rate, until
a step misses p99 < 50 ms or errors appear. Every request is a distinct signed reply.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from urllib.parse import urlencode

import httpx
import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from bench_webhook import REPLIES, free_port, seed
from common import ROOT, fresh_postgres, machine

TOKEN = "bench-auth-token-0123456789"
PUBLIC = "http://bench.invalid"
TARGET_P99 = 0.050
WORKERS = 2  # `reminders worker` processes beside the web processes, as docker-compose.yml runs


async def step(ports: list[int], phones: list[str], rate: float, seconds: float, offset: int,
               connections: int = 64) -> tuple[list[float], int]:
    """Open loop: request i leaves at i/rate s whatever the answers; latency from that instant."""
    validator = RequestValidator(TOKEN)
    total = int(rate * seconds)
    wire = []
    for i in range(offset, offset + total):
        fields = {"MessageSid": f"SM{i:032x}", "AccountSid": "AC" + "0" * 32,
                  "From": phones[i % len(phones)], "To": "+15005550006",
                  "Body": REPLIES[i % len(REPLIES)], "NumMedia": "0"}
        body = urlencode(fields).encode()
        signature = validator.compute_signature(PUBLIC + "/twilio/sms", fields)
        wire.append((f"POST /twilio/sms HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
                     f"X-Twilio-Signature: {signature}\r\n\r\n").encode() + body)
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()

    async def connection(port: int) -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while (job := await queue.get()) is not None:
            i, scheduled = job
            try:
                writer.write(wire[i])
                status = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                if b" 200 " not in status:
                    errors += 1
            except (ConnectionError, asyncio.IncompleteReadError):
                errors += 1
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            latencies.append(time.perf_counter() - scheduled)
        writer.close()

    workers = [asyncio.create_task(connection(ports[i % len(ports)])) for i in range(connections)]
    begin = time.perf_counter() + 0.3
    for i in range(total):
        scheduled = begin + i / rate
        await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
        queue.put_nowait((i, scheduled))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    return latencies, errors


def p(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def start(side: str, url: str, ports: list[int]) -> list[subprocess.Popen[bytes]]:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("REMINDERS_", "TWILIO_"))},
           "REMINDERS_DATABASE_URL": url, "REMINDERS_PUBLIC_URL": PUBLIC,
           "REMINDERS_SMS_GATEWAY": "local", "TWILIO_AUTH_TOKEN": TOKEN,
           "REMINDERS_SECRET_KEY": "bench-secret-key-0123456789-abcdef"}
    processes = []
    for port in ports:
        if side == "baseline":
            command = [sys.executable, str(ROOT / "bench" / "baseline_webhook_app.py"), url, TOKEN, PUBLIC, str(port)]
        else:  # as the runbook deploys it: web processes that replay their own spool only
            command = [sys.executable, "-m", "reminders", "serve", "--host", "127.0.0.1", "--port", str(port),
                       "--passes", "spool"]
        processes.append(subprocess.Popen(command, env=env, cwd=ROOT,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    if side != "baseline":
        # ... and the workers triaging (and dispatching) meanwhile, at the lower CPU priority
        # the runbook gives them (`nice -n 10 reminders worker`).
        for _ in range(WORKERS):
            processes.append(subprocess.Popen(["nice", "-n", "10", sys.executable, "-m", "reminders", "worker"],
                                              env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                              stderr=subprocess.DEVNULL))
    for port in ports:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                for process in processes:  # none left behind
                    process.terminate()
                raise SystemExit(f"{side} did not start on port {port}")
            time.sleep(0.2)
    return processes


def count(url: str, query: str) -> int:
    """One count from the side's database, on a connection of its own."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text(query)).scalar_one()
    finally:
        engine.dispose()


def untriaged_count(url: str) -> int:
    return count(url, "SELECT count(*) FROM message WHERE direction = 'inbound' AND status = 'received'")


def workers_beating(url: str) -> int:
    return count(url, "SELECT count(*) FROM scheduler_heartbeat WHERE role = 'worker'")


def untriaged(side: str, url: str) -> str:
    """How far the workers' triage is behind the webhook at the end of a step."""
    return "" if side == "baseline" else f"  untriaged {untriaged_count(url)}"


def measure(side: str, processes: int, rates: list[float], seconds: float, patients: int) -> float:
    """The highest rate of `rates` held with p99 < 50 ms and no errors (0 if none)."""
    held = 0.0
    with fresh_postgres(f"reminders_capacity_{side}") as url:
        phones = seed(url, patients)
        ports = [free_port() for _ in range(processes)]
        procs = start(side, url, ports)
        try:
            if side != "baseline":  # the deployment running: both workers' schedulers beating
                began = time.monotonic()
                while workers_beating(url) < WORKERS and time.monotonic() - began < 90:
                    time.sleep(0.5)
            offset = 0
            asyncio.run(step(ports, phones, 50, 5, offset))  # warm-up: connections, caches
            offset += 250
            for rate in rates:
                latencies, errors = asyncio.run(step(ports, phones, rate, seconds, offset))
                offset += int(rate * seconds)
                ordered = sorted(latencies)
                ok = p(ordered, 0.99) < TARGET_P99 and errors == 0
                print(f"  {side:9s} {rate:5.0f}/s  p50 {p(ordered, .5) * 1000:7.1f} ms  "
                      f"p99 {p(ordered, .99) * 1000:8.1f} ms  max {ordered[-1] * 1000:8.1f} ms  "
                      f"errors {errors}  {'held' if ok else 'MISSED'}{untriaged(side, url)}", flush=True)
                if not ok:
                    break
                held = rate
                time.sleep(2)  # let the triage pass drain between steps
            if side != "baseline":
                began = time.monotonic()
                while (left := untriaged_count(url)) and time.monotonic() - began < 600:
                    time.sleep(1)
                print(f"  {side:9s} replies left untriaged {left}, {time.monotonic() - began:.0f} s after "
                      f"the last step", flush=True)
        finally:
            for process in procs:
                process.terminate()
                process.wait(timeout=30)
    return held


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--step-seconds", type=float, default=15)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--rates", default="50,100,150,200,250,300,400,500,600,800")
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    print(f"machine: {machine()}; {args.processes} web process(es) per side, "
          f"{args.step_seconds:.0f} s per step, target p99 < 50 ms and no errors")
    baseline = measure("baseline", args.processes, rates, args.step_seconds, args.patients)
    ours = measure("reminders", args.processes, rates, args.step_seconds, args.patients)
    ratio = ours / baseline if baseline else float("nan")
    print(f"held with p99 < 50 ms: baseline {baseline:.0f}/s, reminders serve {ours:.0f}/s, "
          f"ratio {ratio:.2f}")


if __name__ == "__main__":
    main()
