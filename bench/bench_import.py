"""Time `reminders import` of a clinic register on SQLite (target: 100,000 rows < 60 s).

    python bench/bench_import.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from common import ROOT, days, machine, write_register


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        env = {**{k: v for k, v in os.environ.items() if not k.startswith(("REMINDERS_", "TWILIO_"))},
               "REMINDERS_DATABASE_URL": f"sqlite:///{db}", "REMINDERS_SMS_GATEWAY": "local"}
        run = lambda *a: subprocess.run([sys.executable, "-m", "reminders", *a], env=env, cwd=ROOT,  # noqa: E731
                                        check=True, capture_output=True, text=True)
        run("clinic", "add", "KIB", "--name", "Kibera Clinic", "--timezone", "Africa/Nairobi",
            "--country", "KE", "--phone", "+254700000001")
        register = Path(tmp) / "register.csv"
        today = datetime.now(timezone.utc).date()
        write_register(register, args.rows, days(today - __import__("datetime").timedelta(days=6), 7))
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "reminders", "import", str(register), "--clinic", "KIB"],
                                env=env, cwd=ROOT, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        assert result.returncode == 0, result.stderr[-2000:]
        print(f"machine: {machine()}")
        print(f"import of {args.rows:,} rows on SQLite: {elapsed:.1f} s "
              f"({args.rows / elapsed:,.0f} rows/s) -> {result.stdout.strip()}")


if __name__ == "__main__":
    main()
