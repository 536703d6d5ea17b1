"""The national-programme run: import a 100,000-patient register, then one dispatch pass
when a tenth of them (10,000 check-ins) are due, on SQLite and on PostgreSQL.

    python bench/bench_100k.py [--engines sqlite,postgresql] [--sizes 10000,100000] [--timeout 900]

For each engine and size: `reminders import` of the CSV (a subprocess, timed), the time
to find a batch of 200 due check-ins (the dispatch pass's own claim, median of 5, rolled
back), then `reminders dispatch --now` (a subprocess, the real twilio client against the
fake Twilio in a process of its own, rate limit lifted): wall time, messages per second,
and the peak RSS of that dispatch process alone. A pass that runs past --timeout is
stopped and reported as not finished, with what it sent by then.

Due dates: ART start dates cycle through ten days so that exactly one patient in ten
has its day-3 check-in due at D 09:05 (Nairobi) and nobody else has one due yet.
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
from datetime import datetime, time as dtime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa

from common import ROOT, fake_twilio_process, fresh_postgres, machine, write_register

from reminders.db import create_db_engine, session_scope
from reminders.store.claims import claim_due_checkins

# Runs a command and prints its peak RSS (KiB) as the last line of stderr: the RSS of
# that one child, not of the import that ran before it.
RSS_WRAPPER = """
import resource, subprocess, sys
code = subprocess.call(sys.argv[1:])
print("maxrss_kib", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)
sys.exit(code)
"""


@contextmanager
def database(engine: str) -> Iterator[str]:
    if engine == "postgresql":
        with fresh_postgres("reminders_100k") as url:
            yield url
        return
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite:///{Path(tmp) / 'bench.db'}"


def run_once(engine_name: str, patients: int, timeout: float) -> None:
    today = datetime.now(timezone.utc).date()
    day = today + timedelta(days=4)  # D: starts run from D-3 (tomorrow) to D+3 (in a week)
    starts = [day + timedelta(days=k) for k in (-3, -2, -1, 0, 1, 2, 3, -2, -1, 0)]
    now = datetime.combine(day, dtime(6, 5), tzinfo=timezone.utc)  # 09:05 in Nairobi
    with database(engine_name) as url, fake_twilio_process() as (base_url, sid, token, created), \
            tempfile.TemporaryDirectory() as tmp:
        env = {**{k: v for k, v in os.environ.items() if not k.startswith(("REMINDERS_", "TWILIO_"))},
               "REMINDERS_DATABASE_URL": url, "REMINDERS_SMS_GATEWAY": "twilio",
               "REMINDERS_TWILIO_API_BASE": base_url, "TWILIO_ACCOUNT_SID": sid,
               "TWILIO_AUTH_TOKEN": token, "TWILIO_FROM_NUMBER": "+15005550006",
               "REMINDERS_DISPATCH_RATE": "100000", "REMINDERS_SPOOL_DIR": str(Path(tmp) / "spool")}
        reminders = [sys.executable, "-m", "reminders"]
        subprocess.run([*reminders, "clinic", "add", "KIB", "--name", "Kibera Clinic", "--timezone",
                        "Africa/Nairobi", "--country", "KE", "--phone", "+254700000001"],
                       env=env, cwd=ROOT, check=True, capture_output=True)
        register = Path(tmp) / "register.csv"
        write_register(register, patients, starts)
        began = time.perf_counter()
        imported = subprocess.run([*reminders, "import", str(register), "--clinic", "KIB"], env=env,
                                  cwd=ROOT, capture_output=True, text=True)
        import_s = time.perf_counter() - began
        assert imported.returncode == 0, imported.stderr[-2000:]

        engine = create_db_engine(url)
        with engine.begin() as connection:  # the welcomes are not what we measure
            connection.execute(sa.text("UPDATE message SET status = 'delivered' WHERE kind = 'welcome'"))
            connection.execute(sa.text("ANALYZE"))
        timings = []
        for _ in range(5):
            with session_scope(engine) as session:
                started = time.perf_counter()
                claimed = claim_due_checkins(session, now, 200)
                timings.append(time.perf_counter() - started)
                session.rollback()
        find_ms = statistics.median(timings) * 1000

        began = time.perf_counter()
        dispatch = subprocess.Popen([sys.executable, "-c", RSS_WRAPPER, *reminders, "dispatch",
                                     "--now", now.isoformat()], env=env, cwd=ROOT,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            out, err = dispatch.communicate(timeout=timeout)
            finished = True
        except subprocess.TimeoutExpired:
            dispatch.kill()
            out, err = dispatch.communicate()
            finished = False
        elapsed = time.perf_counter() - began
        with engine.connect() as connection:
            sent = connection.execute(sa.text(
                "SELECT count(*) FROM checkin WHERE status = 'sent'")).scalar_one()
        engine.dispose()
    rss = [line.split()[1] for line in err.splitlines() if line.startswith("maxrss_kib")]
    peak = f"{int(rss[-1]) / 1024:,.0f} MiB" if rss else "not measured (stopped)"
    print(f"{engine_name}, {patients:,} patients: import {import_s:.1f} s "
          f"({patients / import_s:,.0f} rows/s); find 200 due: {find_ms:.1f} ms "
          f"(claimed {len(claimed)}); dispatch: "
          + (f"{sent:,} sent in {elapsed:.1f} s = {sent / elapsed:,.0f} messages/s "
             f"(start-up included), summary {out.strip().splitlines()[-1] if out.strip() else '?'}"
             if finished else f"NOT FINISHED after {elapsed:.0f} s, {sent:,} sent by then")
          + f"; dispatch peak RSS {peak}; fake received {created[0] if created else '?'}",
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()
    print(f"machine: {machine()}", flush=True)
    for engine_name in args.engines.split(","):
        for size in (int(s) for s in args.sizes.split(",")):
            run_once(engine_name, size, args.timeout)


if __name__ == "__main__":
    main()
