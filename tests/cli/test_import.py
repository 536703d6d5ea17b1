"""`reminders import FILE.csv`: good rows enrolled, each bad row reported by number and reason."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from sqlmodel import select

from reminders.models import CheckIn, Message, Patient
from tests.helpers import snapshot

TODAY = datetime.now(timezone.utc).date()


def write(tmp_path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "register.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_import_enrolls_good_rows_and_reports_bad_ones(cli, kibera, session, tmp_path):
    start = TODAY.isoformat()
    path = write(tmp_path, (
        "Phone,Language,ART Start Date,Consent,CD4,Shared Phone\n"
        f"0712 345 001,sw,{start},yes,85,no\n"
        f"0712 34,sw,{start},yes,,no\n"
        f"0712 345 003,de,{start},yes,,no\n"
        f"0712 345 004,en,{(TODAY - timedelta(days=90)).isoformat()},yes,,no\n"
        f"0712 345 005,fr,{start},no,,no\n"
        f"0712 345 001,sw,{start},yes,,no\n"
        f"0712 345 007,pt,{TODAY.strftime('%d/%m/%Y')},y,300,yes\n"
    ))
    result = cli("import", str(path), "--clinic", "KIB")
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"imported": 2, "unchanged": 0, "refused": 5}
    lines = [line for line in result.stderr.splitlines() if line.startswith("row ")]
    assert [line.split(":")[0] for line in lines] == ["row 3", "row 4", "row 5", "row 6", "row 7"]
    assert "phone:" in lines[0] and "language:" in lines[1] and "art_start_date:" in lines[2]
    assert "consent:" in lines[3] and "another enrolled patient" in lines[4]
    patients = session.exec(select(Patient).order_by(Patient.id)).all()
    assert [(p.phone, p.high_risk, p.shared_phone) for p in patients] == [
        ("+254712345001", True, False), ("+254712345007", False, True)]
    assert len(session.exec(select(Message).where(Message.kind == "welcome")).all()) == 2
    assert len(session.exec(select(CheckIn)).all()) > 24


def test_an_unusable_file_is_exit_2_and_imports_nothing(cli, kibera, engine, tmp_path):
    before = snapshot(engine)
    missing = cli("import", str(tmp_path / "nope.csv"), "--clinic", "KIB")
    assert missing.exit_code == 2 and "file:" in missing.stderr
    no_phone = cli("import", str(write(tmp_path, "name,consent\nA,yes\n")), "--clinic", "KIB")
    assert no_phone.exit_code == 2 and "has no column phone" in no_phone.stderr
    assert snapshot(engine) == before


def test_all_good_rows_exit_0(cli, kibera, tmp_path, session):
    rows = "".join(f"07123450{i:02d},en,{TODAY.isoformat()},yes\n" for i in range(20))
    result = cli("import", str(write(tmp_path, "phone,language,art_start_date,consent\n" + rows)),
                 "--clinic", "KIB")
    assert result.exit_code == 0, result.output
    assert len(session.exec(select(Patient)).all()) == 20
