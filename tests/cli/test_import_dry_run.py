"""`reminders import FILE.csv --dry-run`: every row checked and reported, nothing written."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from tests.helpers import snapshot


def test_a_dry_run_reports_and_writes_nothing(cli, kibera, engine, tmp_path):
    start = datetime.now(timezone.utc).date().isoformat()
    path = tmp_path / "register.csv"
    path.write_text(f"phone,art_start_date,consent\n0712 345 001,{start},yes\n0712 34,{start},yes\n",
                    encoding="utf-8")
    before = snapshot(engine)
    result = cli("import", str(path), "--clinic", "KIB", "--dry-run")
    assert result.exit_code == 1
    assert "row 3: phone:" in result.output
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"imported": 1, "refused": 1, "dry_run": True}
    assert snapshot(engine) == before
    assert cli("import", str(path), "--clinic", "KIB").exit_code == 1  # the real run imports the good row
    assert len(snapshot(engine)["patient"]) == 1
