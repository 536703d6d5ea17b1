"""A clinic register uploaded on the staff pages: checked row by row first (nothing is
written), then imported on confirmation, by the same code as `reminders import`.

Staff import into their own clinic only: a row naming another clinic is refused.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from reminders.errors import InputError
from reminders.services.importer import Problem, import_rows, read_csv

MAX_BYTES = 512 * 1024  # about 5,000 rows; bigger registers go through `reminders import`
Rows = list[tuple[int, dict[str, str]]]


@dataclass(frozen=True)
class RowReport:
    row: int  # the line in the file, header = 1
    phone: str
    name: str
    register_ref: str
    problem: Problem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass(frozen=True)
class UploadReport:
    rows: list[RowReport]
    dry_run: bool
    imported: int  # written (or, in a dry run, that would be written)

    @property
    def refused(self) -> int:
        return sum(1 for r in self.rows if not r.ok)


def read_upload(data: bytes, filename: str) -> Rows:
    """The rows of an uploaded CSV, read exactly as `reminders import` reads a file."""
    if len(data) > MAX_BYTES:
        raise InputError("file", f"larger than {MAX_BYTES // 1024} KB: use `reminders import` for big registers")
    if not data.strip():
        raise InputError("file", "is empty")
    name = re.sub(r"[^A-Za-z0-9._-]", "_", Path(filename or "register.csv").name)[:80] or "register.csv"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        return read_csv(path)


def check(engine: sa.Engine, rows: Rows, clinic_code: str, now: datetime) -> UploadReport:
    return _run(engine, rows, clinic_code, now, dry_run=True, actor="")


def commit(engine: sa.Engine, rows: Rows, clinic_code: str, now: datetime, actor: str) -> UploadReport:
    return _run(engine, rows, clinic_code, now, dry_run=False, actor=actor)


def _run(engine: sa.Engine, rows: Rows, clinic_code: str, now: datetime, *, dry_run: bool,
         actor: str) -> UploadReport:
    problems: dict[int, Problem] = {}
    mine: Rows = []
    for line, row in rows:
        named = (row.get("clinic") or "").strip().upper()
        if named and named != clinic_code.upper():
            problems[line] = Problem(line, "clinic", f"{row['clinic']!r} is not your clinic ({clinic_code})")
        else:
            mine.append((line, row))
    report = import_rows(engine, mine, default_clinic=clinic_code, now=now, dry_run=dry_run,
                         actor=actor or "cli")
    problems.update({p.row: p for p in report.problems})
    return UploadReport(
        rows=[RowReport(line, row.get("phone", ""), row.get("name", ""), row.get("register_ref", ""),
                        problems.get(line)) for line, row in rows],
        dry_run=dry_run, imported=report.imported,
    )
