"""Dispatch against its limit: a `reminders dispatch` pass (PostgreSQL, the real twilio
client, rate limit lifted, one process) beside the bare twilio client with 4 threads
sending the same number of messages to the same local fake Twilio, in one run.

    python bench/bench_dispatch_ratio.py [--patients 3000] [--runs 1]

Our side is timed net of start-up: the same command is first run three times when nothing
is due, and the median of those times is subtracted (one such run swings by seconds on a
busy machine). With --runs N the whole measurement (bare, ours on a fresh database, bare
again) is repeated N times, each with its own ratio. --before PATH also measures the
`reminders dispatch` of another source tree (e.g. `git archive` of an older commit) in
each run, between ours and the second bare measurement, against the same baseline. The bare side reuses one keep-alive client per thread, as our
gateway does. Absolute rates here swing threefold between days: judge the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, time as dtime, timedelta, timezone
from pathlib import Path

from twilio.rest import Client

from bench_dispatch import enroll
from common import ROOT, fake_twilio_process, fresh_postgres, machine


def bare(base_url: str, sid: str, token: str, count: int, threads: int = 4) -> float:
    """Messages per second of the bare client, `threads` threads, one client each."""
    local = threading.local()

    def client() -> Client:
        if not hasattr(local, "client"):
            local.client = Client(sid, token)
            local.client.api.base_url = base_url  # public attribute: the api domain only
        return local.client

    def send(i: int) -> None:
        client().messages.create(to=f"+2547{i:08d}", from_="+15005550006", body=f"bare {i}")

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(send, range(50)))  # warm: connections opened
        started = time.perf_counter()
        list(pool.map(send, range(count)))
        return count / (time.perf_counter() - started)


def ours(base_url: str, sid: str, token: str, patients: int, code: Path = ROOT) -> tuple[float, dict]:
    start = datetime.now(timezone.utc).date()
    due = datetime.combine(start + timedelta(days=3), dtime(6, 5), tzinfo=timezone.utc)
    with fresh_postgres() as url:
        enroll(url, patients, [start], datetime.now(timezone.utc))
        env = {**{k: v for k, v in os.environ.items() if not k.startswith(("REMINDERS_", "TWILIO_"))},
               "REMINDERS_DATABASE_URL": url, "REMINDERS_SMS_GATEWAY": "twilio",
               "REMINDERS_TWILIO_API_BASE": base_url, "TWILIO_ACCOUNT_SID": sid,
               "TWILIO_AUTH_TOKEN": token, "TWILIO_FROM_NUMBER": "+15005550006",
               "REMINDERS_DISPATCH_RATE": "100000", "REMINDERS_DISPATCH_CONCURRENCY": "4",
               "REMINDERS_SECRET_KEY": "bench-secret-key-0123456789-abcdef"}

        def run(now: datetime) -> tuple[float, dict]:
            began = time.perf_counter()
            result = subprocess.run([sys.executable, "-m", "reminders", "dispatch", "--now", now.isoformat()],
                                    env=env, cwd=code, capture_output=True, text=True)
            assert result.returncode == 0, result.stderr[-2000:]
            return time.perf_counter() - began, json.loads(result.stdout.strip().splitlines()[-1])

        # Nothing due: start-up alone (the median of three runs).
        idles = sorted(run(due - timedelta(days=2, hours=12))[0] for _ in range(3))
        idle = idles[1]
        elapsed, summary = run(due)
    return summary["sent"] / max(elapsed - idle, 1e-6), {
        **summary, "startup_s": round(idle, 2), "startup_runs_s": [round(t, 2) for t in idles],
        "elapsed_s": round(elapsed, 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--before", type=Path, default=None,
                        help="another source tree (an export of an older commit): its `reminders "
                             "dispatch` is measured too, in each run, right after ours")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    ratios = []
    with fake_twilio_process() as (base_url, sid, token, _created):
        for number in range(1, args.runs + 1):
            bare_rate = bare(base_url, sid, token, args.patients)
            our_rate, summary = ours(base_url, sid, token, args.patients)
            if args.before:
                before_rate, before_summary = ours(base_url, sid, token, args.patients, args.before)
            bare_again = bare(base_url, sid, token, args.patients)  # the machine may have drifted
            baseline = (bare_rate + bare_again) / 2
            ratios.append(our_rate / baseline)
            print(f"run {number}: load average {os.getloadavg()[0]:.1f}")
            print(f"bare twilio client, 4 threads: {bare_rate:,.0f} and {bare_again:,.0f} messages/s")
            print(f"reminders dispatch, net of start-up: {our_rate:,.0f} messages/s ({summary})")
            print(f"ratio: {our_rate / baseline:.2f} (target >= 0.8)", flush=True)
            if args.before:
                print(f"before ({args.before}): {before_rate:,.0f} messages/s, ratio "
                      f"{before_rate / baseline:.2f} ({before_summary})", flush=True)
    if args.runs > 1:
        print(f"ratios: {', '.join(f'{r:.2f}' for r in ratios)}; median {sorted(ratios)[len(ratios) // 2]:.2f}")


if __name__ == "__main__":
    main()
