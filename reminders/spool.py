"""A reply is never lost: when the database is down the webhook writes it here, durably.

One JSON file per MessageSid, written to a temporary name, fsynced, then renamed (atomic
on POSIX), so a crash leaves either the whole file or none. The replay job ingests and
then deletes; ingestion is idempotent by SID, so a replay interrupted midway is safe.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

from reminders.services.inbound import Incoming

_SAFE_SID = re.compile(r"^[A-Za-z0-9]{1,64}$")


def write(spool_dir: Path, sms: Incoming, received_at: str) -> Path:
    if not _SAFE_SID.match(sms.sid):
        raise ValueError("MessageSid is not alphanumeric")
    spool_dir.mkdir(parents=True, exist_ok=True)
    final = spool_dir / f"{sms.sid}.json"
    temporary = spool_dir / f".{sms.sid}.{os.getpid()}.tmp"
    data = json.dumps({"received_at": received_at, **asdict(sms)}, ensure_ascii=False)
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, final)
    directory = os.open(spool_dir, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a power cut
    finally:
        os.close(directory)
    return final


def pending(spool_dir: Path) -> Iterator[tuple[Path, Incoming, str]]:
    if not spool_dir.is_dir():
        return
    for path in sorted(spool_dir.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        received_at = data.pop("received_at")
        yield path, Incoming(**data), received_at
