"""The 100,000-patient run: import a register from CSV, then one dispatch pass when
10,000 check-ins are due, on SQLite or PostgreSQL; the same with 10,000 patients beside it.

    python bench/bench_100k.py --engine postgresql [--patients 100000 --small 10000 --due 10000]
    python bench/bench_100k.py --engine sqlite

For each size: `reminders import` (wall time of the process), the welcome messages set
aside (marked sent by SQL: the pass under test is the check-ins'), the time to find the
due rows (the dispatch pass's own claim of one batch, in a transaction rolled back,
median of 5), then one `reminders dispatch --now T` process through the real twilio
client to the fake Twilio server in its own process, rate limit lifted: messages per
second (whole process, start-up included) and its peak memory (max RSS, from wait4).
`due` patients start treatment today, the others a week later, so at T (day 3, 10:00
in Nairobi) exactly `due` check-ins are due.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime, time as clock_time, timedelta
from pathlib import Path
from typing import Iterator
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from common import ROOT, fake_twilio_process, fresh_postgres, machine, write_register

ZONE = ZoneInfo("Africa/Nairobi")


@contextmanager
def database(engine: str, tmp: Path) -> Iterator[str]:
    if engine == "postgresql":
        with fresh_postgres("reminders_100k") as url:
            yield url
    else:
        yield f"sqlite:///{tmp / f'bench-{time.monotonic_ns()}.db'}"


# The process reports its own peak RSS as it exits (the fake server is a child of ours too).
WRAPPED = ("import atexit, resource, sys; atexit.register(lambda: sys.stderr.write("
           "f'maxrss_kb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n')); "
           "sys.argv[0] = 'reminders'; from reminders.cli import app; app()")


def run_timed(args: list[str], env: dict[str, str], timeout: float) -> tuple[float, int, str]:
    """(seconds, peak RSS in MiB, stdout) of one `reminders` process."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", WRAPPED, *args], env=env, cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise SystemExit(f"{args[0]} did not finish in {timeout:.0f} s") from None
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"{args[0]} exited {process.returncode}: {err[-2000:]}")
    rss_kb = [int(line.split("=", 1)[1]) for line in err.splitlines() if line.startswith("maxrss_kb=")]
    return elapsed, rss_kb[-1] // 1024, out.strip()


def time_claim(url: str, now: datetime, batch: int) -> float:
    """Median ms for the dispatch pass's claim of one batch (rolled back, nothing changes)."""
    from reminders.db import create_db_engine
    from reminders.store.claims import claim_due_checkins
    from sqlmodel import Session

    engine = create_db_engine(url)
    times = []
    for _ in range(5):
        with Session(engine) as session:
            started = time.perf_counter()
            claimed = claim_due_checkins(session, now, batch)
            times.append((time.perf_counter() - started) * 1000)
            assert len(claimed) == batch, len(claimed)
            session.rollback()
    engine.dispose()
    return statistics.median(times)


def one_size(engine: str, patients: int, due: int, batch: int, timeout: float) -> dict[str, float]:
    from reminders.db import create_db_engine

    with tempfile.TemporaryDirectory() as tmp_dir, database(engine, Path(tmp_dir)) as url, \
            fake_twilio_process() as (base_url, sid, token, _created):
        tmp = Path(tmp_dir)
        env = {**{k: v for k, v in os.environ.items() if not k.startswith(("REMINDERS_", "TWILIO_"))},
               "REMINDERS_DATABASE_URL": url, "REMINDERS_SMS_GATEWAY": "twilio",
               "REMINDERS_TWILIO_API_BASE": base_url, "TWILIO_ACCOUNT_SID": sid,
               "TWILIO_AUTH_TOKEN": token, "TWILIO_FROM_NUMBER": "+15005550006",
               "REMINDERS_DISPATCH_RATE": "100000", "REMINDERS_SPOOL_DIR": str(tmp / "spool")}
        subprocess.run([sys.executable, "-m", "reminders", "clinic", "add", "KIB", "--name", "Kibera Clinic",
                        "--timezone", "Africa/Nairobi", "--country", "KE", "--phone", "+254700000001"],
                       env=env, cwd=ROOT, check=True, capture_output=True)
        today = datetime.now(ZONE).date()
        register = tmp / "register.csv"
        # One row in (patients / due) starts today (due at T), the others a week later.
        write_register(register, patients, [today] + [today + timedelta(days=7)] * (patients // due - 1))
        import_s, _rss, _out = run_timed(["import", str(register), "--clinic", "KIB"], env, timeout)
        with create_db_engine(url).begin() as connection:  # the welcomes are not this pass's work
            connection.execute(sa.text("UPDATE message SET status = 'queued', provider_sid = 'SMwelcome' || id "
                                       "WHERE kind = 'welcome'"))
        now = datetime.combine(today + timedelta(days=3), clock_time(10, 0), ZONE)
        claim_ms = time_claim(url, now, batch)
        dispatch_s, rss_mib, out = run_timed(["dispatch", "--now", now.isoformat()], env, timeout)
    return {"import_s": import_s, "claim_ms": claim_ms, "dispatch_s": dispatch_s,
            "rate": due / dispatch_s, "rss_mib": rss_mib, "summary": out.splitlines()[-1]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], required=True)
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=200, help="claim size timed (the default dispatch batch)")
    parser.add_argument("--timeout", type=float, default=1800, help="per process, seconds")
    args = parser.parse_args()
    print(f"machine: {machine()}, load average {os.getloadavg()[0]:.1f}")
    for patients in (args.small, args.patients):
        result = one_size(args.engine, patients, args.due, args.batch, args.timeout)
        print(f"{args.engine} {patients:,} patients, {args.due:,} due: import {result['import_s']:.1f} s; "
              f"claim of {args.batch} due rows {result['claim_ms']:.1f} ms (median of 5); dispatch pass "
              f"{result['dispatch_s']:.1f} s = {result['rate']:.0f} messages/s; peak RSS of the pass "
              f"{result['rss_mib']} MiB; {result['summary']}", flush=True)


if __name__ == "__main__":
    main()
