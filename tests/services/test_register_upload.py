"""Uploading a register on the staff pages: a dry run writes nothing and reports each row;
the confirm imports with the same rules as `reminders import`, in the staff's clinic only."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlmodel import select

from reminders.db import session_scope
from reminders.errors import InputError
from reminders.models import AuditEvent, Patient
from reminders.services import register_upload
from reminders.services.clinics import add_clinic
from tests.helpers import snapshot

NOW = datetime(2026, 12, 1, 7, 0, tzinfo=timezone.utc)
CSV = (b"phone,art_start_date,consent,language,name,clinic\n"
       b"0712 345 678,2026-11-28,yes,sw,Amina,\n"
       b"not a phone,2026-11-28,yes,en,Bad,\n"
       b"0712 345 679,2026-11-28,no,en,No consent,\n"
       b"0712 345 670,2026-11-28,yes,pt,Elsewhere,LIS\n"
       b"0712 345 671,28/11/2026,yes,fr,Juma,KIB\n")


@pytest.fixture
def rows(clinic, engine):  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        add_clinic(session, code="LIS", name="Saude Norte", timezone="Europe/Lisbon", country="PT",
                   phone="+351210000000")
    return register_upload.read_upload(CSV, "register.csv")


def test_the_check_reports_every_row_and_writes_nothing(engine, rows):
    before = snapshot(engine)
    report = register_upload.check(engine, rows, "KIB", NOW)
    assert snapshot(engine) == before
    assert report.dry_run and report.imported == 2 and report.refused == 3
    assert [(r.row, r.ok, r.problem and r.problem.field) for r in report.rows] == [
        (2, True, None), (3, False, "phone"), (4, False, "consent"), (5, False, "clinic"), (6, True, None)]


def test_the_confirm_imports_the_good_rows_as_the_staff_member(engine, rows):
    report = register_upload.commit(engine, rows, "KIB", NOW, actor="nurse@kib.example.org")
    assert not report.dry_run and report.imported == 2
    with session_scope(engine) as session:
        names = sorted(p.display_name for p in session.exec(select(Patient)))
        actors = {e.actor for e in session.exec(select(AuditEvent).where(AuditEvent.action == "patient.enroll"))}
    assert names == ["Amina", "Juma"]
    assert actors == {"nurse@kib.example.org"}


def test_a_file_that_cannot_be_used_names_the_problem(clinic):
    with pytest.raises(InputError) as bad:
        register_upload.read_upload(b"name,language\nAmina,sw\n", "../../etc/passwd")
    assert bad.value.field == "file" and "phone" in bad.value.reason
    with pytest.raises(InputError):
        register_upload.read_upload(b"\xff\xfe\x00bad", "x.csv")
    with pytest.raises(InputError):
        register_upload.read_upload(b" ", "x.csv")
