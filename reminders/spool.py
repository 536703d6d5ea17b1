"""A reply is never lost: when the database cannot take it, the webhook writes it here, durably.

Layout of REMINDERS_SPOOL_DIR:

    *.json               replies waiting to be ingested (one file per MessageSid)
    status/*.json        delivery status callbacks waiting to be applied
    quarantine/          files the replay could not ingest, each with a `.reason` beside it

Each file is written to a temporary name, fsynced, then renamed (atomic on POSIX), so a
crash leaves either the whole file or none. The replay ingests and then deletes;
ingestion is idempotent by SID, so a replay interrupted midway is safe. A file that
cannot be ingested (not the database being down: the file itself) is moved to
quarantine/ so it never blocks the files behind it; `counts` reports both folders for
/healthz, /metrics and `reminders doctor`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from reminders.services.inbound import Incoming

STATUS_DIR = "status"
QUARANTINE_DIR = "quarantine"
_SAFE = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


@dataclass(frozen=True)
class StatusCallback:
    sid: str
    status: str
    error_code: int | None
    received_at: str


@dataclass(frozen=True)
class Counts:
    pending: int  # replies and status callbacks waiting for the database
    quarantined: int  # files the replay could not ingest: an operator must look

    def as_dict(self) -> dict[str, int]:
        return {"pending": self.pending, "quarantined": self.quarantined}


def _name(*parts: str) -> str:
    """A file name for these parts: as they are when safe, else a hash (a SID holding
    odd characters must still get exactly one file, and never a path)."""
    joined = "-".join(parts)
    if _SAFE.match(joined):
        return joined
    return "h" + hashlib.sha256(joined.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def _write_json(directory: Path, name: str, data: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"{name}.json"
    temporary = directory / f".{name}.{os.getpid()}.tmp"
    # ensure_ascii: any string Python holds (even a lone surrogate) can be written.
    with open(temporary, "w", encoding="ascii") as handle:
        handle.write(json.dumps(data, ensure_ascii=True))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, final)
    _fsync_dir(directory)  # the rename itself survives a power cut
    return final


def _fsync_dir(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write(spool_dir: Path, sms: Incoming, received_at: str) -> Path:
    """Keep one reply (a retry of the same SID overwrites the same file)."""
    return _write_json(spool_dir, _name(sms.sid), {"received_at": received_at, **asdict(sms)})


def write_status(spool_dir: Path, callback: StatusCallback) -> Path:
    """Keep one delivery status callback (one file per SID, status and error code)."""
    name = _name(callback.sid, callback.status, str(callback.error_code or ""))
    return _write_json(spool_dir / STATUS_DIR, name, asdict(callback))


def _oldest_first(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    found = []
    for path in directory.glob("*.json"):
        try:
            found.append((path.stat().st_mtime_ns, path.name, path))
        except FileNotFoundError:  # another process replayed it meanwhile
            continue
    return [path for _, _, path in sorted(found)]


def reply_files(spool_dir: Path) -> list[Path]:
    return _oldest_first(spool_dir)


def status_files(spool_dir: Path) -> list[Path]:
    return _oldest_first(spool_dir / STATUS_DIR)


def read_reply(path: Path) -> tuple[Incoming, str]:
    """The reply in a spool file and when it arrived (ValueError/TypeError/KeyError when bad)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    received_at = data.pop("received_at")
    return Incoming(**data), received_at


def read_status(path: Path) -> StatusCallback:
    return StatusCallback(**json.loads(path.read_text(encoding="utf-8")))


def quarantine(spool_dir: Path, path: Path, reason: str) -> Path | None:
    """Move a file the replay cannot ingest aside, with a one-line reason (no content)."""
    folder = spool_dir / QUARANTINE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    prefix = "status-" if path.parent.name == STATUS_DIR else ""
    target = folder / f"{prefix}{path.name}"
    try:
        os.replace(path, target)
    except FileNotFoundError:
        return None  # another process dealt with it
    (folder / f"{target.name}.reason").write_text(reason.replace("\n", " ")[:500] + "\n", encoding="utf-8")
    _fsync_dir(folder)
    return target


def pending_count(spool_dir: Path) -> int:
    return len(reply_files(spool_dir)) + len(status_files(spool_dir))


def quarantined_count(spool_dir: Path) -> int:
    folder = spool_dir / QUARANTINE_DIR
    return len(list(folder.glob("*.json"))) if folder.is_dir() else 0


def counts(spool_dir: Path) -> Counts:
    return Counts(pending=pending_count(spool_dir), quarantined=quarantined_count(spool_dir))
