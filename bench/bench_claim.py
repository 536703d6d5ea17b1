"""Time to claim due check-ins among 100,000 patients whose due times all differ (the case
that was quadratic before issue 10), on SQLite and PostgreSQL, beside the same claim
among 1,000 patients. Every claim is rolled back, so each one does the same work.

    python bench/bench_claim.py [--patients 100000] [--small 1000] [--repeat 15]

Prints the median and the slowest of `--repeat` claims of 200 (wall clock in this
process, round trips included), and PostgreSQL's own execution time of the candidate
query (EXPLAIN ANALYZE) for comparison with the wall clock.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from common import fresh_postgres, machine
from reminders.db import create_db_engine, session_scope
from reminders.migrations import upgrade
from reminders.store.claims import claim_newest_due, due_candidates
from tests.reliability.test_claims_scale import NOW, populate


def measure(engine: sa.Engine, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        with session_scope(engine) as session:
            began = time.perf_counter()
            claimed, _skipped, _busy = claim_newest_due(session, NOW, 200)
            times.append(time.perf_counter() - began)
            assert len(claimed) == 200
            session.rollback()
    return statistics.median(times), max(times)


def server_time(engine: sa.Engine) -> str:
    if engine.dialect.name != "postgresql":
        return ""
    compiled = due_candidates(NOW, 200).compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as connection:
        plan = connection.exec_driver_sql("EXPLAIN ANALYZE " + str(compiled)).scalars().all()
    return next(line for line in plan if line.startswith("Execution Time"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    print(machine())
    for engine_name in ("sqlite", "postgresql"):
        for patients in (args.small, args.patients):
            with tempfile.TemporaryDirectory() as folder:
                if engine_name == "sqlite":
                    url = f"sqlite:///{Path(folder) / 'claim.db'}"
                    upgrade(url)
                    run(url, engine_name, patients, args.repeat)
                else:
                    with fresh_postgres("reminders_claim") as url:
                        run(url, engine_name, patients, args.repeat)


def run(url: str, engine_name: str, patients: int, repeat: int) -> None:
    engine = create_db_engine(url)
    populate(engine, patients)
    median, slowest = measure(engine, repeat)
    extra = server_time(engine)
    print(f"{engine_name:10} {patients:>7} patients: claim 200 due, median {median * 1000:.1f} ms, "
          f"slowest {slowest * 1000:.1f} ms (of {repeat}){'; candidate query ' + extra if extra else ''}",
          flush=True)
    engine.dispose()


if __name__ == "__main__":
    main()
