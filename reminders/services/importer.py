"""`reminders import FILE.csv`: a clinic register export, enrolled in bulk.

Every row is validated exactly like a single enrollment (same rules, same messages); the
good rows are written in batches with bulk inserts (100,000 rows in well under a minute
on SQLite), the bad ones are reported with their row number.

Re-running an import is safe: a row whose patient is already enrolled (same clinic,
phone and ART start date, and the same register number when both have one) is counted
`unchanged` and nothing is written or sent for it. A number whose patient texted STOP is
refused, whatever the row says: only the patient's START makes it active again.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import sqlalchemy as sa
from pydantic import ValidationError
from sqlmodel import select

from reminders import plan, protocols
from reminders.db import session_scope
from reminders.errors import InputError
from reminders.models import AuditEvent, CheckIn, Clinic, Message, Patient
from reminders.schemas import PatientCreate
from reminders.services.enroll import new_patient, phone_taken, welcome_message

OPTED_OUT_ROW = ("opted out by the patient (STOP): not re-enrolled; only the patient can restart "
                 "messages, by texting START")

COLUMNS = ("clinic", "phone", "language", "art_start_date", "preferred_hour", "consent", "cd4",
           "recent_oi", "shared_phone", "name", "register_ref")
REQUIRED = ("phone", "art_start_date", "consent")
_TRUE = {"1", "y", "yes", "true", "t", "x", "ndio", "si", "sí", "oui", "sim"}
_FALSE = {"", "0", "n", "no", "false", "f", "hapana", "non", "nao", "não"}
BATCH = 2000


@dataclass(frozen=True)
class Problem:
    row: int  # the line number in the file, header = 1
    field: str
    reason: str


@dataclass
class Report:
    imported: int = 0
    unchanged: int = 0  # already enrolled: a re-run of the same file
    problems: list[Problem] = field(default_factory=list)


@dataclass
class Known:
    """What is already enrolled, read once before the batches."""

    taken: set[tuple[int, str]]  # (clinic_id, phone) of active or paused patients
    enrolled: dict[tuple[int, str, date], set[str | None]]  # -> register refs, any status
    opted_out: set[str]  # phones whose patient texted STOP


def _known(session) -> Known:  # type: ignore[no-untyped-def]
    known = Known(set(), {}, set())
    rows = session.execute(sa.select(Patient.clinic_id, Patient.phone, Patient.art_start_date,
                                     Patient.register_ref, Patient.status))
    for clinic_id, phone, art_start, ref, status in rows:
        if status in ("active", "paused"):
            known.taken.add((clinic_id, phone))
        if status == "opted_out":
            known.opted_out.add(phone)
        known.enrolled.setdefault((clinic_id, phone, art_start), set()).add(ref)
    return known


def read_csv(path: Path) -> list[tuple[int, dict[str, str]]]:
    """Rows with their line numbers; the header names columns in any case and order."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [(name or "").strip().lower().replace(" ", "_") for name in reader.fieldnames or []]
            missing = [name for name in REQUIRED if name not in header]
            if missing:
                raise InputError("file", f"{path.name} has no column {', '.join(missing)}")
            reader.fieldnames = header
            return [(reader.line_num, {k: (v or "").strip() for k, v in row.items() if k})
                    for row in reader]
    except FileNotFoundError:
        raise InputError("file", f"{path} does not exist") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError("file", f"{path.name} is not a UTF-8 CSV file ({exc})") from None


def _flag(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise InputError(name, f"{value!r} is not yes or no")


def _date(value: str) -> date:
    for parse in (date.fromisoformat, lambda v: datetime.strptime(v, "%d/%m/%Y").date()):
        try:
            return parse(value)
        except ValueError:
            continue
    raise InputError("art_start_date", f"{value!r} is not a date (YYYY-MM-DD or DD/MM/YYYY)")


def _whole_number(row: dict[str, str], name: str) -> int | None:
    value = row.get(name)
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise InputError(name, f"{value!r} is not a whole number") from None


def _request(row: dict[str, str], default_clinic: str | None) -> PatientCreate:
    clinic = row.get("clinic") or default_clinic
    if not clinic:
        raise InputError("clinic", "missing (add a clinic column or pass --clinic)")
    # Each value is read by a helper that names its own column: InputError is a
    # ValueError, so one broad `except ValueError` here used to rename every error
    # (a bad date was reported as "preferred_hour/cd4").
    values = dict(
        clinic=clinic, phone=row.get("phone", ""), language=(row.get("language") or "en").lower(),
        art_start_date=_date(row.get("art_start_date", "")),
        preferred_hour=_whole_number(row, "preferred_hour"),
        consent=_flag(row.get("consent", ""), "consent"),
        cd4=_whole_number(row, "cd4"),
        recent_oi=_flag(row.get("recent_oi", ""), "recent_oi"),
        shared_phone=_flag(row.get("shared_phone", ""), "shared_phone"),
        display_name=row.get("name") or None, register_ref=row.get("register_ref") or None,
    )
    try:
        return PatientCreate(**values)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise InputError(str(error["loc"][0]), error["msg"]) from None


def import_rows(engine: sa.Engine, rows: list[tuple[int, dict[str, str]]], *,
                default_clinic: str | None, now: datetime,
                progress: Callable[[int], object] = lambda n: None,
                dry_run: bool = False, actor: str = "cli") -> Report:
    """Validate every row and write the good ones. With `dry_run`, nothing is written and
    `imported` counts the rows that would be (the staff pages' check before a confirm)."""
    report = Report()
    protocol = protocols.load_protocol()
    with session_scope(engine) as session:
        clinics = {c.code: c for c in session.exec(select(Clinic))}
        known = _known(session)
    for start in range(0, len(rows), BATCH):
        chunk = rows[start:start + BATCH]
        good: list[tuple[Patient, list[plan.PlannedCheckin], str, Clinic]] = []
        for line, row in chunk:
            try:
                validated = _validated(row, default_clinic, clinics, known, protocol, now)
            except InputError as exc:
                report.problems.append(Problem(line, exc.field, exc.reason))
                continue
            if validated is None:
                report.unchanged += 1
            else:
                good.append(validated)
        if not dry_run:
            with session_scope(engine) as session:
                _insert(session, good, now, actor)
        report.imported += len(good)
        progress(len(chunk))
    return report


def _validated(row, default_clinic, clinics, known, protocol, now):  # type: ignore[no-untyped-def]
    """The rows to write for one good CSV row; None when it is already enrolled."""
    request = _request(row, default_clinic)
    clinic = clinics.get(request.clinic.upper())
    if clinic is None:
        raise InputError("clinic", f"no clinic with code {request.clinic!r}")
    patient = new_patient(clinic, request, protocol, now)
    if patient.phone in known.opted_out:
        raise InputError("phone", OPTED_OUT_ROW)
    refs = known.enrolled.get((clinic.id, patient.phone, patient.art_start_date))
    if refs is not None and (None in refs or patient.register_ref is None or patient.register_ref in refs):
        return None  # the same patient, already enrolled: nothing written, nothing sent
    if not patient.shared_phone and (clinic.id, patient.phone) in known.taken:
        raise phone_taken()
    known.taken.add((clinic.id, patient.phone))
    planned = plan.plan_checkins(protocol, art_start=patient.art_start_date, timezone=clinic.timezone,
                                 preferred_hour=patient.preferred_hour, high_risk=patient.high_risk,
                                 now=now)
    return patient, planned, welcome_message(clinic, patient, protocol, now), clinic


def _insert(session, good, now, actor) -> None:  # type: ignore[no-untyped-def]
    if not good:
        return
    columns = [c.name for c in Patient.__table__.columns if c.name != "id"]  # type: ignore[attr-defined]
    patient_rows = [{name: getattr(p, name) for name in columns} for p, _, _, _ in good]
    ids = session.execute(
        sa.insert(Patient).returning(Patient.id, sort_by_parameter_order=True), patient_rows
    ).scalars().all()
    checkins, welcomes, audits = [], [], []
    for patient_id, (patient, planned, welcome, clinic) in zip(ids, good, strict=True):
        checkins.extend({"patient_id": patient_id, "day": p.day, "due_at": p.due_at,
                         "catch_up": p.catch_up, "status": "planned", "attempts": 0} for p in planned)
        welcomes.append({"patient_id": patient_id, **welcome})
        audits.append({"at": now, "actor": actor, "action": "patient.enroll", "entity": "patient",
                       "entity_id": patient_id, "clinic_id": clinic.id,
                       "detail": {"checkins": len(planned), "source": "import"}})
    # Core inserts on the tables: the ORM's bulk path costs more than the rows' own writing.
    connection = session.connection()
    connection.execute(CheckIn.__table__.insert(), checkins)  # type: ignore[attr-defined]
    connection.execute(Message.__table__.insert(), welcomes)  # type: ignore[attr-defined]
    connection.execute(AuditEvent.__table__.insert(), audits)  # type: ignore[attr-defined]
